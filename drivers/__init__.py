"""Token layer (soft keystore, PKCS#11, PC/SC). Placeholder package: the drivers are built in issue 3."""
