"""X.509 v2 certificate revocation lists signed with SM2-with-SM3."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from asn1crypto import crl, x509

from gm import asn1
from gm.errors import CertificateError
from gm.pem import armor, unarmor
from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.x509._common import (
    check_name,
    check_signature_value,
    default_id,
    key_identifier,
    name_text,
    native_time,
    serial_anomaly,
    sign_tbs,
    signature_algorithm,
    time_anomaly,
    to_time,
    utcnow,
    verify_signed,
)
from gm.x509.certificate import Certificate

# RFC 5280 §5.3.1 reason names as asn1crypto spells them.
REASONS = (
    "unspecified",
    "key_compromise",
    "ca_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
    "certificate_hold",
    "remove_from_crl",
    "privilege_withdrawn",
    "aa_compromise",
)


@dataclass(frozen=True)
class RevokedEntry:
    serial_number: int
    revocation_date: datetime
    reason: Optional[str] = None


class CRL:
    __slots__ = ("_crl", "_der")

    def __init__(self, value: crl.CertificateList, der: bytes) -> None:
        self._crl = value
        self._der = der

    @classmethod
    def from_der(cls, der: bytes, max_size: int = asn1.MAX_CRL_SIZE) -> CRL:
        """Parse everything now, so malformed input fails here (EncodingError), not in a property.

        CRLs larger than ``max_size`` (8 MB: ~250,000 entries) are refused before parsing; a CA reading
        back its own CRL may pass a larger limit.
        """
        der = bytes(der)
        asn1.check_size(der, "CRL", max_size)
        with asn1.decoding("X.509 CRL"):
            value = crl.CertificateList.load(der, strict=True)
            value.native  # noqa: B018 - parse fully now
            check_name(value["tbs_cert_list"]["issuer"], "CRL issuer")
            check_signature_value(value["signature_algorithm"], value["signature"], "CRL")
            built = cls(value, der)
            built.issuer_text  # noqa: B018
            built.this_update  # noqa: B018
            built.next_update  # noqa: B018
            built.crl_number  # noqa: B018
        return built

    @classmethod
    def load(cls, data: bytes) -> CRL:
        return cls.from_der(unarmor(data, ("X509 CRL",), asn1.MAX_CRL_SIZE))

    def to_der(self) -> bytes:
        return self._der

    def to_pem(self) -> bytes:
        return armor("X509 CRL", self._der)

    @property
    def asn1(self) -> crl.CertificateList:
        return self._crl

    @property
    def _tbs(self) -> Any:
        return self._crl["tbs_cert_list"]

    @property
    def issuer(self) -> x509.Name:
        return self._tbs["issuer"]

    @property
    def issuer_text(self) -> str:
        return name_text(self.issuer)

    @property
    def this_update(self) -> datetime:
        return native_time(self._tbs["this_update"])

    @property
    def next_update(self) -> Optional[datetime]:
        value = self._tbs["next_update"]
        return None if value.native is None else native_time(value)

    @property
    def crl_number(self) -> Optional[int]:
        value = self._crl.crl_number_value
        return None if value is None else int(value.native)

    @property
    def entries(self) -> List[RevokedEntry]:
        """The revoked certificates. Parsed by ``from_der`` already; entry extensions are read here, and any
        failure there is an EncodingError too (not checked at load: a large CRL would pay it twice)."""
        result = []
        with asn1.decoding("X.509 CRL"):
            for item in self._tbs["revoked_certificates"]:
                reason = item.crl_reason_value
                result.append(
                    RevokedEntry(
                        int(item["user_certificate"].native),
                        native_time(item["revocation_date"]),
                        None if reason is None else reason.native,
                    )
                )
        return result

    @property
    def anomalies(self) -> List[str]:
        """What no genuine CRL carries (negative serials, year-0000 dates ...): warnings to show."""
        tbs = self._tbs
        found = [time_anomaly(tbs["this_update"], "thisUpdate")]
        if tbs["next_update"].native is not None:
            found.append(time_anomaly(tbs["next_update"], "nextUpdate"))
        for item in tbs["revoked_certificates"]:
            serial = int(item["user_certificate"].native)
            found.append(serial_anomaly(serial, "revoked certificate"))
            found.append(time_anomaly(item["revocation_date"], f"revocation date of serial {serial:X}"))
        return [text for text in found if text]

    def is_revoked(self, serial_number: int) -> Optional[RevokedEntry]:
        for entry in self.entries:
            if entry.serial_number == serial_number:
                return entry
        return None

    def verify_signature(self, issuer_public_key: SM2PublicKey, signer_id: Optional[bytes] = None) -> None:
        with asn1.decoding("X.509 CRL"):
            signed = asn1.raw_element(self._der, 0)  # the bytes that were signed, not a re-encoding
        verify_signed(
            signed,
            self._crl["signature_algorithm"],
            self._crl["signature"].native,
            issuer_public_key,
            default_id(signer_id),
            lambda: f"CRL of {self.issuer_text!r}",
        )

    def check_current(self, at: Optional[datetime] = None) -> None:
        at = at or utcnow()
        if at < self.this_update:
            raise CertificateError(
                f"CRL of {self.issuer_text!r} is not valid before {self.this_update}", "crl_not_yet_valid"
            )
        if self.next_update is not None and at > self.next_update:
            raise CertificateError(
                f"CRL of {self.issuer_text!r} is stale (next update was due {self.next_update}); fetch a fresh one",
                "crl_expired",
            )

    def __repr__(self) -> str:
        count = len(self._tbs["revoked_certificates"])
        return f"CRL(issuer={self.issuer_text!r}, number={self.crl_number}, entries={count})"


def build_crl(
    *,
    issuer: Certificate,
    issuer_key: SM2PrivateKey,
    revoked: Sequence[RevokedEntry],
    crl_number: int,
    next_update: datetime,
    this_update: Optional[datetime] = None,
    signer_id: Optional[bytes] = None,
) -> CRL:
    if issuer.public_key != issuer_key.public_key:
        raise ValueError("issuer_key does not belong to the issuer certificate")
    entries: List[Dict[str, Any]] = []
    for item in revoked:
        entry: Dict[str, Any] = {
            "user_certificate": item.serial_number,
            "revocation_date": to_time(item.revocation_date),
        }
        if item.reason is not None:
            if item.reason not in REASONS:
                raise ValueError(f"unknown revocation reason {item.reason!r}")
            entry["crl_entry_extensions"] = [{"extn_id": "crl_reason", "critical": False, "extn_value": item.reason}]
        entries.append(entry)
    algorithm = signature_algorithm()
    tbs_value: Dict[str, Any] = {
        "version": "v2",
        "signature": algorithm,
        "issuer": issuer.subject,
        "this_update": to_time(this_update or utcnow()),
        "next_update": to_time(next_update),
        "crl_extensions": [
            {"extn_id": "crl_number", "critical": False, "extn_value": crl_number},
            {
                "extn_id": "authority_key_identifier",
                "critical": False,
                "extn_value": {"key_identifier": issuer.subject_key_identifier or key_identifier(issuer.public_key)},
            },
        ],
    }
    if entries:  # RFC 5280 §5.1.2.6: absent, not empty, when nothing is revoked
        tbs_value["revoked_certificates"] = entries
    tbs = crl.TbsCertList(tbs_value)
    signature = sign_tbs(tbs.dump(), issuer_key, default_id(signer_id))
    value = crl.CertificateList({"tbs_cert_list": tbs, "signature_algorithm": algorithm, "signature": signature})
    return CRL.from_der(value.dump())
