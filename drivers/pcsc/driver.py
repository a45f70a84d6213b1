"""PC/SC backend: readers, card presence and ATR, profile matching, ISO 7816 PIN status and management.

Cards are opened in shared mode, so other middleware keeps working. Keys on a USB key are used through
its PKCS#11 module (see the matching profile); over plain PC/SC this backend manages the PIN only, so
its sessions are ``PinSession``s (no containers, keys or certificates).
"""

from __future__ import annotations

import contextlib
import secrets
import string
from dataclasses import dataclass
from typing import Any, List, Optional, Tuple, Type

from drivers.base import Backend, BackendStatus, Device, PinSession, check_new_pin, check_pin_format, serialized
from drivers.errors import DeviceRemoved, DriverError, NotSupported, PinLengthInvalid
from drivers.model import Capability, DeviceInfo, DeviceKind, PinInfo, PinPolicy
from drivers.pcsc.errors import map_status, service_unavailable
from drivers.profiles import Iso7816Pin, ProfileSet, TokenProfile

SW_OK = 0x9000
INS_SELECT, INS_VERIFY, INS_CHANGE, INS_RESET_RETRY = 0xA4, 0x20, 0x24, 0x2C


@dataclass(frozen=True)
class ReaderState:
    name: str
    card_present: bool
    atr: bytes


def _pcsc_modules() -> Tuple[Any, Any]:
    from smartcard import Exceptions, System

    return System, Exceptions


def _service_errors() -> Tuple[Type[BaseException], ...]:
    """What pyscard raises when the PC/SC service is missing or stopped (SCARD_E_NO_SERVICE …)."""
    from smartcard.Exceptions import ListReadersException
    from smartcard.pcsc.PCSCExceptions import BaseSCardException

    return (BaseSCardException, ListReadersException)


def list_readers() -> List[ReaderState]:
    """Every reader, whether a card is in it and its ATR, as the PC/SC service sees them.

    Asks SCardGetStatusChange (no connection, so no card is powered up or disturbed).
    Raises DriverUnavailable if the service is not running.
    """
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hresult != scard.SCARD_S_SUCCESS:
        raise service_unavailable(scard.SCardGetErrorMessage(hresult))
    try:
        hresult, names = scard.SCardListReaders(context, [])
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE or (hresult == scard.SCARD_S_SUCCESS and not names):
            return []
        if hresult != scard.SCARD_S_SUCCESS:
            raise service_unavailable(scard.SCardGetErrorMessage(hresult))
        hresult, states = scard.SCardGetStatusChange(context, 0, [(n, scard.SCARD_STATE_UNAWARE) for n in names])
        if hresult not in (scard.SCARD_S_SUCCESS, scard.SCARD_E_TIMEOUT):
            raise service_unavailable(scard.SCardGetErrorMessage(hresult))
        result = []
        for name, event_state, atr in states:
            present = bool(event_state & scard.SCARD_STATE_PRESENT) and not event_state & scard.SCARD_STATE_MUTE
            result.append(ReaderState(str(name), present, bytes(atr) if present else b""))
        return result
    finally:
        scard.SCardReleaseContext(context)


def _shared_mode() -> int:
    from smartcard.scard import SCARD_SHARE_SHARED

    return int(SCARD_SHARE_SHARED)


def _quiet_disconnect(connection: Any) -> None:
    with contextlib.suppress(Exception):  # a card that is already gone cannot be disconnected twice
        connection.disconnect()


class PcscBackend(Backend):
    name = "pcsc"

    def __init__(self, profiles: Optional[ProfileSet] = None) -> None:
        self.profiles = profiles or ProfileSet.load()

    def devices(self) -> List[Device]:
        return [PcscDevice(state, self.profiles.for_atr(state.atr)) for state in list_readers() if state.card_present]

    def status(self) -> BackendStatus:
        try:
            states = list_readers()
        except DriverError as exc:
            return BackendStatus(self.name, False, str(exc))
        if not states:
            return BackendStatus(self.name, True, "service running, no reader connected")
        parts = []
        for state in states:
            if state.card_present:
                profile = self.profiles.for_atr(state.atr)
                parts.append(
                    f"{state.name}: card ATR {state.atr.hex(' ').upper()} -> {profile.id if profile else 'no profile'}"
                )
            else:
                parts.append(f"{state.name}: empty")
        return BackendStatus(self.name, True, "; ".join(parts))


class PcscDevice(Device):
    def __init__(self, state: ReaderState, profile: Optional[TokenProfile]) -> None:
        iso = profile.iso7816 if profile else None
        caps = set()
        if iso is not None:
            caps |= {Capability.PIN_RETRY_INFO, Capability.PIN_CHANGE}
            if iso.puk_ref is not None:
                caps |= {Capability.PIN_UNBLOCK, Capability.ADMIN_ROTATE}
        super().__init__(
            DeviceInfo(
                backend="pcsc",
                device_id=f"pcsc:{state.name}",
                kind=DeviceKind.HARD,
                label=profile.vendor if profile else "Smart card",
                serial=state.atr.hex().upper(),
                manufacturer=profile.vendor if profile else "unknown (no profile matches this ATR)",
                model=state.name,
                capabilities=frozenset(caps),
                pin_policy=profile.pin_policy if profile and profile.pin_policy else PinPolicy(),
                detail=f"reader {state.name}; ATR {state.atr.hex(' ').upper()}"
                + (f"; profile {profile.id}" if profile else ""),
            )
        )
        self.reader_name = state.name
        self.atr = state.atr
        self.profile = profile

    def open(self) -> PcscSession:
        return PcscSession(self)


class PcscSession(PinSession):
    """PIN management through ISO 7816-4 commands; the card's keys go through its PKCS#11 module."""

    device: PcscDevice

    def __init__(self, device: PcscDevice) -> None:
        super().__init__(device)
        self._connection: Any = None
        self._verified = False
        with device.op_lock:
            self._connect()

    # -- plumbing --------------------------------------------------------------------------
    @property
    def _iso(self) -> Iso7816Pin:
        iso = self.device.profile.iso7816 if self.device.profile else None
        if iso is None:
            raise NotSupported("PIN management over PC/SC (no profile describes this card's PIN applet)")
        return iso

    def _connect(self) -> None:
        system, exceptions = _pcsc_modules()
        try:
            reader = next((r for r in system.readers() if str(r) == self.device.reader_name), None)
        except _service_errors() as exc:
            raise service_unavailable(str(exc)) from exc
        if reader is None:
            raise DeviceRemoved("reader_gone")
        connection = reader.createConnection()
        try:
            connection.connect(mode=_shared_mode())
        except (exceptions.NoCardException, exceptions.CardConnectionException) as exc:
            raise DeviceRemoved("no_card") from exc
        if bytes(connection.getATR()) != self.device.atr:
            _quiet_disconnect(connection)
            raise DeviceRemoved("another_card")
        self._connection = connection

    def _transmit(self, apdu: bytes) -> Tuple[bytes, int]:
        _system, exceptions = _pcsc_modules()
        if self._connection is None:
            raise DeviceRemoved("closed")
        try:
            data, sw1, sw2 = self._connection.transmit(list(apdu))
        except exceptions.CardConnectionException as exc:
            # Release the dead handle at once: a client that keeps it blocks the reader for everyone.
            self._verified = False
            _quiet_disconnect(self._connection)
            self._connection = None
            raise DeviceRemoved(f"transmit: {type(exc).__name__}") from exc
        return bytes(data), (sw1 << 8) | sw2

    def _select(self) -> None:
        aid = self._iso.aid
        if not aid:
            return
        _data, sw = self._transmit(bytes([0x00, INS_SELECT, 0x04, 0x00, len(aid)]) + aid)
        if sw != SW_OK:
            raise map_status(sw, False, self.policy)

    def _command(self, ins: int, p2: int, data: bytes, admin: bool = False) -> int:
        self._select()
        apdu = bytes([0x00, ins, 0x00, p2]) + (bytes([len(data)]) + data if data else b"")
        _resp, sw = self._transmit(apdu)
        if sw != SW_OK and not (ins == INS_VERIFY and not data):
            raise map_status(sw, admin, self.policy)
        return sw

    def _encode(self, pin: str) -> bytes:
        try:
            return self._iso.encode(pin)
        except ValueError:
            raise PinLengthInvalid(self.policy.min_length, min(self.policy.max_length, self._iso.pad_length)) from None

    # -- lifecycle and PINs ----------------------------------------------------------------
    @serialized
    def close(self) -> None:
        if self._connection is not None:
            _quiet_disconnect(self._connection)
            self._connection = None
        self._verified = False

    @property
    def logged_in(self) -> bool:
        return self._verified

    @serialized
    def pin_info(self, admin: bool = False) -> PinInfo:
        iso = self._iso
        ref = iso.puk_ref if admin else iso.pin_ref
        if ref is None:
            raise NotSupported("an unblock code on this card")
        sw = self._command(INS_VERIFY, ref, b"", admin)
        if sw == SW_OK:
            remaining: Optional[int] = iso.max_retries
        elif 0x63C0 <= sw <= 0x63CF:
            remaining = sw & 0x0F
        elif sw in (0x6983, 0x6984):
            remaining = 0
        else:
            raise map_status(sw, admin, self.policy)
        locked = remaining == 0
        return PinInfo(iso.max_retries, remaining, locked, low=remaining is not None and 0 < remaining <= 3)

    @serialized
    def login(self, pin: str) -> None:
        check_pin_format(pin, self.policy)
        self._verified = False
        self._command(INS_VERIFY, self._iso.pin_ref, self._encode(pin))
        self._verified = True

    @serialized
    def logout(self) -> None:
        self._verified = False
        self.close()
        self._connect()

    @serialized
    def change_pin(self, old_pin: str, new_pin: str) -> None:
        check_pin_format(old_pin, self.policy)
        check_new_pin(new_pin, None, self.policy)
        self._command(INS_CHANGE, self._iso.pin_ref, self._encode(old_pin) + self._encode(new_pin))

    @serialized
    def unblock_pin(self, admin_credential: str, new_pin: str) -> None:
        check_new_pin(new_pin, None, self.policy)
        if self._iso.puk_ref is None:
            raise NotSupported("unblocking the PIN of this card")
        self._command(INS_RESET_RETRY, self._iso.pin_ref, self._encode(admin_credential) + self._encode(new_pin), True)

    @serialized
    def rotate_admin_credential(self, current: Optional[str] = None, new: Optional[str] = None) -> str:
        puk_ref = self._iso.puk_ref
        if puk_ref is None or not current:
            raise (
                NotSupported("replacing the unblock code of this card")
                if puk_ref is None
                else ValueError("the current unblock code is needed to replace it")
            )
        new = new or self.new_admin_credential()
        self._command(INS_CHANGE, puk_ref, self._encode(current) + self._encode(new), True)
        return new

    def new_admin_credential(self) -> str:
        """Digits (an unblock code, PUK), as long as the card's PIN field and bounds allow, at most 16."""
        length = min(self._iso.pad_length, self.policy.max_length)
        return "".join(secrets.choice(string.digits) for _ in range(max(self.policy.min_length, min(16, length))))
