"""The weakest PINs are refused as new PINs (drivers.pins), everywhere one is set; existing PINs keep working."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.cli.errors import ExitCode, _classify, describe
from drivers.errors import PinIncorrect, PinMismatch, PinTooWeak
from drivers.model import PinPolicy, PinWeakness
from drivers.pins import check_new_pin, check_pin_format, weakness
from drivers.soft import SoftBackend
from drivers.soft.keystore import Keystore
from tests.conftest import FAST_KDF

PIN = "480362"

WEAK = {
    "000000": PinWeakness.REPEATED,
    "888888": PinWeakness.REPEATED,
    "aaaaaa": PinWeakness.REPEATED,
    "121212": PinWeakness.REPEATED,
    "123123": PinWeakness.REPEATED,
    "12341234": PinWeakness.REPEATED,
    "123456": PinWeakness.SEQUENCE,
    "654321": PinWeakness.SEQUENCE,
    "234567": PinWeakness.SEQUENCE,
    "12345678": PinWeakness.SEQUENCE,
    "1234567890": PinWeakness.SEQUENCE,
    "0987654321": PinWeakness.SEQUENCE,
    "789012": PinWeakness.SEQUENCE,
    "abcdef": PinWeakness.SEQUENCE,
    "FEDCBA": PinWeakness.SEQUENCE,
    "147258": PinWeakness.COMMON,
    "159357": PinWeakness.COMMON,
    "112233": PinWeakness.COMMON,
    "5201314": PinWeakness.COMMON,
    "qwerty": PinWeakness.COMMON,
    "Password": PinWeakness.COMMON,
}
STRONG = ["480362", "739146", "24680135", "97531246", "135790", "65432100", "k3v9x2", "11112222", "s3cret-pin"]


@pytest.mark.parametrize("pin", sorted(WEAK))
def test_weakest_pins(pin: str) -> None:
    assert weakness(pin) is WEAK[pin]
    with pytest.raises(PinTooWeak) as refused:
        check_new_pin(pin, pin, PinPolicy())
    assert refused.value.reason is WEAK[pin]
    check_pin_format(pin, PinPolicy())  # an existing PIN of this form is still a valid PIN to enter


@pytest.mark.parametrize("pin", STRONG)
def test_other_pins_are_accepted(pin: str) -> None:
    assert weakness(pin) is None
    check_new_pin(pin, pin, PinPolicy())


def test_length_and_confirmation_are_checked_first() -> None:
    with pytest.raises(PinMismatch):
        check_new_pin("123456", "654321", PinPolicy())  # the confirmation error is the one to fix first


def test_weak_pins_are_refused_by_the_soft_keystore_before_anything_happens() -> None:
    backend = SoftBackend(kdf=FAST_KDF)
    with pytest.raises(PinTooWeak):
        backend.create_device("weak", "123456", "123456")
    assert backend.devices() == []
    device, admin = backend.create_device("ok", PIN)
    with device.open() as session:
        with pytest.raises(PinTooWeak):
            session.change_pin(PIN, "111111")
        with pytest.raises(PinTooWeak):
            session.change_pin("999999", "654321")  # refused before the (wrong) old PIN costs a try
        with pytest.raises(PinTooWeak):
            session.unblock_pin(admin, "123123")
        assert session.pin_info().remaining == 10 and session.pin_info(admin=True).remaining == 10
        session.login(PIN)


def test_an_existing_weak_pin_keeps_working(tmp_path: Path) -> None:
    """Keystores made before the rule (or by other tools) keep their PIN until the user changes it."""
    backend = SoftBackend(kdf=FAST_KDF)
    Keystore.create(backend.directory, "old", "123456", backend.secrets, FAST_KDF)  # below the PIN rules
    [device] = backend.devices()
    with device.open() as session:
        with pytest.raises(PinIncorrect):
            session.login("111111")
        session.login("123456")
        session.change_pin("123456", PIN)


def test_the_command_line_says_it_in_chinese_with_exit_2() -> None:
    error = PinTooWeak(PinWeakness.SEQUENCE)
    assert _classify(error) is ExitCode.USAGE
    line = describe(error)
    assert line.startswith("新PIN码过于简单（连续的数字或字母）") and "123456" in line


# -- factory PINs (a USB key still on one is asked to change it at first use) ----------------------------


def test_factory_pins_come_from_the_profile_or_the_common_vendor_defaults(tmp_path: Path) -> None:
    from drivers.pins import FACTORY_PINS, is_factory_pin
    from drivers.profiles import load_profile_file

    profile_file = tmp_path / "vendor.json"
    profile_file.write_text(
        '{"profiles": [{"id": "v", "vendor": "V", "sm2": null, "pin": {"min_length": 4, "defaults": ["9999"]}}]}'
    )
    [profile] = load_profile_file(profile_file)
    assert profile.pin_policy == PinPolicy(4, 20, ("9999",))
    assert is_factory_pin("9999", profile.pin_policy) and not is_factory_pin("9999", PinPolicy())
    assert {"12345678", "123456", "111111", "000000"} <= FACTORY_PINS
    assert all(is_factory_pin(pin, PinPolicy()) for pin in FACTORY_PINS)
    assert not is_factory_pin(PIN, PinPolicy())
    # none of them can be chosen again as a new PIN of 6 or more characters
    assert all(weakness(pin) is not None for pin in FACTORY_PINS if len(pin) >= 6)


def test_a_bad_defaults_list_is_a_profile_error(tmp_path: Path) -> None:
    from drivers.profiles import ProfileError, load_profile_file

    profile_file = tmp_path / "vendor.json"
    profile_file.write_text('{"profiles": [{"id": "v", "sm2": null, "pin": {"defaults": "12345678"}}]}')
    with pytest.raises(ProfileError):
        load_profile_file(profile_file)


def test_only_a_usb_key_that_says_so_or_whose_pin_is_a_factory_one_is_on_its_factory_pin() -> None:
    from app.pin_status import PinStatus, on_factory_pin
    from drivers.model import DeviceInfo, DeviceKind

    key = DeviceInfo("skf", "skf:lib:1", DeviceKind.HARD, "Key", "1", "Vendor")
    soft = DeviceInfo("soft", "soft:1", DeviceKind.SOFT, "软证书 u", "1", "CertAssist")
    assert not on_factory_pin(soft, PinStatus(factory_default=True), "12345678")  # soft: chosen by the user
    assert on_factory_pin(key, PinStatus(factory_default=True), PIN)  # the key says so
    assert not on_factory_pin(key, PinStatus(factory_default=False), "12345678")  # the key says it was changed
    assert on_factory_pin(key, PinStatus(), "12345678")  # the key cannot tell: the list decides
    assert not on_factory_pin(key, PinStatus(), PIN)
