"""PKCS#11 tokens through python-pkcs11: modules from token profiles, user settings or the command line.

``Pkcs11Backend`` is light to import; the devices and sessions (drivers.pkcs11.driver) load python-pkcs11.
"""

from __future__ import annotations

from drivers.pkcs11.backend import Pkcs11Backend

__all__ = ["Pkcs11Backend"]
