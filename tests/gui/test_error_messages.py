"""The tray's one place for error messages (app/ui/errors.py) on the keystore and new-PIN refusals."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from app.ui import i18n
from app.ui.errors import NextStep, explain
from drivers.errors import DeviceRemoved, KeyMismatch, KeystoreTampered, PinTooWeak
from drivers.model import PinWeakness


@pytest.fixture()
def english(qapp: Any) -> Iterator[None]:
    assert i18n.install("en")
    yield
    i18n.install("zh_CN")


def test_weak_new_pin_is_explained_in_chinese_and_keeps_the_dialog(qapp: Any) -> None:
    shown = explain(PinTooWeak(PinWeakness.REPEATED))
    assert shown.pin_retry and shown.next_step is None
    assert shown.text.startswith("新PIN码过于简单（同一数字或字符重复），容易被猜中。")
    assert "123456" in explain(PinTooWeak(PinWeakness.SEQUENCE)).text


def test_weak_new_pin_in_english(english: None) -> None:
    assert explain(PinTooWeak(PinWeakness.COMMON)).text.startswith("The new PIN is too simple (a common PIN)")


def test_a_tampered_or_rolled_back_keystore_points_to_repair(qapp: Any) -> None:
    edited = explain(KeystoreTampered("x"))
    rolled = explain(KeystoreTampered("x", rolled_back=True))
    assert edited.text.startswith("软证书文件在证书助手之外被修改过，为防止绕过PIN码错误次数限制，已拒绝使用")
    assert rolled.text.startswith("软证书文件被替换成了较早的副本，")
    assert edited.next_step is rolled.next_step is NextStep.REPAIR and not edited.pin_retry


def test_a_key_mismatch_says_nothing_was_written(qapp: Any) -> None:
    assert "没有写入任何内容" in explain(KeyMismatch("this certificate is not for the sign key of 'c'")).text


def test_a_pulled_key_is_explained_for_an_error_box_as_well_as_an_open_dialog(qapp: Any) -> None:
    """The same text ends a flow in an error box (no window left to press 确定 in) and stays in an open PIN dialog."""
    shown = explain(DeviceRemoved("SAR_DEVICE_REMOVED"))
    assert shown.text == "证书设备已被拔出，操作没有完成，原有证书没有丢失。请重新插入USB Key后重试。"
    assert shown.detail and "SAR_DEVICE_REMOVED" in shown.detail
