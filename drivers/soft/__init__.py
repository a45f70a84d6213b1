"""Soft keystore (软证书): keys sealed in a file on this computer, bound to it through the OS keyring."""

from __future__ import annotations

from drivers.soft.driver import SoftBackend, SoftDevice, SoftSession

__all__ = ["SoftBackend", "SoftDevice", "SoftSession"]
