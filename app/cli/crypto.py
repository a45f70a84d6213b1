"""``certassist crypto``: SM2/SM3 operations on the same PEM/DER files the OpenSSL command line uses."""

from __future__ import annotations

import errno
import json
import os
import sys
from typing import Any, BinaryIO, Dict, Optional, cast

import click

from app.platform.console import json_ascii
from gm import asn1, detect
from gm.errors import EncodingError, InvalidKey
from gm.pem import pem_limit
from gm.sm2 import (
    DEFAULT_SIGNER_ID,
    CiphertextFormat,
    SignatureFormat,
    SM2PrivateKey,
    SM2PublicKey,
)
from gm.sm3 import SM3
from gm.x509 import CRL, Certificate, CertificationRequest

_SIG_FORMATS = click.Choice([f.value for f in SignatureFormat])
_CT_FORMATS = click.Choice([f.value for f in CiphertextFormat])


# Files that hold a key, certificate, CSR, signature or envelope (PEM or DER) are read up to this size; a
# CRL may be larger. Beyond it a file is refused before it is parsed (asn1crypto reads ~0.5 MB/s).
OBJECT_FILE_LIMIT = pem_limit(asn1.MAX_DER_SIZE)
INSPECT_FILE_LIMIT = pem_limit(asn1.MAX_CRL_SIZE)


def _read(path: str, limit: Optional[int] = None) -> bytes:
    """The bytes of a file (or stdin for ``-``); with ``limit``, EncodingError for a larger file, which is
    then never read in full."""
    if path == "-":
        data = sys.stdin.buffer.read() if limit is None else sys.stdin.buffer.read(limit + 1)
    else:
        with open(path, "rb") as fh:
            data = fh.read() if limit is None else fh.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise EncodingError(
            f"{'stdin' if path == '-' else path} is larger than {asn1.format_size(limit)}: "
            "not a certificate, CSR, CRL, key or signature that certassist reads"
        )
    return data


def _write(path: str, data: bytes, *, secret: bool = False, force: bool = False) -> None:
    """Write to a file (0600 for secrets) or stdout; never overwrite silently."""
    if path == "-":
        cast(BinaryIO, sys.stdout.buffer).write(data)
        sys.stdout.buffer.flush()
        return
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        fd = os.open(path, flags, 0o600 if secret else 0o644)
    except FileExistsError:
        raise FileExistsError(errno.EEXIST, "already exists; choose another name or pass --force", path) from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _signer_id(text: Optional[str], hex_value: Optional[str]) -> bytes:
    if text is not None and hex_value is not None:
        raise click.UsageError("give --id or --id-hex, not both")
    if hex_value is not None:
        try:
            return bytes.fromhex(hex_value)
        except ValueError:
            raise click.UsageError("--id-hex must be hexadecimal") from None
    return DEFAULT_SIGNER_ID if text is None else text.encode("utf-8")


def load_public_key(data: bytes) -> SM2PublicKey:
    """A public key from a public key, a certificate, a CSR or a private key file (PEM or DER)."""
    try:
        kind = detect.detect(data)
    except EncodingError:
        raise EncodingError("not an SM2 public key, certificate, CSR or private key (PEM or DER)") from None
    if kind is detect.Kind.CRL:
        raise EncodingError("this is a CRL, which holds no public key: give the certificate of its issuer")
    loaded = detect.load(data)
    if isinstance(loaded, SM2PublicKey):
        return loaded
    assert not isinstance(loaded, CRL)
    return loaded.public_key


signer_id_options = [
    click.option("--id", "id_text", metavar="TEXT", help="SM2 signer ID (default 1234567812345678)."),
    click.option("--id-hex", metavar="HEX", help="SM2 signer ID as hex bytes."),
]


def _with_signer_id(fn: Any) -> Any:
    for option in reversed(signer_id_options):
        fn = option(fn)
    return fn


@click.group()
def crypto() -> None:
    """SM2 keys, signatures and encryption; inspect certificates, CSRs and CRLs."""


@crypto.command()
@click.option("-o", "--out", required=True, metavar="FILE", help="Private key file to write (PKCS#8).")
@click.option("--pubout", metavar="FILE", help="Also write the public key (SubjectPublicKeyInfo).")
@click.option("--der", is_flag=True, help="Write DER instead of PEM.")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def keygen(out: str, pubout: Optional[str], der: bool, force: bool) -> None:
    """Generate an SM2 key pair (same files as `openssl genpkey -algorithm SM2`)."""
    key = SM2PrivateKey.generate()
    _write(out, key.to_der() if der else key.to_pem(), secret=True, force=force)
    if pubout:
        pub = key.public_key
        _write(pubout, pub.to_der() if der else pub.to_pem(), force=force)
    click.echo(
        f"SM2 key written to {out} (public key fingerprint SM3 {key.public_key.fingerprint()[:32]}…)",
        err=True,
    )


@crypto.command()
@click.argument("source", metavar="FILE")
@click.option("-o", "--out", default="-", show_default=True, metavar="FILE", help="Public key file to write.")
@click.option("--der", is_flag=True, help="Write DER instead of PEM.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def pubkey(source: str, out: str, der: bool, force: bool) -> None:
    """Extract the public key of a private key, certificate or CSR."""
    pub = load_public_key(_read(source, OBJECT_FILE_LIMIT))
    _write(out, pub.to_der() if der else pub.to_pem(), force=force)


@crypto.command()
@click.argument("source", metavar="FILE", default="-")
@click.option("-k", "--key", "key_path", required=True, metavar="FILE", help="SM2 private key (PEM or DER).")
@_with_signer_id
@click.option(
    "--format",
    "fmt",
    type=_SIG_FORMATS,
    default="der",
    show_default=True,
    help="der = GM/T 0009, raw = r||s.",
)
@click.option("--digest", is_flag=True, help="FILE holds e = SM3(Z||M) (32 bytes) instead of the message.")
@click.option("-o", "--out", default="-", show_default=True, metavar="FILE")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def sign(
    source: str,
    key_path: str,
    id_text: Optional[str],
    id_hex: Optional[str],
    fmt: str,
    digest: bool,
    out: str,
    force: bool,
) -> None:
    """Sign FILE (or stdin) with SM2-with-SM3."""
    key = SM2PrivateKey.load(_read(key_path, OBJECT_FILE_LIMIT))
    data = _read(source)
    if digest:
        if id_text is not None or id_hex is not None:
            raise click.UsageError("--id has no effect with --digest: the ID is already inside e = SM3(Z||M)")
        sig = key.sign_digest(data, SignatureFormat(fmt))
    else:
        sig = key.sign(data, _signer_id(id_text, id_hex), SignatureFormat(fmt))
    _write(out, sig, force=force)


@crypto.command()
@click.argument("source", metavar="FILE", default="-")
@click.option(
    "-p", "--pub", "pub_path", required=True, metavar="FILE", help="Public key, certificate, CSR or private key."
)
@click.option("-s", "--signature", "sig_path", required=True, metavar="FILE")
@_with_signer_id
@click.option("--format", "fmt", type=_SIG_FORMATS, default="der", show_default=True)
@click.option("--digest", is_flag=True, help="FILE holds e = SM3(Z||M) instead of the message.")
def verify(
    source: str,
    pub_path: str,
    sig_path: str,
    id_text: Optional[str],
    id_hex: Optional[str],
    fmt: str,
    digest: bool,
) -> None:
    """Verify an SM2 signature over FILE; exit 1 if it does not verify, 2 if it is not an SM2 signature."""
    pub = load_public_key(_read(pub_path, OBJECT_FILE_LIMIT))
    sig = _read(sig_path, OBJECT_FILE_LIMIT)
    data = _read(source)
    if digest:
        pub.verify_digest(sig, data, SignatureFormat(fmt))
    else:
        pub.verify(sig, data, _signer_id(id_text, id_hex), SignatureFormat(fmt))
    click.echo("Verified OK")


@crypto.command()
@click.argument("source", metavar="FILE", default="-")
@click.option("-p", "--pub", "pub_path", required=True, metavar="FILE", help="Recipient public key or certificate.")
@click.option("--format", "fmt", type=_CT_FORMATS, default="der", show_default=True)
@click.option("-o", "--out", default="-", show_default=True, metavar="FILE")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def encrypt(source: str, pub_path: str, fmt: str, out: str, force: bool) -> None:
    """Encrypt FILE to an SM2 public key (GM/T 0009 DER, or raw C1C3C2 / C1C2C3)."""
    pub = load_public_key(_read(pub_path, OBJECT_FILE_LIMIT))
    _write(out, pub.encrypt(_read(source), CiphertextFormat(fmt)), force=force)


@crypto.command()
@click.argument("source", metavar="FILE", default="-")
@click.option("-k", "--key", "key_path", required=True, metavar="FILE", help="SM2 private key.")
@click.option("--format", "fmt", type=_CT_FORMATS, default="der", show_default=True)
@click.option("-o", "--out", default="-", show_default=True, metavar="FILE")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def decrypt(source: str, key_path: str, fmt: str, out: str, force: bool) -> None:
    """Decrypt an SM2 ciphertext; exit 1 if it was altered or is for another key."""
    key = SM2PrivateKey.load(_read(key_path, OBJECT_FILE_LIMIT))
    _write(out, key.decrypt(_read(source), CiphertextFormat(fmt)), secret=True, force=force)


@crypto.command()
@click.argument("source", metavar="FILE", default="-")
def sm3(source: str) -> None:
    """Print the SM3 digest of FILE (same as `openssl dgst -sm3`)."""
    h = SM3()
    stream = sys.stdin.buffer if source == "-" else open(source, "rb")  # noqa: SIM115 - closed below
    try:
        for chunk in iter(lambda: stream.read(1 << 16), b""):
            h.update(chunk)
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
    click.echo(f"SM3({source})= {h.hexdigest()}")


def describe_file(data: bytes, issuer: Optional[Certificate] = None) -> Dict[str, Any]:
    """What a PEM/DER file holds, as a JSON-friendly dict; checks signatures it can check.

    The kind is told from the PEM label or the DER outline, then the file is parsed once. Anything no
    genuine certificate or CRL carries (a negative serial, a year-0000 date) is listed under ``warnings``.
    """
    kind = detect.detect(data)
    return _DESCRIBERS[kind](data, issuer)


def _fmt_time(value: Any) -> str:
    return str(value.isoformat()) if value is not None else "-"


def _asn1_time(value: Any) -> str:
    """An X.509 time as written, also the year 0000 that a datetime cannot hold (and gm reads as 0001)."""
    return _fmt_time(value.native)


def _key_text(cert: Certificate) -> str:
    try:
        cert.public_key  # noqa: B018
    except (InvalidKey, EncodingError) as exc:
        return f"unusable: {exc}"
    return "SM2 (sm2p256v1)"


def _describe_certificate(data: bytes, issuer: Optional[Certificate]) -> Dict[str, Any]:
    cert = Certificate.load(data)
    info: Dict[str, Any] = {
        "type": "certificate",
        "subject": cert.subject_text,
        "issuer": cert.issuer_text,
        "serial": f"{cert.serial_number:X}",
        "not_before": _asn1_time(cert.asn1["tbs_certificate"]["validity"]["not_before"]),
        "not_after": _asn1_time(cert.asn1["tbs_certificate"]["validity"]["not_after"]),
        "days_left": cert.days_left(),
        "key": _key_text(cert),
        "ca": cert.is_ca,
        "key_usage": sorted(cert.key_usage or []),
        "extended_key_usage": cert.extended_key_usage,
        "crl_urls": cert.crl_urls,
        "ca_issuers_urls": cert.ca_issuers_urls,  # authorityInfoAccess: where the issuer's certificate is
        "fingerprint_sm3": cert.fingerprint,
    }
    if cert.anomalies:
        info["warnings"] = cert.anomalies
    signer = issuer or (cert if cert.is_self_issued else None)
    if signer is not None:
        cert.verify_signature(signer.public_key)
        info["signature"] = "verified with " + ("its own key" if signer is cert else signer.subject_text)
    return info


def _describe_csr(data: bytes, _issuer: Optional[Certificate]) -> Dict[str, Any]:
    req = CertificationRequest.load(data)
    req.verify()
    return {
        "type": "csr",
        "subject": req.subject_text,
        "key": "SM2 (sm2p256v1)",
        "public_key_fingerprint_sm3": req.public_key.fingerprint(),
        "signature": "verified (proof of possession)",
    }


def _describe_crl(data: bytes, issuer: Optional[Certificate]) -> Dict[str, Any]:
    crl = CRL.load(data)
    info: Dict[str, Any] = {
        "type": "crl",
        "issuer": crl.issuer_text,
        "number": crl.crl_number,
        "this_update": _asn1_time(crl.asn1["tbs_cert_list"]["this_update"]),
        "next_update": _asn1_time(crl.asn1["tbs_cert_list"]["next_update"]),
        "revoked": [
            {"serial": f"{e.serial_number:X}", "date": _fmt_time(e.revocation_date), "reason": e.reason}
            for e in crl.entries
        ],
    }
    if crl.anomalies:
        info["warnings"] = crl.anomalies
    if issuer is not None:
        crl.verify_signature(issuer.public_key)
        info["signature"] = "verified with " + issuer.subject_text
    return info


def _describe_private_key(data: bytes, _issuer: Optional[Certificate]) -> Dict[str, Any]:
    key = SM2PrivateKey.load(data)
    return {
        "type": "private_key",
        "key": "SM2 (sm2p256v1)",
        "public_key_fingerprint_sm3": key.public_key.fingerprint(),
    }


def _describe_public_key(data: bytes, _issuer: Optional[Certificate]) -> Dict[str, Any]:
    pub = SM2PublicKey.load(data)
    return {"type": "public_key", "key": "SM2 (sm2p256v1)", "fingerprint_sm3": pub.fingerprint()}


_DESCRIBERS = {
    detect.Kind.CERTIFICATE: _describe_certificate,
    detect.Kind.CSR: _describe_csr,
    detect.Kind.CRL: _describe_crl,
    detect.Kind.PRIVATE_KEY: _describe_private_key,
    detect.Kind.PUBLIC_KEY: _describe_public_key,
}
TEXT_LIST_LIMIT = 20  # revoked entries shown in text; --json lists them all


@crypto.command()
@click.argument("source", metavar="FILE")
@click.option("--issuer", "issuer_path", metavar="FILE", help="CA certificate to verify a certificate or CRL with.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def inspect(source: str, issuer_path: Optional[str], as_json: bool) -> None:
    """Show a certificate, CSR, CRL or key (PEM or DER) and check what can be checked."""
    issuer = Certificate.load(_read(issuer_path, OBJECT_FILE_LIMIT)) if issuer_path else None
    info = describe_file(_read(source, INSPECT_FILE_LIMIT), issuer)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=json_ascii(), indent=2))  # exact on any code page
        return
    warnings = info.pop("warnings", [])
    width = max(len(k) for k in info)
    for name, value in info.items():
        shown = value
        if isinstance(value, list):
            more = len(value) - TEXT_LIST_LIMIT
            items = [json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else str(v) for v in value]
            shown = ", ".join(items[:TEXT_LIST_LIMIT]) or "-"
            if more > 0:
                shown += f" … and {more} more (--json lists all)"
        click.echo(f"{name.replace('_', ' '):<{width}}  {shown}")
    for text in warnings:
        click.echo(f"WARNING: {text}")
