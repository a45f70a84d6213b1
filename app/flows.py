"""证书助手's procedures (seed 002, sections 3-9) as plain Python.

The tray runs them on worker threads (one queue per device) and turns their typed errors into dialogs;
tests call them directly. Nothing is left half-written: a new key pair goes into a new container, the
old one is removed only after the new certificates are in (on a soft keystore its encryption key pair is
kept as history, so files encrypted to it still open), and a container whose key has no
certificate yet (the network dropped, the program was killed) is resumed on retry — the service
answers a repeated request for the same key with the same certificates.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from app import escrow
from app.api_client import ApiError, IssuingClient, ServiceUnavailable
from app.contract import IssuedPair, Revoked, SessionInfo, UnlockTicket
from app.entries import SOFT_LABEL_PREFIX, CertificateEntry
from app.escrow import AdminJournal, Escrow
from drivers.base import Device, EnvelopedKeySession, KeyDevice, KeySession, check_new_pin
from drivers.errors import DriverError, KeyMismatch, KeystoreCorrupted, NotSupported, PinIncorrect, PinLocked
from drivers.model import Capability, DeviceKind, KeyUsage, PinPolicy
from drivers.soft import SoftBackend, SoftDevice
from drivers.soft.session import SoftSession
from gm.challenge import ChallengePurpose, InvalidNonce, LoginChallenge
from gm.sm2 import SM2PublicKey
from gm.x509 import Certificate, build_csr

log = logging.getLogger(__name__)

Progress = Callable[[str], None]
IssueCall = Callable[[bytes, Optional[str], Optional[str]], IssuedPair]  # CSR, admin_credential, admin_credential_of
UNLOCK_CODE_USED = "unlock_code_invalid"


def _quiet(_message: str) -> None:
    pass


def _new_container_name(username: str) -> str:
    """Unique per attempt (date for people reading a token's container list, random for uniqueness)."""
    return f"{username}-{time.strftime('%Y%m%d')}-{secrets.token_hex(3)}"


def _pending_container(session: KeySession, username: str) -> Optional[str]:
    """A container of this user whose signing key has no certificate yet (an interrupted attempt)."""
    for info in session.containers():
        if info.name.startswith(f"{username}-") and info.has_sign_key and not info.has_sign_certificate:
            return info.name
    return None


# Pairs the service answered that are not on their device yet, by signing public key (DER). A retry after the key
# was pulled out mid-write installs the same pair without asking again: after 证书更新 or 证书换发 the replaced
# certificate's sessions are gone (the service ends them with it), so the service could not be asked.
_received: Dict[bytes, IssuedPair] = {}


def _request(session: KeySession, container: str, username: str, call: Callable[[bytes], IssuedPair]) -> IssuedPair:
    """CSR signed on the device for the container's signing key, sent with ``call``; checks the answer. A pair
    received earlier for this key in this process and not installed yet is used instead."""
    public_der = session.public_key_der(container, KeyUsage.SIGN)
    received = _received.get(public_der)
    if received is not None:
        log.info("installing the pair the service sent before the device was interrupted")
        return received
    public = SM2PublicKey.from_der(public_der)
    request = build_csr({"common_name": username}, public, signer=lambda tbs: session.sign(container, tbs))
    pair = call(request.to_der())
    if pair.sign.public_key != public or pair.envelope.public_key != pair.encryption.public_key:
        raise KeyMismatch("证书服务返回的证书与本设备的密钥不匹配，已放弃写入；请重试或联系管理员", "pair_mismatch")
    _received[public_der] = pair
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


SM2_NEEDS = (Capability.SM2_KEYGEN, Capability.SM2_SIGN, Capability.SM2_IMPORT_ENVELOPED)


def missing_sm2(device: Device) -> List[Capability]:
    """What a device lacks for the SM2 dual-certificate life cycle (empty: it can hold an issued pair)."""
    missing = [c for c in SM2_NEEDS if not device.info.supports(c)]
    return missing or ([] if isinstance(device, KeyDevice) else [SM2_NEEDS[0]])


def _require_sm2(device: Device) -> KeyDevice:
    missing = missing_sm2(device)
    if missing or not isinstance(device, KeyDevice):
        raise NotSupported(f"SM2 双证书（{missing[0].value}）；请使用支持国密SM2的USB Key或软证书")
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
                return device, _finish(call, session, username, _fresh(admin), progress)
    device, admin = backend.create_device(label, pin, confirmation)
    with device.open() as session:
        session.login(pin)
        return device, _finish(call, session, username, _fresh(admin), progress)


def _fresh(admin: str) -> Callable[[], Escrow]:
    """A soft keystore's admin secret, made by the keystore (it needs no current one: never lost in a crash)."""
    return lambda: Escrow(credential=admin)


def issue_hard(
    client: IssuingClient,
    device: Device,
    username: str,
    pin: str,
    progress: Progress = _quiet,
    exchange: bool = False,
    journal: Optional[AdminJournal] = None,
) -> IssuedPair:
    """硬证书签发: the key's existing PIN; the signing key is generated on the key, a fresh admin PIN is installed
    and escrowed with the new pair (app.escrow)."""
    with _require_sm2(device).open() as session:
        session.login(pin)
        admin = _hard_escrow(session, journal)
        return _finish(client.exchange if exchange else client.issue, session, username, admin, progress)


def _hard_escrow(
    session: KeySession, journal: Optional[AdminJournal], replaces: Optional[str] = None
) -> Callable[[], Escrow]:
    return lambda: escrow.for_issuance(session, journal or AdminJournal(), replaces)


def _finish(
    call: IssueCall,
    session: KeySession,
    username: str,
    admin: Callable[[], Escrow],
    progress: Progress,
    replaces: Optional[str] = None,
) -> IssuedPair:
    """The signing key (a new one, or the one of an interrupted attempt), the admin credential, the request, and the
    certificates written; the container replaced goes last."""
    container = _prepare_key(session, username, progress)
    plan = admin()
    progress("证书助手正在签发证书，请耐心等待")
    pair = _request(session, container, username, lambda csr: call(csr, plan.credential, plan.keep_of))
    plan.confirm(f"{pair.sign.serial_number:X}", pair.admin_escrowed)
    progress("正在写入证书")
    _install(session, container, pair)
    for public_der in [key for key, value in _received.items() if value is pair]:
        del _received[public_der]
    if replaces is not None and replaces != container:
        try:
            _retire(session, replaces)  # only now: the new certificates are in
        except DriverError as exc:
            raise ContainerNotRemoved(pair, replaces, exc) from exc
    return pair


class ContainerNotRemoved(DriverError):
    """The service's part is done (a new pair installed, or the old one revoked) but the device could not remove
    ``container`` (e.g. the key was pulled out). ``remove_container`` finishes the job; the service is not asked
    again. ``result`` is what the whole operation returns."""

    def __init__(self, result: Any, container: str, cause: DriverError) -> None:
        super().__init__(f"done at the service; {container!r} is still on the device: {cause}", cause.raw_code)
        self.result = result
        self.container = container
        self.cause = cause


def remove_container(device: Device, container: str, pin: str) -> None:
    """The second half of an interrupted 证书更新 / 证书换发 / 证书废除: the old container leaves the device."""
    if not isinstance(device, KeyDevice):
        raise NotSupported("containers")
    with device.open() as session:
        session.login(pin)
        if any(info.name == container for info in session.containers()):
            session.delete_container(container)
        empty = not session.containers()
    if empty and isinstance(device, SoftDevice):
        device.destroy()


def _retire(session: KeySession, container: str) -> None:
    """Remove the replaced container; a soft keystore keeps its encryption key pair as history. A USB key
    has no way to keep a key outside a container (GM/T 0016 has no rename), so there the earlier key is
    recovered from the KMC when needed (``recover_earlier_keys`` into a soft keystore's history)."""
    if isinstance(session, SoftSession):
        session.retire_container(container)
    else:
        session.delete_container(container)


# -- 证书换发 / 证书更新 -------------------------------------------------------------------------


def exchange(
    client: IssuingClient,
    entry: CertificateEntry,
    username: str,
    pin: str,
    progress: Progress = _quiet,
    journal: Optional[AdminJournal] = None,
) -> IssuedPair:
    """证书换发 (account login): a new pair from the new CA in a new container; a hard key keeps its PIN."""
    return _replace(client.exchange, entry, username, pin, progress, journal)


def update(
    client: IssuingClient,
    entry: CertificateEntry,
    username: str,
    pin: str,
    progress: Progress = _quiet,
    journal: Optional[AdminJournal] = None,
) -> IssuedPair:
    """证书更新 (certificate login): renewal or approved name change; the old container goes last.

    The old certificate's login ends with it (the service ends its sessions); ``client`` is logged in again
    with the new certificate on the same device session (no second PIN prompt). If that login fails the
    update still stands: the caller finds the session gone and asks for a new login.
    """

    def sign_in_again(session: KeySession, pair: IssuedPair) -> None:
        try:
            sign_in(client, session, _container_of(session, pair.sign), pair.sign)
        except (ApiError, ServiceUnavailable, InvalidNonce) as exc:
            log.info("no login with the new certificate after 证书更新: %s", exc)
            client.token = None

    return _replace(client.update, entry, username, pin, progress, journal, then=sign_in_again)


def _container_of(session: KeySession, sign: Certificate) -> str:
    for info in session.containers():
        if info.has_sign_certificate and session.read_certificate(info.name, KeyUsage.SIGN) == sign:
            return info.name
    raise KeyMismatch("新证书未写入设备", "pair_mismatch")


def _replace(
    call: IssueCall,
    entry: CertificateEntry,
    username: str,
    pin: str,
    progress: Progress,
    journal: Optional[AdminJournal],
    then: Optional[Callable[[KeySession, IssuedPair], None]] = None,
) -> IssuedPair:
    """A hard key keeps its admin PIN's escrow (the pair replaced names it), or gets a fresh one installed.
    ``then`` runs with the pair on the same logged-in device session."""
    _require_sm2(entry.device)
    with entry.device.open() as session:
        session.login(pin)
        if isinstance(entry.device, SoftDevice):
            admin = _fresh(session.rotate_admin_credential())
        else:
            admin = _hard_escrow(session, journal, replaces=entry.serial)
        pair = _finish(call, session, username, admin, progress, replaces=entry.container)
        if then is not None:
            then(session, pair)
        return pair


# -- 证书登录 / 证书废除 / 证书解锁 / 修改PIN码 ---------------------------------------------------------


def certificate_login(
    client: IssuingClient, entry: CertificateEntry, pin: str, journal: Optional[AdminJournal] = None
) -> SessionInfo:
    """Sign a labelled login challenge (purpose, this client's service origin, the service's 32-byte nonce)
    with the certificate's key on its device: never bytes the service chose (gm.challenge). On a USB key, an
    admin PIN that an earlier attempt installed and could not escrow is escrowed now (the session this login
    opens allows it)."""
    client.origin  # noqa: B018 - an insecure service URL is refused before the PIN is used
    with entry.device.open() as session:
        session.login(pin)
        info = sign_in(client, session, entry.container, entry.sign)
    if entry.device.info.kind is DeviceKind.HARD:
        escrow_pending(client, entry, journal or AdminJournal())
    return info


def sign_in(client: IssuingClient, session: KeySession, container: str, sign: Certificate) -> SessionInfo:
    """证书登录 with the signing key of ``container`` on a logged-in device session."""
    challenge = client.challenge(ChallengePurpose.TRAY_LOGIN)
    signed = LoginChallenge(ChallengePurpose.TRAY_LOGIN, client.origin, challenge.nonce).to_be_signed()
    signature = session.sign(container, signed)
    return client.login_certificate(challenge.nonce_id, sign.to_der(), signature)


def escrow_pending(client: IssuingClient, entry: CertificateEntry, journal: AdminJournal) -> bool:
    """Escrow the key's admin PIN this computer installed and the service has not confirmed yet (the client is logged
    in with ``entry``'s certificate). False when it must wait for a later login; nothing is lost meanwhile."""
    key = escrow.device_key(entry.device.info)
    if journal.get(key).pending is None:
        return True
    try:
        with entry.device.open() as session:
            pending = escrow.settle(session, journal, key)
        if pending is not None:
            client.escrow_admin_credential(pending)
            Escrow(journal=journal, key=key).confirm(entry.serial, True)
    except (DriverError, ApiError, ServiceUnavailable) as exc:
        log.info("the new admin PIN of a USB key is escrowed at a later login: %s", type(exc).__name__)
        return False
    return True


def revoke(client: IssuingClient, entry: CertificateEntry, pin: str) -> Revoked:
    """证书废除: revoke at the service first, then remove the container (and an emptied soft keystore)."""
    with entry.device.open() as session:
        session.login(pin)  # the PIN is checked before anything irreversible happens
        result = client.revoke()
        try:
            session.delete_container(entry.container)
        except DriverError as exc:
            raise ContainerNotRemoved(result, entry.container, exc) from exc
        empty = not session.containers()
    if empty and isinstance(entry.device, SoftDevice):
        entry.device.destroy()
    return result


def recover_earlier_keys(client: IssuingClient, entry: CertificateEntry, pin: str) -> int:
    """找回历史加密密钥 (certificate login): the KMC's earlier encryption keys of this holder, enveloped to this
    certificate's signing key, opened on the device and kept in the soft keystore's history. Returns how many
    were new here."""
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


@dataclass(frozen=True)
class Unlocked:
    """证书解锁 done; ``escrowed`` False: a USB key's new admin PIN waits for the next 证书登录 to be escrowed."""

    escrowed: bool = True


def unlock_complete(
    client: IssuingClient,
    entry: CertificateEntry,
    unlock_id: str,
    code: str,
    new_pin: str,
    confirmation: str,
    journal: Optional[AdminJournal] = None,
) -> Unlocked:
    """证书解锁 step 2: the code releases this container's admin credential; the device sets the new PIN. A USB key
    then gets a fresh admin PIN, escrowed by a certificate login with the new PIN (app.escrow)."""
    check_new_pin(new_pin, confirmation, entry.device.info.pin_policy)
    if isinstance(entry.device, SoftDevice):
        admin = client.unlock_complete(unlock_id, entry.sign.to_der(), code.strip())
        with entry.device.open() as session:
            session.unblock_pin(admin, new_pin)
        return Unlocked()
    journal = journal or AdminJournal()
    try:
        released = client.unlock_complete(unlock_id, entry.sign.to_der(), code.strip())
    except ApiError as exc:  # the code was used by an attempt the pulled-out key interrupted: resume that one
        earlier = escrow.released_before(journal, entry.device.info)
        if exc.code != UNLOCK_CODE_USED or earlier is None:
            raise
        released = earlier
    with entry.device.open() as session:
        admin = escrow.admin_for_unblock(session, journal, released)
        try:
            session.unblock_pin(admin, new_pin)
        except (PinIncorrect, PinLocked) as exc:
            if exc.admin:  # the key refused it: keep no copy of a value that will never work
                escrow.forget_released(journal, entry.device.info)
            raise
        try:
            escrow.after_unblock(session, journal, admin)
        except DriverError as exc:  # unlocked all the same; the journal finishes the change at the next login
            log.info("the admin PIN is replaced at the next login: %s", type(exc).__name__)
            return Unlocked(escrowed=False)
    try:
        certificate_login(client, entry, new_pin, journal)
    except (DriverError, ApiError, ServiceUnavailable) as exc:
        log.info("the new admin PIN is escrowed at the next login: %s", type(exc).__name__)
        return Unlocked(escrowed=False)
    escrowed = journal.get(escrow.device_key(entry.device.info)).pending is None
    with contextlib.suppress(ApiError, ServiceUnavailable):
        client.logout()  # the unlock's own session, opened only to escrow
    return Unlocked(escrowed)


def change_pin(entry: CertificateEntry, old_pin: str, new_pin: str, confirmation: str) -> None:
    """修改PIN码: old / new / confirm."""
    change_device_pin(entry.device, old_pin, new_pin, confirmation)


def change_device_pin(device: Device, old_pin: str, new_pin: str, confirmation: str) -> None:
    """修改PIN码 of any device with a PIN (also a USB key or card that holds no certificate)."""
    check_new_pin(new_pin, confirmation, device.info.pin_policy)
    with device.open() as session:
        session.change_pin(old_pin, new_pin)
