"""Typed errors of the GM/T crypto module. Verification failures raise; nothing returns False."""

from __future__ import annotations


class GMError(Exception):
    """Base class of every error raised by :mod:`gm`."""


class CryptoUnavailable(GMError):
    """libcrypto is missing, too old, or lacks SM2; the message says how to fix it."""


class SelfTestFailed(CryptoUnavailable):
    """The known-answer self-test gave a wrong result: the library must not be used."""


class InvalidKey(GMError):
    """Key bytes are malformed, not on the SM2 curve, or out of range."""


class InvalidSignature(GMError):
    """A signature does not verify (wrong key, wrong signer ID, altered data or signature)."""


class DecryptionError(GMError):
    """Ciphertext is malformed, was altered (C3 mismatch) or is for another key."""


class EncodingError(GMError):
    """Input is not in the expected DER/PEM/raw encoding."""


class CertificateError(GMError):
    """A certificate, CSR or CRL is malformed or fails a check; ``reason`` names the check."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


class MalformedSignature(InvalidSignature, EncodingError):
    """The signature is not an SM2 signature at all (not DER SM2Signature, wrong size, r or s out of range).

    It does not verify (an ``InvalidSignature``), and it is bad input (an ``EncodingError``): the command
    line reports it as such (exit 2), not as a signature that failed its check (exit 1).
    """


class PasswordIncorrect(DecryptionError):
    """A password-protected file (a PKCS#12 backup) does not open with the password given."""
