"""PEM in and out for every gm object (keys, certificates, CSRs, CRLs), with typed errors."""

from __future__ import annotations

from typing import Tuple

from asn1crypto import pem

from gm.errors import EncodingError


def unarmor(data: bytes, labels: Tuple[str, ...]) -> bytes:
    """DER from PEM with one of ``labels``; DER input is returned as it is."""
    if pem.detect(data):
        try:
            label, _headers, der = pem.unarmor(data)
        except ValueError as exc:
            raise EncodingError(f"malformed PEM: {exc}") from exc
        if label not in labels:
            raise EncodingError(f"expected PEM {' or '.join(labels)}, found {label}")
        return bytes(der)
    return bytes(data)


def armor(label: str, der: bytes) -> bytes:
    return bytes(pem.armor(label, der))
