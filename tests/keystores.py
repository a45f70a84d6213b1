"""Test helper shared by the service's and the tray's key-history tests."""

from __future__ import annotations

from app.entries import CertificateEntry
from drivers.soft import SoftBackend, SoftDevice
from drivers.soft.session import SoftSession


def rebuilt_without_history(backend: SoftBackend, entry: CertificateEntry, label: str, pin: str) -> SoftDevice:
    """The keystore holding ``entry`` is lost; a new one (``label``, same PIN) gets only its current pair back, as
    from a backup made without the encryption-key history."""
    with entry.device.open() as session:
        assert isinstance(session, SoftSession)
        session.login(pin)
        current = [k for k in session.export_keys() if k.retired is None]
    entry.device.destroy()  # type: ignore[attr-defined]
    device, _admin = backend.create_device(label, pin, pin)
    with device.open() as session:
        session.login(pin)
        session.create_container(entry.container)
        for item in current:
            session.import_key_pair(entry.container, item.usage, item.key)
        for item in reversed(current):
            assert item.certificate is not None
            session.write_certificate(entry.container, item.usage, item.certificate)
    return device
