"""PKCS#11 tokens through python-pkcs11: modules from token profiles, user settings or the command line."""

from __future__ import annotations

from drivers.pkcs11.driver import Pkcs11Backend, Pkcs11Device, Pkcs11Session

__all__ = ["Pkcs11Backend", "Pkcs11Device", "Pkcs11Session"]
