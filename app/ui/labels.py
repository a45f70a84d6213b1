"""Names shown for values that come from elsewhere (devices, account types), in the UI's language."""

from __future__ import annotations

from app.contract import AccountType
from app.flows import soft_label_name
from app.ui.i18n import tr, tr_noop
from drivers.model import DeviceInfo, DeviceKind

_ACCOUNT_TYPES = {
    AccountType.NATURAL: tr_noop("自然人"),
    AccountType.LEGAL: tr_noop("法人"),
    AccountType.AGENCY: tr_noop("代理机构"),
    AccountType.OTHER: tr_noop("其他"),
}


def account_type_label(kind: AccountType) -> str:
    return tr(_ACCOUNT_TYPES[kind])


def device_label(info: DeviceInfo) -> str:
    """A USB key's own label; a soft keystore as 软证书 and its user name."""
    if info.kind is DeviceKind.SOFT:
        return tr("软证书 {name}").format(name=soft_label_name(info.label))
    return info.label
