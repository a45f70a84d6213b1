"""X.509 v3 certificates signed with SM2-with-SM3: build, parse, inspect, verify one signature."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from asn1crypto import core, x509

from gm import asn1
from gm.errors import CertificateError
from gm.pem import armor, unarmor
from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.sm3 import sm3
from gm.x509._common import (
    SIGNATURE_ALGORITHM_DER,
    NameInput,
    build_name,
    check_name,
    check_signature_value,
    default_id,
    der_tlv,
    key_identifier,
    name_text,
    names_equal,
    native_time,
    random_serial,
    serial_anomaly,
    sign_tbs,
    time_anomaly,
    to_time,
    utcnow,
    verify_signed,
)

CA_KEY_USAGE = frozenset({"key_cert_sign", "crl_sign", "digital_signature"})
SIGNING_KEY_USAGE = frozenset({"digital_signature", "non_repudiation"})
ENCRYPTION_KEY_USAGE = frozenset({"key_encipherment", "data_encipherment", "key_agreement"})


class Certificate:
    """A parsed certificate. The DER it was loaded from is kept byte-exact for signature checks."""

    __slots__ = ("_cert", "_der", "_public")

    def __init__(self, cert: x509.Certificate, der: bytes) -> None:
        self._cert = cert
        self._der = der
        self._public: Optional[SM2PublicKey] = None

    # -- loading ---------------------------------------------------------------------------
    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        """Parse and check the encoding of everything now, so malformed input fails here (EncodingError)
        and no property of the result fails later."""
        der = bytes(der)
        asn1.check_size(der, "certificate")
        with asn1.decoding("X.509 certificate"):
            cert = x509.Certificate.load(der, strict=True)
            cert.native  # noqa: B018 - parse everything now so errors surface here, not later
            tbs = cert["tbs_certificate"]
            check_name(tbs["subject"], "certificate subject")
            check_name(tbs["issuer"], "certificate issuer")
            check_signature_value(cert["signature_algorithm"], cert["signature_value"], "certificate")
            built = cls(cert, der)
            for prop in _PROPERTIES:  # the extension accessors parse extension values of their own
                getattr(built, prop)
        return built

    @classmethod
    def load(cls, data: bytes) -> Certificate:
        """PEM (``BEGIN CERTIFICATE``) or DER (``.cer``)."""
        return cls.from_der(unarmor(data, ("CERTIFICATE", "X509 CERTIFICATE")))

    def to_der(self) -> bytes:
        return self._der

    def to_pem(self) -> bytes:
        return armor("CERTIFICATE", self._der)

    @property
    def asn1(self) -> x509.Certificate:
        return self._cert

    # -- fields ----------------------------------------------------------------------------
    @property
    def _tbs(self) -> Any:
        return self._cert["tbs_certificate"]

    @property
    def serial_number(self) -> int:
        return int(self._tbs["serial_number"].native)

    @property
    def subject(self) -> x509.Name:
        return self._tbs["subject"]

    @property
    def issuer(self) -> x509.Name:
        return self._tbs["issuer"]

    @property
    def subject_text(self) -> str:
        return name_text(self.subject)

    @property
    def issuer_text(self) -> str:
        return name_text(self.issuer)

    @property
    def common_name(self) -> Optional[str]:
        value = self.subject.native.get("common_name")
        if isinstance(value, list):
            value = value[-1]
        return None if value is None else str(value)

    @property
    def not_before(self) -> datetime:
        return native_time(self._tbs["validity"]["not_before"])

    @property
    def not_after(self) -> datetime:
        return native_time(self._tbs["validity"]["not_after"])

    @property
    def anomalies(self) -> List[str]:
        """What no genuine certificate carries (negative serial, year-0000 dates ...): warnings to show."""
        validity = self._tbs["validity"]
        found = [
            serial_anomaly(self.serial_number, "certificate"),
            time_anomaly(validity["not_before"], "notBefore"),
            time_anomaly(validity["not_after"], "notAfter"),
        ]
        if self.not_after < self.not_before:
            found.append("notAfter is before notBefore: the certificate is never valid")
        return [text for text in found if text]

    def _raw_tbs_field(self, index: int) -> bytes:
        """The bytes of tbsCertificate field ``index`` (0 = serial ... 5 = key) as they are in the file."""
        with asn1.decoding("X.509 certificate"):
            tbs = asn1.raw_element(self._der, 0)
            version = asn1.outline(tbs, 1)[0][0] == 0xA0
            return asn1.raw_element(tbs, index + version)

    @property
    def public_key(self) -> SM2PublicKey:
        if self._public is None:  # parsing and checking the point costs a scalar multiplication: once
            self._public = SM2PublicKey.from_der(self._raw_tbs_field(5))
        return self._public

    @property
    def is_ca(self) -> bool:
        bc = self._cert.basic_constraints_value
        return bool(bc is not None and bc["ca"].native)

    @property
    def path_length(self) -> Optional[int]:
        bc = self._cert.basic_constraints_value
        return None if bc is None else bc["path_len_constraint"].native

    @property
    def key_usage(self) -> Optional[FrozenSet[str]]:
        """None when the extension is absent (any usage allowed by RFC 5280). Bits RFC 5280 does not name
        (asn1crypto gives their numbers) read as ``bit_N``."""
        ku = self._cert.key_usage_value
        return None if ku is None else frozenset(str(u) if isinstance(u, str) else f"bit_{u}" for u in ku.native)

    @property
    def extended_key_usage(self) -> List[str]:
        eku = self._cert.extended_key_usage_value
        return [] if eku is None else [str(usage) for usage in eku.native]

    @property
    def crl_urls(self) -> List[str]:
        """URLs of the CRL distribution points extension, in order."""
        points = self._cert.crl_distribution_points_value
        urls: List[str] = []
        for point in points or []:
            dp = point["distribution_point"]
            if dp.native is None or dp.name != "full_name":
                continue
            urls.extend(gn.native for gn in dp.chosen if gn.name == "uniform_resource_identifier")
        return urls

    @property
    def ca_issuers_urls(self) -> List[str]:
        """URLs of the issuer's certificate (authorityInfoAccess caIssuers), in order."""
        access = self._cert.authority_information_access_value
        return [
            description["access_location"].native
            for description in access or []
            if description["access_method"].native == "ca_issuers"
            and description["access_location"].name == "uniform_resource_identifier"
        ]

    @property
    def subject_key_identifier(self) -> Optional[bytes]:
        value = self._cert.key_identifier
        return None if value is None else bytes(value)

    @property
    def authority_key_identifier(self) -> Optional[bytes]:
        value = self._cert.authority_key_identifier
        return None if value is None else bytes(value)

    @property
    def is_self_issued(self) -> bool:
        return names_equal(self.subject, self.issuer)

    @property
    def fingerprint(self) -> str:
        """SM3 over the DER, hex."""
        return sm3(self._der).hex()

    def days_left(self, at: Optional[datetime] = None) -> int:
        """Whole days until ``not_after`` (negative once expired)."""
        return (self.not_after - (at or utcnow())).days

    # -- checks ----------------------------------------------------------------------------
    def verify_signature(self, issuer_public_key: SM2PublicKey, signer_id: Optional[bytes] = None) -> None:
        """Raise CertificateError(reason='signature') unless the issuer's key signed this certificate."""
        with asn1.decoding("X.509 certificate"):
            signed, algorithm = asn1.raw_element(self._der, 0), asn1.raw_element(self._der, 1)
        if algorithm != self._raw_tbs_field(1):
            raise CertificateError("certificate signature algorithm fields disagree", "algorithm")
        verify_signed(
            signed,
            self._cert["signature_algorithm"],
            self._cert["signature_value"].native,
            issuer_public_key,
            default_id(signer_id),
            lambda: f"certificate {self.subject_text!r}",
        )

    def check_validity(self, at: Optional[datetime] = None) -> None:
        at = at or utcnow()
        if at < self.not_before:
            raise CertificateError(
                f"certificate {self.subject_text!r} is not valid before {self.not_before}", "not_yet_valid"
            )
        if at > self.not_after:
            raise CertificateError(f"certificate {self.subject_text!r} expired on {self.not_after}", "expired")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Certificate) and other._der == self._der

    def __hash__(self) -> int:
        return hash(self._der)

    def __repr__(self) -> str:
        return f"Certificate(subject={self.subject_text!r}, serial={self.serial_number:x})"


_PROPERTIES = (  # name_text never fails, and check_name has decoded every attribute: not repeated here
    "serial_number",
    "common_name",
    "not_before",
    "not_after",
    "is_ca",
    "path_length",
    "key_usage",
    "extended_key_usage",
    "crl_urls",
    "ca_issuers_urls",
    "subject_key_identifier",
    "authority_key_identifier",
    "is_self_issued",
    "anomalies",
)


def build_certificate(
    *,
    subject: NameInput,
    public_key: SM2PublicKey,
    issuer_key: SM2PrivateKey,
    issuer: Optional[Certificate] = None,
    serial_number: Optional[int] = None,
    not_before: Optional[datetime] = None,
    not_after: datetime,
    ca: bool = False,
    path_length: Optional[int] = None,
    key_usage: Iterable[str] = SIGNING_KEY_USAGE,
    extended_key_usage: Sequence[str] = (),
    crl_urls: Sequence[str] = (),
    ca_issuers_urls: Sequence[str] = (),
    extra_extensions: Sequence[Dict[str, Any]] = (),
    signer_id: Optional[bytes] = None,
) -> Certificate:
    """Build and sign a v3 certificate. ``issuer=None`` makes it self-signed (a root CA).

    Extensions: basicConstraints (critical), keyUsage (critical), extendedKeyUsage, subject and
    authority key identifiers, CRL distribution points when ``crl_urls`` are given, and authorityInfoAccess
    (caIssuers: where the issuer's certificate is published) when ``ca_issuers_urls`` are given.
    """
    subject_name = build_name(subject)
    if issuer is None:
        if issuer_key.public_key != public_key:
            raise ValueError("a self-signed certificate must be signed by its own key")
        issuer_name, issuer_public = subject_name, public_key
    else:
        issuer_name, issuer_public = issuer.subject, issuer.public_key
        if issuer_public != issuer_key.public_key:
            raise ValueError("issuer_key does not belong to the issuer certificate")
    start = not_before or utcnow()
    if not_after <= start:
        raise ValueError("not_after must be later than not_before")
    aki = (issuer.subject_key_identifier if issuer is not None else None) or key_identifier(issuer_public)
    extensions = [
        _constraints_extension(ca, path_length if ca else None),
        _key_usage_extension(frozenset(key_usage)),
        _extension("key_identifier", False, key_identifier(public_key)),
        _aki_extension(aki),
    ]
    if extended_key_usage:
        extensions.append(_eku_extension(tuple(extended_key_usage)))
    if crl_urls:
        extensions.append(_crl_dp_extension(tuple(crl_urls)))
    if ca_issuers_urls:
        extensions.append(_aia_extension(tuple(ca_issuers_urls)))
    extensions.extend(bytes(x509.Extension(e).dump()) for e in extra_extensions)
    # Each field is encoded by asn1crypto (constant ones once); only the outer SEQUENCEs are joined here,
    # which keeps certificate building well under a millisecond of Python per certificate.
    tbs_der = der_tlv(
        0x30,
        b"\xa0\x03\x02\x01\x02"  # [0] EXPLICIT version v3
        + bytes(core.Integer(serial_number if serial_number is not None else random_serial()).dump())
        + SIGNATURE_ALGORITHM_DER
        + bytes(issuer_name.dump())
        + bytes(x509.Validity({"not_before": to_time(start), "not_after": to_time(not_after)}).dump())
        + bytes(subject_name.dump())
        + public_key.to_der()
        + der_tlv(0xA3, der_tlv(0x30, b"".join(extensions))),
    )
    signature = sign_tbs(tbs_der, issuer_key, default_id(signer_id))
    der = der_tlv(0x30, tbs_der + SIGNATURE_ALGORITHM_DER + der_tlv(0x03, b"\x00" + signature))
    built = Certificate(x509.Certificate.load(der), der)  # our own output: no need for a full validating parse
    built._public = public_key
    return built


def _extension(extn_id: str, critical: bool, value: Any) -> bytes:
    return bytes(x509.Extension({"extn_id": extn_id, "critical": critical, "extn_value": value}).dump())


@functools.lru_cache(maxsize=64)
def _constraints_extension(ca: bool, path_length: Optional[int]) -> bytes:
    return _extension("basic_constraints", True, {"ca": ca, "path_len_constraint": path_length})


@functools.lru_cache(maxsize=64)
def _key_usage_extension(usage: FrozenSet[str]) -> bytes:
    return _extension("key_usage", True, set(usage))


@functools.lru_cache(maxsize=64)
def _aki_extension(key_id: bytes) -> bytes:
    return _extension("authority_key_identifier", False, {"key_identifier": key_id})


@functools.lru_cache(maxsize=64)
def _eku_extension(usages: Tuple[str, ...]) -> bytes:
    return _extension("extended_key_usage", False, list(usages))


@functools.lru_cache(maxsize=64)
def _crl_dp_extension(urls: Tuple[str, ...]) -> bytes:
    names = [x509.GeneralName(name="uniform_resource_identifier", value=u) for u in urls]
    return _extension("crl_distribution_points", False, [{"distribution_point": {"full_name": names}}])


@functools.lru_cache(maxsize=64)
def _aia_extension(urls: Tuple[str, ...]) -> bytes:
    access = [
        {
            "access_method": "ca_issuers",
            "access_location": x509.GeneralName(name="uniform_resource_identifier", value=u),
        }
        for u in urls
    ]
    return _extension("authority_information_access", False, access)
