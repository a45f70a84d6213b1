"""Soft keystore (软证书): keys sealed in a file on this computer, bound to it through the OS keyring.

Importing this package loads no crypto and no keyring: sessions (drivers.soft.session) do.
"""

from __future__ import annotations

from drivers.soft.driver import BrokenSoftDevice, SoftBackend, SoftDevice

__all__ = ["BrokenSoftDevice", "SoftBackend", "SoftDevice"]
