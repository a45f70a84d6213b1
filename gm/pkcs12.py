"""PKCS#12 (PFX, RFC 7292) files with SM2 keys: what a certificate backup is, and what other tools export.

Built from asn1crypto structures; the primitives are `cryptography`'s (PBKDF2, SM4/AES/3DES-CBC, HMAC)
and libcrypto's PKCS#12 key derivation for the MAC key (gm._native.pkcs12kdf).

What we write (``dump``), chosen by testing what OpenSSL 3.0's ``openssl pkcs12`` reads:

- private keys: PKCS#8 shrouded key bags under PBES2 = PBKDF2 with HMAC-SHA256 + SM4-CBC;
- certificates: in an EncryptedData under the same scheme;
- integrity: the PFX MAC with HMAC-SM3 (its key from the PKCS#12 KDF with SM3).

OpenSSL 3.0 reads SM4-CBC in PBES2 and SM3 in the MAC, but not PBKDF2 with HMAC-SM3 (its OID,
hmacWithSM3 1.2.156.10197.1.401.3.1, is unknown before OpenSSL 3.2 / 3.0 ``openssl asn1parse -genstr
OID:hmacWithSM3`` fails), so the PBKDF2 PRF is HMAC-SHA256, the strongest it reads. Both the key
derivation and the MAC use ``ITERATIONS`` rounds: an attacker holding the file tests passwords against
the cheaper of the two, so neither may be cheap.

What we read (``load``): the above; PBES2 with PBKDF2 (PRF HMAC-SHA1/-SHA224/-SHA256/-SHA384/-SHA512
or HMAC-SM3) and SM4-, AES-128/192/256- or 3DES-CBC (OpenSSL 3's default export is PBKDF2-SHA256 +
AES-256-CBC); the legacy pbeWithSHAAnd3-KeyTripleDES-CBC; key bags in the clear; MACs with SHA-1,
SHA-2 or SM3. RC2 and RC4 (OpenSSL 1.x's ``-legacy`` certificate encryption) are refused with a message.
"""

from __future__ import annotations

import hmac as std_hmac
import os
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from asn1crypto import algos, cms, core, keys, pkcs12
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes

from gm import asn1
from gm._native import pkcs12kdf
from gm.errors import EncodingError, InvalidKey, PasswordIncorrect
from gm.kdf import pbkdf2_hmac
from gm.sm2 import SM2PrivateKey
from gm.x509 import Certificate

OID_SM4_CBC = "1.2.156.10197.1.104.2"
OID_HMAC_SM3 = "1.2.156.10197.1.401.3.1"

ITERATIONS = 600_000  # PBKDF2-HMAC-SHA256 as OWASP's 2023 advice; the MAC's PKCS#12 KDF-SM3 the same
MAX_ITERATIONS = 10_000_000  # a file asking for more is refused, not computed (it would hang the reader)
MAX_FILE_SIZE = 1024 * 1024
MAX_BAGS = 256
SALT_SIZE = 16

if OID_SM4_CBC not in algos.EncryptionAlgorithmId._map:
    asn1._register(algos.EncryptionAlgorithmId, OID_SM4_CBC, "sm4_cbc")
    algos.EncryptionAlgorithm._oid_specs["sm4_cbc"] = core.OctetString
if OID_HMAC_SM3 not in algos.HmacAlgorithmId._map:
    asn1._register(algos.HmacAlgorithmId, OID_HMAC_SM3, "sm3")

# digest name (asn1crypto) -> (cryptography hash, libcrypto name)
_DIGESTS: Dict[str, Tuple[hashes.HashAlgorithm, str]] = {
    "sha1": (hashes.SHA1(), "SHA1"),  # noqa: S303 - read only: files other tools wrote
    "sha224": (hashes.SHA224(), "SHA224"),
    "sha256": (hashes.SHA256(), "SHA256"),
    "sha384": (hashes.SHA384(), "SHA384"),
    "sha512": (hashes.SHA512(), "SHA512"),
    "sm3": (hashes.SM3(), "SM3"),
}
# PBES2 encryption scheme -> key size in bytes
_CIPHERS: Dict[str, int] = {"sm4_cbc": 16, "aes128_cbc": 16, "aes192_cbc": 24, "aes256_cbc": 32, "tripledes_3key": 24}


class UnsupportedScheme(EncodingError):
    """A well-formed PKCS#12 file protected with a scheme not read here (RC2, public-key modes ...)."""


class _SafeBag(core.Sequence):  # type: ignore[misc]
    """SafeBag with its value left open: each kind is parsed on its own, so an unknown one is skipped."""

    _fields = [  # noqa: RUF012 - asn1crypto declares structures as class-level lists
        ("bag_id", pkcs12.BagId),
        ("bag_value", core.Any, {"explicit": 0}),
        ("bag_attributes", pkcs12.Attributes, {"optional": True}),
    ]


class _SafeContents(core.SequenceOf):  # type: ignore[misc]
    _child_spec = _SafeBag


@dataclass(frozen=True)
class PfxKey:
    """A private key in a PFX, with its certificate when the file pairs one with it."""

    key: SM2PrivateKey
    certificate: Optional[Certificate] = None
    name: Optional[str] = None  # friendlyName


@dataclass(frozen=True)
class PfxContents:
    keys: Tuple[PfxKey, ...]
    certificates: Tuple[Certificate, ...] = field(default=())  # certificates without a key (the CA chain)


# -- the symmetric pieces ------------------------------------------------------------------------------


def _cipher(name: str, key: bytes) -> BlockCipherAlgorithm:
    if name == "sm4_cbc":
        return algorithms.SM4(key)
    if name == "tripledes_3key":
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

        return TripleDES(key)
    return algorithms.AES(key)


def _cbc_encrypt(algorithm: BlockCipherAlgorithm, iv: bytes, data: bytes) -> bytes:
    padder = padding.PKCS7(algorithm.block_size).padder()
    encryptor = Cipher(algorithm, modes.CBC(iv)).encryptor()
    return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()


def _cbc_decrypt(algorithm: BlockCipherAlgorithm, iv: bytes, data: bytes) -> bytes:
    block = algorithm.block_size // 8
    if not data or len(data) % block:
        raise EncodingError("encrypted PKCS#12 content is not a whole number of cipher blocks (damaged file)")
    decryptor = Cipher(algorithm, modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(algorithm.block_size).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise PasswordIncorrect("the backup password is wrong (or the file was altered)") from None


def _check_iterations(count: int) -> int:
    if not 1 <= count <= MAX_ITERATIONS:
        raise EncodingError(
            f"PKCS#12 file asks for {count} key derivation rounds; at most {MAX_ITERATIONS} are accepted"
        )
    return count


def _pbes2_algorithm(salt: bytes, iv: bytes, iterations: int) -> algos.EncryptionAlgorithm:
    return algos.EncryptionAlgorithm(
        {
            "algorithm": "pbes2",
            "parameters": {
                "key_derivation_func": {
                    "algorithm": "pbkdf2",
                    "parameters": {
                        "salt": algos.Pbkdf2Salt(name="specified", value=salt),
                        "iteration_count": iterations,
                        "prf": {"algorithm": "sha256", "parameters": core.Null()},
                    },
                },
                "encryption_scheme": {"algorithm": "sm4_cbc", "parameters": core.OctetString(iv)},
            },
        }
    )


def _encrypt(password: str, data: bytes, iterations: int) -> Tuple[algos.EncryptionAlgorithm, bytes]:
    salt, iv = os.urandom(SALT_SIZE), os.urandom(16)
    key = pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations, 16)
    return _pbes2_algorithm(salt, iv, iterations), _cbc_encrypt(algorithms.SM4(key), iv, data)


def _decrypt(password: str, algorithm: algos.EncryptionAlgorithm, data: bytes) -> bytes:
    name = algorithm["algorithm"].native
    if name == "pkcs12_sha1_tripledes_3key":
        params = algorithm["parameters"]
        salt, count = bytes(params["salt"].native), _check_iterations(params["iterations"].native)
        key = pkcs12kdf.derive(password, salt, pkcs12kdf.KEY_ID, count, 24, "SHA1")
        iv = pkcs12kdf.derive(password, salt, pkcs12kdf.IV_ID, count, 8, "SHA1")
        return _cbc_decrypt(_cipher("tripledes_3key", key), iv, data)
    if name != "pbes2":
        raise UnsupportedScheme(
            f"this PKCS#12 file is encrypted with {name}, which certassist does not read; export it again with "
            "PBES2 (OpenSSL 3: openssl pkcs12 -export -keypbe AES-256-CBC -certpbe AES-256-CBC)"
        )
    params = algorithm["parameters"]
    kdf, scheme = params["key_derivation_func"], params["encryption_scheme"]
    if kdf["algorithm"].native != "pbkdf2":
        raise UnsupportedScheme(f"PBES2 with key derivation {kdf['algorithm'].dotted} is not supported")
    pbkdf2 = kdf["parameters"]
    prf = pbkdf2["prf"]["algorithm"].native
    cipher = scheme["algorithm"].native
    if prf not in _DIGESTS or cipher not in _CIPHERS:
        raise UnsupportedScheme(f"PBES2 with PBKDF2-HMAC-{prf} and {cipher} is not supported")
    salt = pbkdf2["salt"].chosen
    if not isinstance(salt, core.OctetString):
        raise UnsupportedScheme("PBKDF2 with a salt algorithm is not supported")
    size = _CIPHERS[cipher]
    if pbkdf2["key_length"].native not in (None, size):
        raise EncodingError(f"PBKDF2 key length {pbkdf2['key_length'].native} does not fit {cipher}")
    count = _check_iterations(pbkdf2["iteration_count"].native)
    key = pbkdf2_hmac(prf, password.encode("utf-8"), bytes(salt.native), count, size)
    iv = scheme["parameters"].native
    if not isinstance(iv, bytes):
        raise EncodingError(f"{cipher} without an initialisation vector")
    algorithm_ = _cipher(cipher, key)
    if len(iv) != algorithm_.block_size // 8:
        raise EncodingError(f"{cipher} initialisation vector of {len(iv)} bytes")
    return _cbc_decrypt(algorithm_, iv, data)


def _mac_key(password: str, salt: bytes, iterations: int, digest: str) -> bytes:
    hash_algorithm, native_name = _DIGESTS[digest]
    return pkcs12kdf.derive(password, salt, pkcs12kdf.MAC_ID, iterations, hash_algorithm.digest_size, native_name)


def _hmac(key: bytes, digest: str, data: bytes) -> bytes:
    mac = crypto_hmac.HMAC(key, _DIGESTS[digest][0])
    mac.update(data)
    return mac.finalize()


# -- writing -----------------------------------------------------------------------------------------


def _attributes(name: Optional[str], key_id: bytes) -> pkcs12.Attributes:
    values = [{"type": "local_key_id", "values": [key_id]}]
    if name:
        values.insert(0, {"type": "friendly_name", "values": [name]})
    return pkcs12.Attributes(values)


def dump(contents: PfxContents, password: str, iterations: int = ITERATIONS) -> bytes:
    """The PFX (DER) holding ``contents`` under ``password`` (the scheme in the module's docstring)."""
    if not password:
        raise ValueError("a PKCS#12 file needs a password")
    key_bags: List[pkcs12.SafeBag] = []
    cert_bags: List[pkcs12.SafeBag] = []
    for index, item in enumerate(contents.keys):
        key_id = index.to_bytes(4, "big") + item.key.public_key.to_raw()[1:17]
        algorithm, encrypted = _encrypt(password, item.key.to_der(), iterations)
        shrouded = keys.EncryptedPrivateKeyInfo({"encryption_algorithm": algorithm, "encrypted_data": encrypted})
        key_bags.append(
            pkcs12.SafeBag(
                {
                    "bag_id": "pkcs8_shrouded_key_bag",
                    "bag_value": shrouded,
                    "bag_attributes": _attributes(item.name, key_id),
                }
            )
        )
        if item.certificate is not None:
            cert_bags.append(_cert_bag(item.certificate, _attributes(item.name, key_id)))
    cert_bags.extend(_cert_bag(cert, None) for cert in contents.certificates)
    algorithm, encrypted = _encrypt(password, pkcs12.SafeContents(cert_bags).dump(), iterations)
    encrypted_data = cms.EncryptedData(
        {
            "version": "v0",
            "encrypted_content_info": {
                "content_type": "data",
                "content_encryption_algorithm": algorithm,
                "encrypted_content": encrypted,
            },
        }
    )
    safe = pkcs12.AuthenticatedSafe(
        [
            cms.ContentInfo({"content_type": "encrypted_data", "content": encrypted_data}),
            cms.ContentInfo(
                {"content_type": "data", "content": core.OctetString(pkcs12.SafeContents(key_bags).dump())}
            ),
        ]
    )
    safe_der = safe.dump()
    mac_salt = os.urandom(SALT_SIZE)
    mac = _hmac(_mac_key(password, mac_salt, iterations, "sm3"), "sm3", safe_der)
    pfx = pkcs12.Pfx(
        {
            "version": "v3",
            "auth_safe": {"content_type": "data", "content": core.OctetString(safe_der)},
            "mac_data": {
                "mac": {"digest_algorithm": {"algorithm": "sm3", "parameters": core.Null()}, "digest": mac},
                "mac_salt": mac_salt,
                "iterations": iterations,
            },
        }
    )
    return bytes(pfx.dump())


def _cert_bag(certificate: Certificate, attributes: Optional[pkcs12.Attributes]) -> pkcs12.SafeBag:
    bag = pkcs12.CertBag({"cert_id": "x509", "cert_value": core.ParsableOctetString(certificate.to_der())})
    value: Dict[str, object] = {"bag_id": "cert_bag", "bag_value": bag}
    if attributes is not None:
        value["bag_attributes"] = attributes
    return pkcs12.SafeBag(value)


# -- reading -----------------------------------------------------------------------------------------


@dataclass
class _Collected:
    keys: List[Tuple[Optional[bytes], Optional[str], bytes]] = field(default_factory=list)  # id, name, PKCS#8
    certs: List[Tuple[Optional[bytes], Optional[str], bytes]] = field(default_factory=list)
    count: int = 0


def _attribute(bag: _SafeBag, kind: str) -> Optional[object]:
    attributes = bag["bag_attributes"]
    if not attributes or attributes.native is None:
        return None
    for attribute in attributes:
        if attribute["type"].native == kind and len(attribute["values"]):
            value: object = attribute["values"][0].native
            return value
    return None


def _collect(password: str, der: bytes, out: _Collected, depth: int = 0) -> None:
    if depth > 4:
        raise EncodingError("PKCS#12 safe contents nested too deeply")
    for bag in _SafeContents.load(der):
        out.count += 1
        if out.count > MAX_BAGS:
            raise EncodingError(f"PKCS#12 file has more than {MAX_BAGS} entries")
        kind = bag["bag_id"].native
        key_id = _attribute(bag, "local_key_id")
        name = _attribute(bag, "friendly_name")
        ident = bytes(key_id) if isinstance(key_id, bytes) else None
        label = name if isinstance(name, str) else None
        value = bag["bag_value"]
        if kind == "pkcs8_shrouded_key_bag":
            shrouded = value.parse(keys.EncryptedPrivateKeyInfo)
            data = bytes(shrouded["encrypted_data"].native)
            out.keys.append((ident, label, _decrypt(password, shrouded["encryption_algorithm"], data)))
        elif kind == "key_bag":
            out.keys.append((ident, label, value.dump()))
        elif kind == "cert_bag":
            cert_bag = value.parse(pkcs12.CertBag)
            if cert_bag["cert_id"].native == "x509":
                out.certs.append((ident, label, bytes(cert_bag["cert_value"].contents)))
        elif kind == "safe_contents":
            _collect(password, value.dump(), out, depth + 1)
        # crl_bag, secret_bag: nothing a certificate device holds


def _verify_mac(pfx: pkcs12.Pfx, password: str, safe_der: bytes) -> None:
    mac_data = pfx["mac_data"]
    if mac_data.native is None:
        return  # no MAC: the key decryption below still tells a wrong password
    digest = mac_data["mac"]["digest_algorithm"]["algorithm"].native
    if digest not in _DIGESTS:
        raise UnsupportedScheme(f"PKCS#12 MAC with {digest} is not supported")
    count = _check_iterations(mac_data["iterations"].native)
    key = _mac_key(password, bytes(mac_data["mac_salt"].native), count, digest)
    if not std_hmac.compare_digest(_hmac(key, digest, safe_der), bytes(mac_data["mac"]["digest"].native)):
        raise PasswordIncorrect("the backup password is wrong (or the file was altered)")


def load(data: bytes, password: str) -> PfxContents:
    """Read a PFX (DER, or PEM-less binary as every tool writes it) with ``password``.

    Raises PasswordIncorrect for a wrong password, UnsupportedScheme (an EncodingError) for a scheme not
    read here, EncodingError for a damaged file, InvalidKey for a key that is not SM2.
    """
    data = bytes(data)
    asn1.check_size(data, "PKCS#12", MAX_FILE_SIZE)
    collected = _Collected()
    with asn1.decoding("PKCS#12 (.pfx/.p12) file"):
        pfx = pkcs12.Pfx.load(data, strict=True)
        if pfx["version"].native != "v3":
            raise EncodingError(f"PKCS#12 version {pfx['version'].native} is not 3")
        auth_safe = pfx["auth_safe"]
        if auth_safe["content_type"].native != "data":
            raise UnsupportedScheme("PKCS#12 files signed with a public key (not a password) are not supported")
        safe_der = bytes(auth_safe["content"].native)
        _verify_mac(pfx, password, safe_der)
        for info in pkcs12.AuthenticatedSafe.load(safe_der):
            kind = info["content_type"].native
            if kind == "data":
                _collect(password, bytes(info["content"].native), collected)
            elif kind == "encrypted_data":
                content = info["content"]["encrypted_content_info"]
                encrypted = content["encrypted_content"].native
                if encrypted is None:
                    raise EncodingError("PKCS#12 encrypted content is missing")
                plain = _decrypt(password, content["content_encryption_algorithm"], bytes(encrypted))
                _collect(password, plain, collected)
            else:
                raise UnsupportedScheme(f"PKCS#12 content of type {kind} (public-key encrypted) is not supported")
    return _assemble(collected)


def _assemble(collected: _Collected) -> PfxContents:
    certificates = [(ident, name, Certificate.from_der(der)) for ident, name, der in collected.certs]
    used: List[int] = []
    result: List[PfxKey] = []
    for ident, name, der in collected.keys:
        try:
            key = SM2PrivateKey.from_der(der)
        except (InvalidKey, EncodingError) as exc:
            raise InvalidKey(f"a private key in this PKCS#12 file is not an SM2 key: {exc}") from exc
        match: Optional[int] = None
        for index, (cert_id, _name, candidate) in enumerate(certificates):
            if index in used:
                continue
            if (ident is not None and cert_id == ident) or candidate.public_key == key.public_key:
                match = index
                if candidate.public_key == key.public_key:
                    break
        paired: Optional[Certificate] = None
        if match is not None:
            paired = certificates[match][2]
            if paired.public_key != key.public_key:
                raise InvalidKey(f"the certificate paired with key {name or ''!s} is for another key")
            used.append(match)
        result.append(PfxKey(key, paired, name))
    if not result:
        raise EncodingError("this PKCS#12 file holds no private key")
    chain = tuple(cert for index, (_i, _n, cert) in enumerate(certificates) if index not in used)
    return PfxContents(tuple(result), chain)


__all__ = ["ITERATIONS", "PfxContents", "PfxKey", "UnsupportedScheme", "dump", "load"]
