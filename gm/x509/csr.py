"""PKCS#10 certification requests signed with SM2-with-SM3, with proof-of-possession checks."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Union

from asn1crypto import csr, x509

from gm import asn1
from gm.pem import armor, unarmor
from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.x509._common import (
    NameInput,
    build_name,
    check_name,
    check_signature_value,
    default_id,
    name_text,
    signature_algorithm,
    verify_signed,
)


class CertificationRequest:
    __slots__ = ("_der", "_public", "_req")

    def __init__(self, req: csr.CertificationRequest, der: bytes) -> None:
        self._req = req
        self._der = der
        self._public: Optional[SM2PublicKey] = None

    @classmethod
    def from_der(cls, der: bytes) -> CertificationRequest:
        """Parse what is used (subject, key, signature) now, so malformed input fails here with
        EncodingError, not later (a full parse of the attributes would cost ~1 ms per request)."""
        der = bytes(der)
        asn1.check_size(der, "certificate request")
        with asn1.decoding("PKCS#10 request"):
            req = csr.CertificationRequest.load(der, strict=True)
            info = req["certification_request_info"]
            info["version"].native  # noqa: B018
            check_name(info["subject"], "certificate request subject")
            asn1.raw_element(der, 0, 2)  # subjectPKInfo: its own parse is SM2PublicKey.from_der's
            req["signature_algorithm"]["algorithm"].dotted  # noqa: B018
            check_signature_value(req["signature_algorithm"], req["signature"], "certificate request")
        return cls(req, der)

    @classmethod
    def load(cls, data: bytes) -> CertificationRequest:
        return cls.from_der(unarmor(data, ("CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST")))

    def to_der(self) -> bytes:
        return self._der

    def to_pem(self) -> bytes:
        return armor("CERTIFICATE REQUEST", self._der)

    @property
    def asn1(self) -> csr.CertificationRequest:
        return self._req

    @property
    def subject(self) -> x509.Name:
        return self._req["certification_request_info"]["subject"]

    @property
    def subject_text(self) -> str:
        return name_text(self.subject)

    @property
    def public_key(self) -> SM2PublicKey:
        if self._public is None:  # parsing checks the point (a scalar multiplication): once
            with asn1.decoding("PKCS#10 request"):
                spki = asn1.raw_element(self._der, 0, 2)  # as in the file: dump() may re-encode it
            self._public = SM2PublicKey.from_der(spki)
        return self._public

    def verify(self, signer_id: Optional[bytes] = None) -> None:
        """Proof of possession: the request is signed by the private key of the key it carries.

        Raises CertificateError(reason='signature') otherwise; its message says so when the request was
        signed with an empty SM2 signer ID (``openssl req`` of OpenSSL 3.0 without ``-sigopt distid:…``).
        """
        with asn1.decoding("PKCS#10 request"):
            signed = asn1.raw_element(self._der, 0)  # the bytes that were signed, not a re-encoding
        verify_signed(
            signed,
            self._req["signature_algorithm"],
            self._req["signature"].native,
            self.public_key,
            default_id(signer_id),
            lambda: f"certificate request {self.subject_text!r}",
        )

    def __repr__(self) -> str:
        return f"CertificationRequest(subject={self.subject_text!r})"


Signer = Callable[[bytes], bytes]  # tbs bytes -> DER SM2 signature (a key, or a token that holds one)


def build_csr(
    subject: NameInput,
    key: Union[SM2PrivateKey, SM2PublicKey],
    requested_extensions: Sequence[Dict[str, Any]] = (),
    signer_id: Optional[bytes] = None,
    signer: Optional[Signer] = None,
) -> CertificationRequest:
    """A PKCS#10 request for ``key``, signed with SM2-with-SM3.

    Pass a private key, or a public key plus ``signer`` when the private key lives on a device (the device
    signs the request info with the signer ID ``1234567812345678`` unless told otherwise).
    """
    if isinstance(key, SM2PrivateKey):
        private = key
        public = key.public_key
        signer = signer or (lambda tbs: private.sign(tbs, signer_id=default_id(signer_id)))
    else:
        public = key
        if signer is None:
            raise ValueError("a CSR for a public key needs a signer (the device that holds the private key)")
    attributes: List[Dict[str, Any]] = []
    if requested_extensions:
        attributes.append({"type": "extension_request", "values": [list(requested_extensions)]})
    info = csr.CertificationRequestInfo(
        {
            "version": "v1",
            "subject": build_name(subject),
            "subject_pk_info": x509.PublicKeyInfo.load(public.to_der()),
            "attributes": attributes,
        }
    )
    algorithm = signature_algorithm()
    signature = signer(bytes(info.dump()))
    req = csr.CertificationRequest(
        {"certification_request_info": info, "signature_algorithm": algorithm, "signature": signature}
    )
    request = CertificationRequest.from_der(req.dump())
    request.verify(signer_id)  # a device that signed with another ID or key is caught here, not at the CA
    return request
