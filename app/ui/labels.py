"""Names shown for values that come from elsewhere (devices, account types), in the UI's language."""

from __future__ import annotations

from app.contract import AccountType
from app.entries import soft_label_name
from app.ui.i18n import tr, tr_noop
from drivers.model import Capability, DeviceInfo, DeviceKind

_ACCOUNT_TYPES = {
    AccountType.NATURAL: tr_noop("自然人"),
    AccountType.LEGAL: tr_noop("法人"),
    AccountType.AGENCY: tr_noop("代理机构"),
    AccountType.OTHER: tr_noop("其他"),
}


_CAPABILITIES = {
    Capability.SM2_KEYGEN: tr_noop("在设备中生成SM2密钥"),
    Capability.SM2_SIGN: tr_noop("SM2签名"),
    Capability.SM2_IMPORT_ENVELOPED: tr_noop("导入加密密钥对"),
}


def capability_label(capability: Capability) -> str:
    text = _CAPABILITIES.get(capability)
    return tr(text) if text is not None else capability.value


def account_type_label(kind: AccountType) -> str:
    return tr(_ACCOUNT_TYPES[kind])


def device_label(info: DeviceInfo) -> str:
    """A soft keystore as 软证书 and its user name; a USB key by its label and serial (two keys of one vendor share
    the label)."""
    if info.kind is DeviceKind.SOFT:
        return tr("软证书 {name}").format(name=soft_label_name(info.label))
    if not info.serial or info.serial == info.label:
        return info.label
    return tr("{label}（序列号 {serial}）").format(label=info.label, serial=info.serial)


def device_vendor(info: DeviceInfo) -> str:
    """Who made it, as the device says (its manufacturer field), else as its profile names the vendor."""
    return info.manufacturer or info.model


def device_description(info: DeviceInfo) -> str:
    """Vendor, label and serial of a USB key (the soft keystore's name for a soft certificate)."""
    if info.kind is DeviceKind.SOFT:
        return device_label(info)
    return tr("{label}（{vendor}，序列号 {serial}）").format(
        label=info.label, vendor=device_vendor(info) or tr("未知厂商"), serial=info.serial or "-"
    )
