"""The device work of one web login: the PIN used once, the labelled challenge signed, the session closed."""

from __future__ import annotations

from typing import Any

from app.bridge.protocol import SignRequest, SignResult


def sign_web_login(entry: Any, pin: str, request: SignRequest) -> SignResult:
    """``entry`` is an ``app.entries.CertificateEntry``; nothing of the login is kept after this returns."""
    data = request.challenge.to_be_signed()
    with entry.device.open() as session:
        session.login(pin)
        signature = session.sign(entry.container, data)
    return SignResult(entry.sign.to_der(), signature)
