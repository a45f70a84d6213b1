"""证书助手's procedures (seed 002, sections 3-9) as plain Python.

The tray runs them on worker threads (one queue per device) and turns their typed errors into dialogs;
tests call them directly. Nothing is left half-written: a new key pair goes into a new container, the
old one is removed only after the new certificates are in (on a soft keystore its encryption key pair is
kept as history, so files encrypted to it still open), and a container whose key has no
certificate yet (the network dropped, the program was killed) is resumed on retry — the service
answers a repeated request for the same key with the same certificates.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Tuple

from app.api_client import IssuingClient
from app.contract import CertificateUsage, IssuedPair, Revoked, SessionInfo, UnlockTicket
from drivers.base import Device, EnvelopedKeySession, KeyDevice, KeySession, check_new_pin
from drivers.errors import DriverError, KeyMismatch, KeystoreCorrupted, NotSupported, PinIncorrect, PinLocked
from drivers.model import Capability, KeyUsage, PinPolicy
from drivers.soft import SoftBackend, SoftDevice
from gm.sm2 import SM2PublicKey
from gm.x509 import Certificate, build_csr

Progress = Callable[[str], None]
SOFT_LABEL_PREFIX = "软证书 "  # a soft keystore's label: this prefix and the account's user name


def soft_label_name(label: str) -> str:
    """The user name in a soft keystore's label (the label itself for other labels)."""
    return label[len(SOFT_LABEL_PREFIX) :] if label.startswith(SOFT_LABEL_PREFIX) else label


def _quiet(_message: str) -> None:
    pass


@dataclass(frozen=True)
class CertificateEntry:
    """One line of the certificate list (证书登录 / 证书列表): a container holding a signing certificate."""

    device: KeyDevice
    container: str
    sign: Certificate
    encryption: Optional[Certificate]

    @property
    def subject(self) -> str:  # 证书使用者
        return self.sign.common_name or self.sign.subject_text

    @property
    def issuer(self) -> str:  # 颁发者
        return self.sign.issuer_text

    @property
    def not_after(self) -> str:  # 截止日期
        return f"{self.sign.not_after:%Y-%m-%d}"

    @property
    def days_left(self) -> int:
        return self.sign.days_left()

    @property
    def serial(self) -> str:  # as the service writes it: hex, upper case
        return f"{self.sign.serial_number:X}"

    def certificate(self, usage: CertificateUsage) -> Optional[Certificate]:
        return self.sign if usage is CertificateUsage.SIGN else self.encryption


def list_certificates(devices: List[Device]) -> Tuple[List[CertificateEntry], List[Tuple[Device, DriverError]]]:
    """Every signing certificate on every device, and the devices that could not be read (with why)."""
    entries: List[CertificateEntry] = []
    problems: List[Tuple[Device, DriverError]] = []
    for device in devices:
        if not isinstance(device, KeyDevice):  # e.g. a PC/SC card whose PIN alone we manage
            continue
        try:
            with device.open() as session:
                for info in session.containers():
                    if not info.has_sign_certificate:
                        continue
                    sign = session.read_certificate(info.name, KeyUsage.SIGN)
                    if sign is None:
                        continue
                    encryption = session.read_certificate(info.name, KeyUsage.ENCRYPT)
                    entries.append(CertificateEntry(device, info.name, sign, encryption))
        except DriverError as exc:
            problems.append((device, exc))
    entries.sort(key=lambda e: e.sign.not_after, reverse=True)
    return entries, problems


def _new_container_name(username: str) -> str:
    """Unique per attempt (date for people reading a token's container list, random for uniqueness)."""
    return f"{username}-{time.strftime('%Y%m%d')}-{secrets.token_hex(3)}"


def _pending_container(session: KeySession, username: str) -> Optional[str]:
    """A container of this user whose signing key has no certificate yet (an interrupted attempt)."""
    for info in session.containers():
        if info.name.startswith(f"{username}-") and info.has_sign_key and not info.has_sign_certificate:
            return info.name
    return None


def _request(session: KeySession, container: str, username: str, call: Callable[[bytes], IssuedPair]) -> IssuedPair:
    """CSR signed on the device for the container's signing key, sent with ``call``; checks the answer."""
    public = SM2PublicKey.from_der(session.public_key_der(container, KeyUsage.SIGN))
    request = build_csr({"common_name": username}, public, signer=lambda tbs: session.sign(container, tbs))
    pair = call(request.to_der())
    if pair.sign.public_key != public or pair.envelope.public_key != pair.encryption.public_key:
        raise KeyMismatch("证书服务返回的证书与本设备的密钥不匹配，已放弃写入；请重试或联系管理员", "pair_mismatch")
    return pair


def _install(session: KeySession, container: str, pair: IssuedPair) -> None:
    """Encryption key and certificate first, signing certificate last: its presence marks completion."""
    if not isinstance(session, EnvelopedKeySession):
        raise NotSupported("导入加密密钥（SM2 双证书）；请使用支持国密SM2的USB Key或软证书")
    session.import_enveloped_key(container, pair.envelope)
    session.write_certificate(container, KeyUsage.ENCRYPT, pair.encryption)
    session.write_certificate(container, KeyUsage.SIGN, pair.sign)


def _prepare_key(session: KeySession, username: str, progress: Progress) -> str:
    pending = _pending_container(session, username)
    if pending is not None:
        progress("继续上次未完成的申请")
        return pending
    container = _new_container_name(username)
    session.create_container(container)
    progress("正在生成签名密钥")
    session.generate_key(container)
    return container


def _require_sm2(device: Device) -> KeyDevice:
    needed = (Capability.SM2_KEYGEN, Capability.SM2_SIGN, Capability.SM2_IMPORT_ENVELOPED)
    missing = [c for c in needed if not device.info.supports(c)]
    if missing or not isinstance(device, KeyDevice):
        capability = missing[0] if missing else needed[0]
        raise NotSupported(f"SM2 双证书（{capability.value}）；请使用支持国密SM2的USB Key或软证书")
    return device


# -- 证书签发 -----------------------------------------------------------------------------------


def issue_soft(
    client: IssuingClient,
    backend: SoftBackend,
    username: str,
    pin: str,
    confirmation: str,
    progress: Progress = _quiet,
    exchange: bool = False,
) -> Tuple[SoftDevice, IssuedPair]:
    """软证书签发: a new soft keystore protected by a new PIN (6-20, entered twice).

    With ``exchange`` it is 证书换发 for an account whose old certificate is not on this computer.
    """
    check_new_pin(pin, confirmation, PinPolicy())
    call = client.exchange if exchange else client.issue
    label = SOFT_LABEL_PREFIX + username
    for device in backend.devices():  # an interrupted attempt of this user that this PIN opens
        if isinstance(device, SoftDevice) and device.info.label == label:
            with device.open() as session:
                try:
                    if _pending_container(session, username) is None:
                        continue
                    session.login(pin)
                except (PinIncorrect, PinLocked, KeystoreCorrupted):  # another attempt's, or unusable: start anew
                    continue
                admin = session.rotate_admin_credential()  # the first one was never escrowed
                return device, _finish(call, session, username, admin, progress)
    device, admin = backend.create_device(label, pin, confirmation)
    with device.open() as session:
        session.login(pin)
        return device, _finish(call, session, username, admin, progress)


def issue_hard(
    client: IssuingClient,
    device: Device,
    username: str,
    pin: str,
    progress: Progress = _quiet,
    exchange: bool = False,
) -> IssuedPair:
    """硬证书签发: the key's existing PIN; the signing key is generated on the key."""
    with _require_sm2(device).open() as session:
        session.login(pin)
        return _finish(client.exchange if exchange else client.issue, session, username, None, progress)


def _finish(
    call: Callable[[bytes, Optional[str]], IssuedPair],
    session: KeySession,
    username: str,
    admin: Optional[str],
    progress: Progress,
    replaces: Optional[str] = None,
) -> IssuedPair:
    container = _prepare_key(session, username, progress)
    progress("证书助手正在签发证书，请耐心等待")
    pair = _request(session, container, username, lambda csr: call(csr, admin))
    progress("正在写入证书")
    _install(session, container, pair)
    if replaces is not None and replaces != container:
        _retire(session, replaces)  # only now: the new certificates are in
    return pair


def _retire(session: KeySession, container: str) -> None:
    """Remove the replaced container; a soft keystore keeps its encryption key pair as history. A USB key
    has no way to keep a key outside a container (GM/T 0016 has no rename), so there the earlier key is
    recovered from the KMC when needed (``recover_earlier_keys`` into a soft keystore's history)."""
    from drivers.soft.session import SoftSession

    if isinstance(session, SoftSession):
        session.retire_container(container)
    else:
        session.delete_container(container)


# -- 证书换发 / 证书更新 -------------------------------------------------------------------------


def exchange(
    client: IssuingClient, entry: CertificateEntry, username: str, pin: str, progress: Progress = _quiet
) -> IssuedPair:
    """证书换发 (account login): a new pair from the new CA in a new container; a hard key keeps its PIN."""
    return _replace(client.exchange, entry, username, pin, progress)


def update(
    client: IssuingClient, entry: CertificateEntry, username: str, pin: str, progress: Progress = _quiet
) -> IssuedPair:
    """证书更新 (certificate login): renewal or approved name change; the old container goes last."""
    return _replace(client.update, entry, username, pin, progress)


def _replace(
    call: Callable[[bytes, Optional[str]], IssuedPair],
    entry: CertificateEntry,
    username: str,
    pin: str,
    progress: Progress,
) -> IssuedPair:
    _require_sm2(entry.device)
    with entry.device.open() as session:
        session.login(pin)
        admin = session.rotate_admin_credential() if isinstance(entry.device, SoftDevice) else None
        return _finish(call, session, username, admin, progress, replaces=entry.container)


# -- 证书登录 / 证书废除 / 证书解锁 / 修改PIN码 ---------------------------------------------------------


def certificate_login(client: IssuingClient, entry: CertificateEntry, pin: str) -> SessionInfo:
    """Sign the service's single-use nonce with the certificate's key on its device."""
    with entry.device.open() as session:
        session.login(pin)
        challenge = client.challenge()
        signature = session.sign(entry.container, challenge.nonce)
    return client.login_certificate(challenge.nonce_id, entry.sign.to_der(), signature)


def revoke(client: IssuingClient, entry: CertificateEntry, pin: str) -> Revoked:
    """证书废除: revoke at the service first, then remove the container (and an emptied soft keystore)."""
    with entry.device.open() as session:
        session.login(pin)  # the PIN is checked before anything irreversible happens
        result = client.revoke()
        session.delete_container(entry.container)
        empty = not session.containers()
    if empty and isinstance(entry.device, SoftDevice):
        entry.device.destroy()
    return result


def recover_earlier_keys(client: IssuingClient, entry: CertificateEntry, pin: str) -> int:
    """找回历史加密密钥 (certificate login): the KMC's earlier encryption keys of this holder, enveloped to this
    certificate's signing key, opened on the device and kept in the soft keystore's history. Returns how many
    were new here."""
    from drivers.soft.session import SoftSession

    with entry.device.open() as session:
        if not isinstance(session, SoftSession):
            raise NotSupported("在USB Key上保存历史加密密钥；请恢复到软证书")
        session.login(pin)
        added = 0
        for item in client.earlier_keys():
            label = f"kmc-{item.encryption.serial_number:X}"
            retired = int(item.encryption.not_after.timestamp())
            if session.import_enveloped_history(entry.container, label, item.envelope, item.encryption, retired):
                added += 1
        return added


def unlock_request(client: IssuingClient, entry: CertificateEntry) -> UnlockTicket:
    """证书解锁 step 1: the service mails a one-time unlock code to the registered email."""
    return client.unlock_request(entry.sign.to_der())


def unlock_complete(
    client: IssuingClient, entry: CertificateEntry, unlock_id: str, code: str, new_pin: str, confirmation: str
) -> None:
    """证书解锁 step 2: the code releases this container's admin credential; the device sets the new PIN."""
    check_new_pin(new_pin, confirmation, entry.device.info.pin_policy)
    admin = client.unlock_complete(unlock_id, entry.sign.to_der(), code.strip())
    with entry.device.open() as session:
        session.unblock_pin(admin, new_pin)


def change_pin(entry: CertificateEntry, old_pin: str, new_pin: str, confirmation: str) -> None:
    """修改PIN码: old / new / confirm."""
    check_new_pin(new_pin, confirmation, entry.device.info.pin_policy)
    with entry.device.open() as session:
        session.change_pin(old_pin, new_pin)
