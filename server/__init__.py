"""Issuing service (RA + CA + KMC). Placeholder package: the service itself is built in issue 4."""
