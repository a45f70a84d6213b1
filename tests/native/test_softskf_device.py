"""The soft SKF library's own tests, part 1: first use, devices, PINs and their retry counters, persistence,
insertion and removal events. Raw C calls through ctypes: these pin the library's behaviour, not the driver's."""

from __future__ import annotations

import ctypes
import threading
import time
from ctypes import byref, create_string_buffer
from typing import Any

import pytest

from drivers.skf.api import ADMIN_TYPE, DEVINFO, HANDLE, ULONG, USER_TYPE, Sar
from tests.native.raw import OK, Raw
from tests.softskf import ADMIN_PIN, ADMIN_TRIES, FIRST_DEVICE, USER_PIN, USER_TRIES, SoftSkf, fresh_copy

pytestmark = pytest.mark.integration


@pytest.fixture()
def raw(softskf: SoftSkf) -> Raw:
    return Raw(str(softskf.library))


def reload(softskf: SoftSkf, tmp_path: Any) -> Raw:
    """Another copy of the library: what a new process sees (nothing kept in memory)."""
    return Raw(str(fresh_copy(softskf.library, tmp_path / "reload")))


def test_first_use_creates_one_blank_device_and_a_readme(softskf: SoftSkf, raw: Raw) -> None:
    assert not softskf.home.exists()
    assert raw.devices() == [FIRST_DEVICE]
    readme = (softskf.home / "README.txt").read_text()
    assert USER_PIN in readme and ADMIN_PIN in readme and "10 tries" in readme and "5 tries" in readme
    app = raw.app(raw.connect())
    assert raw.names("SKF_EnumApplication", raw.connect()) == ["SOFTSKF"]
    assert raw.pin_info(app) == (USER_TRIES, USER_TRIES, True)
    assert raw.pin_info(app, ADMIN_TYPE) == (ADMIN_TRIES, ADMIN_TRIES, True)
    softskf.remove()
    assert raw.devices() == []  # a removed device is not re-created: first use happened once


def test_enum_dev_two_call_pattern(softskf: SoftSkf, raw: Raw) -> None:
    raw.devices()
    softskf.insert("second")
    size = ULONG(0)
    assert raw("SKF_EnumDev", 1, None, byref(size)) == OK
    assert size.value == len(b"second\0softskf0\0\0")
    small = ULONG(size.value - 1)
    buffer = create_string_buffer(64)
    assert raw("SKF_EnumDev", 1, buffer, byref(small)) == Sar.SAR_BUFFER_TOO_SMALL
    assert small.value == size.value and buffer.raw[0] == 0  # nothing written
    assert raw.devices() == ["second", FIRST_DEVICE]
    assert raw("SKF_EnumDev", 1, buffer, None) == Sar.SAR_INVALIDPARAMERR
    softskf.remove()
    softskf.remove("second")
    empty = ULONG(0)
    assert raw("SKF_EnumDev", 1, None, byref(empty)) == OK and empty.value == 2  # "\0\0"


def test_dev_info_is_the_standard_294_byte_layout(raw: Raw) -> None:
    dev = raw.connect()
    buffer = create_string_buffer(b"\xaa" * 400, 400)
    assert raw("SKF_GetDevInfo", dev, buffer) == OK
    assert buffer.raw[294:400] == b"\xaa" * 106  # writes sizeof(DEVINFO) == 294 bytes, no more
    info = DEVINFO.from_buffer_copy(buffer.raw[: ctypes.sizeof(DEVINFO)])
    assert info.Manufacturer == b"CertAssist SoftSKF" and info.Label == b"SoftSKF"
    assert len(info.SerialNumber) == 16 and (info.Version.major, info.Version.minor) == (1, 0)
    assert (info.AlgAsymCap, info.AlgSymCap, info.AlgHashCap) == (0x00020500, 0x00000403, 0x00000001)
    assert raw("SKF_GetDevInfo", dev, None) == Sar.SAR_INVALIDPARAMERR
    assert raw("SKF_SetLabel", dev, b"x" * 32) == Sar.SAR_NAMELENERR
    assert raw("SKF_SetLabel", dev, "我的钥匙".encode()) == OK
    assert raw("SKF_GetDevInfo", dev, buffer) == OK
    assert DEVINFO.from_buffer_copy(buffer.raw[:294]).Label.decode() == "我的钥匙"


def test_wrong_pins_count_down_persist_and_lock(softskf: SoftSkf, raw: Raw, tmp_path: Any) -> None:
    app = raw.app(raw.connect())
    assert raw.verify(app, "87654321") == (Sar.SAR_PIN_INCORRECT, USER_TRIES - 1)
    other = reload(softskf, tmp_path)
    assert other.pin_info(other.app(other.connect()))[1] == USER_TRIES - 1
    assert raw.verify(app, USER_PIN) == (OK, USER_TRIES)  # success restores every try
    for left in range(USER_TRIES - 1, 0, -1):
        assert raw.verify(app, "00000000") == (Sar.SAR_PIN_INCORRECT, left)
    assert raw.verify(app, "00000000") == (Sar.SAR_PIN_LOCKED, 0)  # the try that locks it
    assert raw.verify(app, USER_PIN) == (Sar.SAR_PIN_LOCKED, 0)  # the right PIN no longer opens it
    assert raw.pin_info(app)[1] == 0
    assert raw("SKF_CreateContainer", app, b"c", byref(HANDLE())) == Sar.SAR_USER_NOT_LOGGED_IN


def test_the_try_is_written_before_the_pin_is_checked(softskf: SoftSkf, raw: Raw) -> None:
    app = raw.app(raw.connect())
    blocker = softskf.home / f".{FIRST_DEVICE}.tmp"
    blocker.mkdir()  # the state file can no longer be replaced (even as root)
    assert raw.verify(app, USER_PIN)[0] == Sar.SAR_WRITEFILEERR  # the right PIN is not accepted unrecorded
    blocker.rmdir()
    assert raw.pin_info(app)[1] == USER_TRIES
    assert raw.verify(app, USER_PIN) == (OK, USER_TRIES)


def test_pin_length_is_checked_before_a_try_is_spent(raw: Raw) -> None:
    app = raw.app(raw.connect())
    for pin in ("12345", "1" * 17, "1" * 5000):
        assert raw.verify(app, pin)[0] == Sar.SAR_PIN_LEN_RANGE
    assert raw("SKF_VerifyPIN", app, USER_TYPE, None, byref(ULONG())) == Sar.SAR_INVALIDPARAMERR
    assert raw("SKF_VerifyPIN", app, 7, USER_PIN.encode(), byref(ULONG())) == Sar.SAR_USER_TYPE_INVALID
    assert raw.pin_info(app)[1] == USER_TRIES


def test_unblock_with_the_admin_pin_and_admin_lock(raw: Raw) -> None:
    app = raw.app(raw.connect())
    for _ in range(USER_TRIES):
        raw.verify(app, "00000000")
    retries = ULONG(0)
    assert raw("SKF_UnblockPIN", app, b"wrongadmin", b"24681357", byref(retries)) == Sar.SAR_PIN_INCORRECT
    assert retries.value == ADMIN_TRIES - 1
    assert raw("SKF_UnblockPIN", app, ADMIN_PIN.encode(), b"2468", byref(retries)) == Sar.SAR_PIN_LEN_RANGE
    assert raw("SKF_UnblockPIN", app, ADMIN_PIN.encode(), b"24681357", byref(retries)) == OK
    assert raw.pin_info(app) == (USER_TRIES, USER_TRIES, False)
    assert raw.pin_info(app, ADMIN_TYPE)[1] == ADMIN_TRIES
    assert raw.verify(app, "24681357") == (OK, USER_TRIES)
    for left in range(ADMIN_TRIES - 1, 0, -1):
        assert raw("SKF_UnblockPIN", app, b"wrongadmin", b"13572468", byref(retries)) == Sar.SAR_PIN_INCORRECT
        assert retries.value == left
    assert raw("SKF_UnblockPIN", app, b"wrongadmin", b"13572468", byref(retries)) == Sar.SAR_PIN_LOCKED
    assert raw("SKF_UnblockPIN", app, ADMIN_PIN.encode(), b"13572468", byref(retries)) == Sar.SAR_PIN_LOCKED
    assert raw.verify(app, "24681357") == (OK, USER_TRIES)  # a locked admin PIN leaves the user PIN alone


def test_change_pin_user_and_admin(raw: Raw) -> None:
    app = raw.app(raw.connect())
    retries = ULONG(0)
    assert raw("SKF_ChangePIN", app, USER_TYPE, b"00000000", b"11223344", byref(retries)) == Sar.SAR_PIN_INCORRECT
    assert retries.value == USER_TRIES - 1
    assert raw("SKF_ChangePIN", app, USER_TYPE, USER_PIN.encode(), b"11223344", byref(retries)) == OK
    assert raw.pin_info(app) == (USER_TRIES, USER_TRIES, False)
    assert raw.verify(app, USER_PIN)[0] == Sar.SAR_PIN_INCORRECT
    assert raw.verify(app, "11223344")[0] == OK
    assert raw("SKF_ChangePIN", app, ADMIN_TYPE, ADMIN_PIN.encode(), b"NewAdmin42", byref(retries)) == OK
    assert raw.pin_info(app, ADMIN_TYPE) == (ADMIN_TRIES, ADMIN_TRIES, False)
    assert raw("SKF_UnblockPIN", app, ADMIN_PIN.encode(), b"55667788", byref(retries)) == Sar.SAR_PIN_INCORRECT
    assert raw("SKF_UnblockPIN", app, b"NewAdmin42", b"55667788", byref(retries)) == OK


def test_clear_secure_state_logs_out(raw: Raw) -> None:
    _dev, app = raw.logged_in_app()
    raw.container(app, "one")
    raw.ok("SKF_ClearSecureState", app)
    assert raw("SKF_CreateContainer", app, b"two", byref(HANDLE())) == Sar.SAR_USER_NOT_LOGGED_IN


def test_bad_handles_are_refused_not_crashed_on(raw: Raw) -> None:
    dev = raw.connect()
    app = raw.app(dev)
    for bogus in (None, 1, 0xDEADBEEF, 0x5C010000 + 5000):
        assert raw("SKF_GetDevInfo", bogus, create_string_buffer(400)) == Sar.SAR_INVALIDHANDLEERR
        assert raw("SKF_VerifyPIN", bogus, USER_TYPE, USER_PIN.encode(), byref(ULONG())) == Sar.SAR_INVALIDHANDLEERR
    assert raw("SKF_VerifyPIN", dev, USER_TYPE, USER_PIN.encode(), byref(ULONG())) == Sar.SAR_INVALIDHANDLEERR
    assert raw("SKF_GetDevInfo", app, create_string_buffer(400)) == Sar.SAR_INVALIDHANDLEERR
    raw.ok("SKF_DisConnectDev", dev)
    assert raw.verify(app, USER_PIN)[0] == Sar.SAR_INVALIDHANDLEERR  # closing the device closed its application
    assert raw("SKF_DisConnectDev", dev) == Sar.SAR_INVALIDHANDLEERR
    assert raw("SKF_ConnectDev", b"../etc/passwd", byref(HANDLE())) == Sar.SAR_INVALIDPARAMERR
    assert raw("SKF_ConnectDev", b"absent", byref(HANDLE())) == Sar.SAR_DEVICE_REMOVED
    assert raw("SKF_ConnectDev", b"x" * 100, byref(HANDLE())) == Sar.SAR_NAMELENERR


def test_removed_device_stays_removed_for_its_handles(softskf: SoftSkf, raw: Raw) -> None:
    _dev, app = raw.logged_in_app()
    path = softskf.device_file()
    saved = path.read_bytes()
    path.unlink()
    assert raw("SKF_CreateContainer", app, b"c", byref(HANDLE())) == Sar.SAR_DEVICE_REMOVED
    assert not path.exists()  # a write never resurrects a removed device
    softskf.insert(FIRST_DEVICE)  # another (blank) key under the same name
    assert raw.verify(app, USER_PIN)[0] == Sar.SAR_DEVICE_REMOVED
    path.write_bytes(saved)  # the same key again: a new connection works
    raw.logged_in_app()


def test_corrupt_and_empty_state_files(softskf: SoftSkf, raw: Raw) -> None:
    raw.devices()
    for name, content in (("garbage", b"\x00\xffnot a state"), ("truncated", b"SOFTSKF-STATE 1\nlabel 41\n")):
        (softskf.home / f"{name}.skf").write_bytes(content)
        assert raw("SKF_ConnectDev", name.encode(), byref(HANDLE())) == Sar.SAR_FILEERR
    good = softskf.device_file().read_text()
    bad_hex = good.replace("serial ", "serial ZZ", 1)
    (softskf.home / "badhex.skf").write_text(bad_hex)
    assert raw("SKF_ConnectDev", b"badhex", byref(HANDLE())) == Sar.SAR_FILEERR
    softskf.insert("blank")
    app = raw.app(raw.connect("blank"))
    assert raw.pin_info(app) == (USER_TRIES, USER_TRIES, True)
    assert softskf.device_file("blank").read_text().startswith("SOFTSKF-STATE 1\n")


def wait_event(raw: Raw, size: int = 64) -> tuple[int, int, str]:
    name = create_string_buffer(size)
    length, event = ULONG(size), ULONG(0)
    code = raw("SKF_WaitForDevEvent", name, byref(length), byref(event))
    return code, event.value, name.value.decode() if code == OK else str(length.value)


def test_insertion_and_removal_events(softskf: SoftSkf, raw: Raw) -> None:
    assert raw.devices() == [FIRST_DEVICE]
    softskf.insert("usbkey-b")
    assert wait_event(raw) == (OK, 1, "usbkey-b")
    softskf.remove()
    assert wait_event(raw) == (OK, 2, FIRST_DEVICE)
    softskf.insert("a-much-longer-device-name")
    code, _event, needed = wait_event(raw, size=4)
    assert (code, needed) == (Sar.SAR_BUFFER_TOO_SMALL, str(len("a-much-longer-device-name") + 1))
    assert wait_event(raw) == (OK, 1, "a-much-longer-device-name")  # kept for the next call


def test_cancel_wakes_a_blocked_wait(raw: Raw) -> None:
    raw.devices()
    results = []
    waiter = threading.Thread(target=lambda: results.append(wait_event(raw)))
    waiter.start()
    time.sleep(0.3)
    assert waiter.is_alive()  # blocked: nothing changed
    started = time.monotonic()
    raw.ok("SKF_CancelWaitForDevEvent")
    waiter.join(2)
    assert not waiter.is_alive() and time.monotonic() - started < 1
    assert results[0][0] == Sar.SAR_NOT_EVENTERR
    assert raw("SKF_WaitForDevEvent", None, None, None) == Sar.SAR_INVALIDPARAMERR
