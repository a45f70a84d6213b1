"""PEM in and out for every gm object (keys, certificates, CSRs, CRLs), with typed errors.

Decoding takes time linear in the input (asn1crypto's ``pem.unarmor`` joins base64 lines one by one,
which is quadratic: a 2.6 MB file took 14 s), reads only the first block, and refuses input larger than
the caller's limit before looking at it.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Optional, Tuple

from asn1crypto import pem

from gm.asn1 import MAX_DER_SIZE
from gm.errors import EncodingError

_BEGIN = re.compile(rb"-----BEGIN ([A-Z0-9 ]{1,64})-----")
_WHITESPACE = b" \t\r\n\v\f"


def is_pem(data: bytes) -> bool:
    """True for text holding a PEM block (text before it is allowed, as ``openssl x509 -text`` writes).

    DER input starts with a SEQUENCE (0x30) and is never taken for PEM.
    """
    return not data.startswith(b"\x30") and data.find(b"-----BEGIN ") >= 0


def pem_limit(der_limit: int) -> int:
    """The largest PEM text accepted for a DER limit: base64 (4/3), line breaks, and text before it."""
    return der_limit * 3 // 2 + 64 * 1024


def decode(data: bytes, der_limit: int = MAX_DER_SIZE) -> Tuple[str, bytes]:
    """(label, DER) of the first PEM block in ``data``; EncodingError when there is none or it is damaged."""
    data = bytes(data)
    if len(data) > pem_limit(der_limit):
        raise EncodingError(f"PEM input of {len(data)} bytes is larger than any object certassist reads")
    begin = _BEGIN.search(data)
    if begin is None:
        raise EncodingError("malformed PEM: no -----BEGIN …----- line")
    label = begin.group(1).decode("ascii")
    end_line = b"-----END " + begin.group(1) + b"-----"
    end = data.find(end_line, begin.end())
    if end < 0:
        raise EncodingError(f"malformed PEM: -----BEGIN {label}----- has no matching -----END {label}----- line")
    body = data[begin.end() : end]
    body = _skip_headers(body, label)
    try:
        der = base64.b64decode(body.translate(None, _WHITESPACE), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise EncodingError(f"malformed PEM {label}: the base64 text is damaged ({exc})") from exc
    if not der:
        raise EncodingError(f"malformed PEM {label}: the block is empty")
    return label, der


def _skip_headers(body: bytes, label: str) -> bytes:
    """Drop RFC 1421 headers (``Proc-Type``, ``DEK-Info``); refuse encrypted legacy PEM clearly."""
    head = body.lstrip(b"\r\n")
    first_line = head.split(b"\n", 1)[0]
    if b":" not in first_line:
        return body
    headers, sep, rest = head.partition(b"\n\n") if b"\n\n" in head else head.partition(b"\r\n\r\n")
    if not sep:
        raise EncodingError(f"malformed PEM {label}: header lines are not followed by an empty line")
    if b"ENCRYPTED" in headers:
        raise EncodingError(
            f"PEM {label} is encrypted with a password; decrypt it first (openssl pkey -in FILE -out PLAIN.pem)"
        )
    return rest


def label_of(data: bytes) -> Optional[str]:
    """The label of the first PEM block, or None for DER (and for text without a BEGIN line)."""
    if not is_pem(data):
        return None
    begin = _BEGIN.search(data)
    return None if begin is None else begin.group(1).decode("ascii")


def unarmor(data: bytes, labels: Tuple[str, ...], der_limit: int = MAX_DER_SIZE) -> bytes:
    """DER from PEM with one of ``labels``; DER input is returned as it is."""
    if not is_pem(data):
        return bytes(data)
    label, der = decode(data, der_limit)
    if label not in labels:
        raise EncodingError(f"expected PEM {' or '.join(labels)}, found {label}")
    return der


def armor(label: str, der: bytes) -> bytes:
    return bytes(pem.armor(label, der))
