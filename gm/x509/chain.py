"""Certification path validation for SM2 certificates (the RFC 5280 checks a client needs).

Checks every link's SM2-with-SM3 signature, validity period, basicConstraints (CA flag and path
length), keyUsage (keyCertSign for issuers, cRLSign for CRL signers) and, given CRLs, revocation.
Failures raise :class:`~gm.errors.CertificateError` whose ``reason`` names the failed check.
"""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional, Sequence

from gm.errors import CertificateError
from gm.x509._common import default_id, names_equal, utcnow
from gm.x509.certificate import Certificate
from gm.x509.crl import CRL

MAX_DEPTH = 8


def _find_issuer(cert: Certificate, candidates: Sequence[Certificate]) -> Optional[Certificate]:
    for candidate in candidates:
        if not names_equal(candidate.subject, cert.issuer):
            continue
        aki, ski = cert.authority_key_identifier, candidate.subject_key_identifier
        if aki is not None and ski is not None and aki != ski:
            continue
        return candidate
    return None


def _check_issuer_role(issuer: Certificate, below: int) -> None:
    if not issuer.is_ca:
        raise CertificateError(f"{issuer.subject_text!r} is not a CA certificate (basicConstraints)", "not_ca")
    usage = issuer.key_usage
    if usage is not None and "key_cert_sign" not in usage:
        raise CertificateError(f"{issuer.subject_text!r} may not sign certificates (keyUsage)", "key_usage")
    limit = issuer.path_length
    if limit is not None and below > limit:
        raise CertificateError(
            f"{issuer.subject_text!r} allows {limit} intermediate CA(s) below it, the path has {below}",
            "path_length",
        )


def _check_revocation(
    cert: Certificate, issuer: Certificate, crls: Sequence[CRL], at: datetime, require: bool, signer_id: bytes
) -> None:
    relevant = [c for c in crls if names_equal(c.issuer, issuer.subject)]
    if not relevant:
        if require:
            raise CertificateError(f"no CRL from {issuer.subject_text!r} to check {cert.subject_text!r}", "crl_missing")
        return
    usage = issuer.key_usage
    if usage is not None and "crl_sign" not in usage:
        raise CertificateError(f"{issuer.subject_text!r} may not sign CRLs (keyUsage)", "key_usage")
    for item in relevant:
        try:
            item.verify_signature(issuer.public_key, signer_id)
        except CertificateError as exc:
            raise CertificateError(str(exc), "crl_signature") from exc
        item.check_current(at)
        entry = item.is_revoked(cert.serial_number)
        if entry is not None:
            reason = f" ({entry.reason})" if entry.reason else ""
            raise CertificateError(
                f"certificate {cert.subject_text!r} serial {cert.serial_number:x} was revoked on "
                f"{entry.revocation_date:%Y-%m-%d}{reason}",
                "revoked",
            )


def verify_chain(
    leaf: Certificate,
    trusted_roots: Sequence[Certificate],
    intermediates: Sequence[Certificate] = (),
    *,
    crls: Sequence[CRL] = (),
    require_crl: bool = False,
    at: Optional[datetime] = None,
    signer_id: Optional[bytes] = None,
) -> List[Certificate]:
    """Validate ``leaf`` up to one of ``trusted_roots``; return the path leaf-first.

    With ``require_crl`` every non-root certificate must be covered by a current CRL of its issuer.
    """
    at = at or utcnow()
    sid = default_id(signer_id)
    path = [leaf]
    current = leaf
    for _ in range(MAX_DEPTH):
        current.check_validity(at)
        if current in trusted_roots:
            if current.is_self_issued:
                current.verify_signature(current.public_key, sid)
            return path
        issuer = _find_issuer(current, trusted_roots) or _find_issuer(current, intermediates)
        if issuer is None:
            raise CertificateError(
                f"no trusted issuer {current.issuer_text!r} for {current.subject_text!r}; "
                "install the CA certificate chain",
                "untrusted",
            )
        # Every certificate already on the path except the leaf is a CA below this issuer.
        _check_issuer_role(issuer, len(path) - 1)
        current.verify_signature(issuer.public_key, sid)
        _check_revocation(current, issuer, crls, at, require_crl, sid)
        path.append(issuer)
        current = issuer
    raise CertificateError(f"certificate path longer than {MAX_DEPTH}", "path_length")
