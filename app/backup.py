"""备份证书 / 恢复证书: a soft keystore's certificates and keys in one password-protected PKCS#12 file.

A backup holds every container's signing and encryption key pairs with their certificates, the earlier
encryption key pairs (history) and the CA chain, under a backup password (gm.pkcs12: PBES2 with PBKDF2 and
SM4-CBC, an HMAC-SM3 MAC; ``openssl pkcs12`` reads it). Friendly names say where each key belongs:
``certassist:<container>:sign|encrypt`` and ``certassist-history:<container>:<retired>``; files from other
tools (one or two SM2 keys with certificates) are sorted by their certificates' key usage.

Only soft keystores are backed up: keys on a USB key never leave it. A restore creates a new soft keystore
with a new PIN; nothing is created until the whole file has been read and checked, and a restore that fails
half-way removes what it created. Files are written atomically and never replace an existing file unless
the caller says so.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from asn1crypto import pem

from app.api_client import ApiError, IssuingClient, ServiceUnavailable
from app.backup_policy import AlreadyRestored, AttemptLimiter, BackupUnreadable, check_backup_password
from app.entries import SOFT_LABEL_PREFIX, CertificateEntry, list_certificates
from app.flows import certificate_login
from app.messages import message
from drivers.base import check_new_pin
from drivers.errors import NotSupported
from drivers.model import KeyUsage, PinPolicy
from drivers.soft import SoftBackend, SoftDevice
from drivers.soft.storage import atomic_write
from gm import pkcs12
from gm.errors import EncodingError, GMError, InvalidKey, PasswordIncorrect
from gm.pem import is_pem, unarmor
from gm.sm2 import SM2PrivateKey
from gm.x509 import Certificate, verify_chain
from gm.x509.certificate import ENCRYPTION_KEY_USAGE, SIGNING_KEY_USAGE

SUFFIX = ".pfx"
_OURS = "certassist"
_HISTORY = "certassist-history"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    containers: int
    history: int
    chain: int = 0  # CA certificates in the file


Pair = Tuple[SM2PrivateKey, Optional[Certificate]]


@dataclass
class _Container:
    name: str
    sign: Pair
    encrypt: Optional[Pair] = None


@dataclass
class RestorePlan:
    """What a backup file holds, sorted into containers: checked before anything is written."""

    containers: List[_Container] = field(default_factory=list)
    history: List[Tuple[str, SM2PrivateKey, Optional[Certificate], int]] = field(default_factory=list)

    @property
    def username(self) -> str:
        first = self.containers[0]
        parts = first.name.rsplit("-", 2)
        if len(parts) == 3 and parts[1].isdigit():
            return parts[0]
        cert = first.sign[1]
        return (cert.common_name if cert is not None else None) or first.name


@dataclass(frozen=True)
class RestoreResult:
    device: SoftDevice
    containers: List[str]
    history: int
    admin_secret: str  # the new keystore's unblock secret: escrow it (``escrow_restored``) for 证书解锁


# -- 备份证书 ---------------------------------------------------------------------------------------


def issuing_chain(client: IssuingClient, certificate: Certificate) -> Tuple[Certificate, ...]:
    """The CA certificates above ``certificate`` (issuing CA first, root last) from the service's published
    chain, checked to be the ones that signed it; () when the service cannot be reached or its chain did not
    issue this certificate (a backup without the chain still restores: the chain is only for other tools)."""
    try:
        text = client.ca_chain()
        chain = [Certificate.from_der(der) for _label, _headers, der in pem.unarmor(text.encode(), multiple=True)]
        roots = [cert for cert in chain if cert.is_self_issued]
        others = [cert for cert in chain if not cert.is_self_issued]
        # checked as of the certificate's issuance: an expired certificate is still worth backing up
        path = verify_chain(certificate, roots, others, at=certificate.not_before + timedelta(seconds=1))
    except (ApiError, ServiceUnavailable, GMError, ValueError):
        return ()
    return tuple(path[1:])


def write_new_file(path: Path, data: bytes, overwrite: bool = False) -> None:
    """Atomically: readers see no file or the whole one. Without ``overwrite`` an existing file is never
    replaced (FileExistsError), even one that appears between the check and the write."""
    if overwrite:
        atomic_write(path, data)
        return
    if path.exists():
        raise FileExistsError(17, "文件已存在；请换一个文件名，或确认覆盖", str(path))
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.link(tmp, path)  # fails if the name was taken meanwhile: never a silent overwrite
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def make_backup(
    device: SoftDevice,
    pin: str,
    password: str,
    confirmation: str,
    target: Path,
    overwrite: bool = False,
    chain: Sequence[Certificate] = (),
) -> BackupResult:
    """备份证书: the PIN is verified, then every key of the keystore goes into ``target``, with ``chain`` (the CA
    certificates, see ``issuing_chain``)."""
    if not isinstance(device, SoftDevice):
        raise NotSupported("备份USB Key上的证书（USB Key中的私钥不可导出）；只有软证书可以备份")
    check_backup_password(password, confirmation)
    if target.exists() and not overwrite:
        raise FileExistsError(17, "文件已存在；请换一个文件名，或确认覆盖", str(target))
    with device.open() as session:
        session.login(pin)
        exported = session.export_keys()
    items: List[pkcs12.PfxKey] = []
    containers = set()
    history = 0
    for item in exported:
        if item.retired is not None:
            name = f"{_HISTORY}:{item.container}:{item.retired}"
            history += 1
        else:
            name = f"{_OURS}:{item.container}:{item.usage.value}"
            containers.add(item.container)
        items.append(pkcs12.PfxKey(item.key, item.certificate, name))
    data = pkcs12.dump(pkcs12.PfxContents(tuple(items), tuple(chain)), password)
    write_new_file(target, data, overwrite)
    return BackupResult(target, len(containers), history, len(chain))


# -- 恢复证书 ---------------------------------------------------------------------------------------


def read_backup(data: bytes, password: str, limiter: Optional[AttemptLimiter] = None) -> pkcs12.PfxContents:
    """The file's contents; a wrong password is counted (persistently) and tries are limited per minute."""
    limiter = limiter or AttemptLimiter.default()
    limiter.check()
    try:
        if is_pem(data):
            data = unarmor(data, ("PKCS12",), pkcs12.MAX_FILE_SIZE)
        return pkcs12.load(data, password)
    except PasswordIncorrect:
        limiter.failed()
        raise PasswordIncorrect("备份密码错误（或文件已被改动），请重新输入") from None
    except pkcs12.UnsupportedScheme as exc:
        raise BackupUnreadable(
            message("这个文件使用了证书助手不支持的加密方式，请用其他方式重新导出：{detail}", detail=str(exc))
        ) from exc
    except InvalidKey as exc:
        raise BackupUnreadable(
            message("这个文件中的私钥不是SM2（国密）密钥，无法恢复为本软件的证书：{detail}", detail=str(exc))
        ) from exc
    except EncodingError as exc:
        raise BackupUnreadable(
            message("文件已损坏，或不是可以读取的证书备份文件（.pfx/.p12，SM2密钥）：{detail}", detail=str(exc))
        ) from exc


def _usage_of(item: pkcs12.PfxKey) -> KeyUsage:
    usage = item.certificate.key_usage if item.certificate is not None else None
    if usage and usage & ENCRYPTION_KEY_USAGE and not usage & SIGNING_KEY_USAGE:
        return KeyUsage.ENCRYPT
    return KeyUsage.SIGN


def plan_restore(contents: pkcs12.PfxContents) -> RestorePlan:
    """Sort the keys into containers and history; refuse a file that gives no signing key."""
    plan = RestorePlan()
    by_name: Dict[str, _Container] = {}
    ours_encrypt: Dict[str, Pair] = {}
    loose_encrypt: List[Pair] = []
    stamp = time.strftime("%Y%m%d")
    for item in contents.keys:
        parts = (item.name or "").split(":")
        pair = (item.key, item.certificate)
        if len(parts) == 3 and parts[0] == _HISTORY and parts[2].isdigit():
            plan.history.append((parts[1], item.key, item.certificate, int(parts[2])))
        elif len(parts) == 3 and parts[0] == _OURS and parts[2] == "sign" and parts[1]:
            by_name[parts[1]] = _Container(parts[1], pair)
        elif len(parts) == 3 and parts[0] == _OURS and parts[2] == "encrypt" and parts[1]:
            ours_encrypt[parts[1]] = pair
        elif _usage_of(item) is KeyUsage.ENCRYPT:
            loose_encrypt.append(pair)
        else:  # a signing key from another tool: a container of its own
            cn = (item.certificate.common_name if item.certificate is not None else None) or "restored"
            name = f"{cn}-{stamp}-{secrets.token_hex(3)}"
            by_name[name] = _Container(name, pair)
    plan.containers = list(by_name.values())
    if not plan.containers:
        raise BackupUnreadable(message("这个文件中没有签名私钥，无法恢复证书（加密证书需与其签名证书一起恢复）"))
    for name, pair in ours_encrypt.items():
        if name not in by_name:
            raise BackupUnreadable(message("备份文件中容器 {name} 只有加密私钥、没有签名私钥，文件不完整", name=name))
        by_name[name].encrypt = pair
    for key, cert in loose_encrypt:  # another tool's encryption key: with its signing key
        _attach(plan.containers, key, cert)
    return plan


def _attach(containers: List[_Container], key: SM2PrivateKey, cert: Optional[Certificate]) -> None:
    """An encryption key from another tool joins the signing key of the same subject, or the only one."""
    free = [c for c in containers if c.encrypt is None]
    same = [c for c in free if cert is not None and c.sign[1] is not None and c.sign[1].subject == cert.subject]
    target = same[0] if same else free[0] if len(free) == 1 else None
    if target is None:
        raise BackupUnreadable(message("这个文件中的加密私钥找不到对应的签名证书，无法恢复"))
    target.encrypt = (key, cert)


def _already_here(backend: SoftBackend, plan: RestorePlan) -> None:
    wanted = {c.sign[1].fingerprint for c in plan.containers if c.sign[1] is not None}
    entries, _problems = list_certificates(list(backend.devices()))
    for entry in entries:
        if entry.sign.fingerprint in wanted:
            raise AlreadyRestored(
                message(
                    "证书“{subject}”已在本机的软证书 {serial} 中（见证书列表），无需恢复；"
                    "忘记其证书密码时请使用「证书解锁」",
                    subject=entry.subject,
                    serial=entry.device.info.serial,
                )
            )


def restore_backup(
    backend: SoftBackend,
    data: bytes,
    password: str,
    new_pin: str,
    confirmation: str,
    limiter: Optional[AttemptLimiter] = None,
) -> RestoreResult:
    """恢复证书 into a new soft keystore protected by ``new_pin``."""
    check_new_pin(new_pin, confirmation, PinPolicy())
    plan = plan_restore(read_backup(data, password, limiter))
    _already_here(backend, plan)
    device, admin = backend.create_device(SOFT_LABEL_PREFIX + plan.username, new_pin, confirmation)
    try:
        with device.open() as session:
            session.login(new_pin)
            for container in plan.containers:
                session.create_container(container.name)
                pairs = [(KeyUsage.SIGN, container.sign)]
                if container.encrypt is not None:
                    pairs.append((KeyUsage.ENCRYPT, container.encrypt))
                for usage, (key, _cert) in pairs:
                    session.import_key_pair(container.name, usage, key)
                for usage, (_key, cert) in reversed(pairs):  # the signing certificate last: it marks completion
                    if cert is not None:
                        session.write_certificate(container.name, usage, cert)
            added = sum(1 for name, key, cert, retired in plan.history if session.add_history(name, key, cert, retired))
    except BaseException:
        device.destroy()  # a restore that failed half-way leaves nothing behind
        raise
    return RestoreResult(device, [c.name for c in plan.containers], added, admin)


# -- telling the service ----------------------------------------------------------------------------


def report_backup(client: IssuingClient, entry: CertificateEntry, pin: str) -> None:
    """The service's audit log records the backup (certificate login first; nothing secret is sent)."""
    certificate_login(client, entry, pin)
    client.report_backup()


def escrow_restored(client: IssuingClient, entry: CertificateEntry, pin: str, admin_secret: str) -> None:
    """The restored keystore's new unblock secret goes to the service, so 证书解锁 works for it."""
    certificate_login(client, entry, pin)
    client.escrow_admin_credential(admin_secret)


def escrow_again(client: IssuingClient, entry: CertificateEntry, pin: str) -> None:
    """For a soft keystore whose unblock secret never reached the service (restored offline): a new unblock
    secret replaces the old one and is escrowed, so 证书解锁 works for it. The service is asked first (the
    certificate login); a failure after the rotation leaves it no worse than before: unescrowed."""
    if not isinstance(entry.device, SoftDevice):
        raise NotSupported("为USB Key托管解锁凭据（USB Key的管理员PIN由其发行方管理）")
    certificate_login(client, entry, pin)
    with entry.device.open() as session:
        session.login(pin)
        admin_secret = session.rotate_admin_credential()
    client.escrow_admin_credential(admin_secret)
