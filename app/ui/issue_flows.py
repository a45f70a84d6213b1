"""证书签发 and 证书换发 (seed 002, sections 3-5): a new certificate pair for an account login."""

from __future__ import annotations

from typing import Any, Optional

from app import flows
from app.contract import IssuedPair
from app.entries import CertificateEntry
from app.ui.certificate_flows import issued_text
from app.ui.choose import choose_item
from app.ui.context import AppContext
from app.ui.flow import Flow
from app.ui.i18n import tr
from app.ui.issuance_code import ask_issuance_code
from app.ui.labels import capability_label, device_description, device_label
from app.ui.model import Login
from app.ui.pins import NewPinDialog
from drivers.base import Device
from drivers.errors import DriverError
from drivers.model import DeviceKind
from drivers.soft import SoftBackend

SOFT_QUEUE = "soft:new"  # a new soft keystore has no device id yet


class IssueFlow(Flow):
    """证书签发: confirm, choose soft certificate or USB key, PIN, then the service issues the pair."""

    title = "证书签发"

    def __init__(self, ctx: AppContext, login: Login) -> None:
        super().__init__(ctx)
        self.login = login

    @property
    def exchange(self) -> bool:
        return False

    def success_text(self) -> str:
        return tr("证书签发操作成功")

    def start(self) -> None:
        self.confirm(tr("您正在执行证书签发，是否继续执行？"), self.ask_code_unless_resuming)

    def ask_code_unless_resuming(self) -> None:
        """The 签发码 opens a new issuance. An issuance a pulled key or the network interrupted resumes on its key
        without asking where; when the service already made the pair (the account may not receive another), it
        answers the retry with that pair and no code is asked (the first attempt spent it)."""
        pending = self.ctx.model.inventory.pending_of(self.login.username)
        if pending is not None and pending.device.info.kind is DeviceKind.HARD:
            device = pending.device
            if self.login.account.may_receive_new:  # not issued yet: the code opens it (asked once per login)
                ask_issuance_code(self, self.login, lambda: self.issue_hard(device))
            else:
                self.issue_hard(device)
            return
        ask_issuance_code(self, self.login, self.choose_device)

    def choose_device(self) -> None:
        """软证书 or one of the USB keys; a key without SM2 is listed as such and refused when chosen, before any
        PIN."""
        soft = tr("软证书（保存在本机）")
        hard = [d for d in self.ctx.model.inventory.devices if d.info.kind is DeviceKind.HARD]
        if not hard:
            self.issue_soft()
            return

        def label(item: Any) -> str:
            if isinstance(item, str):
                return item
            text = tr("USB Key：{device}").format(device=device_description(item.info))
            return text + ("" if not flows.missing_sm2(item) else tr("（不支持国密SM2）"))

        def chosen(item: Any) -> None:
            if isinstance(item, str):
                self.issue_soft()
            elif flows.missing_sm2(item):
                self.refuse(item)
            else:
                self.issue_hard(item)

        choose_item(self, tr("选择证书设备"), tr("请选择新证书保存的位置"), [soft, *hard], label, chosen)

    def refuse(self, device: Device) -> None:
        """Up front, before the PIN: this key cannot hold an SM2 dual certificate (e.g. SoftHSM2, a key whose
        PKCS#11 module offers no SM2 mechanisms)."""
        missing = "、".join(capability_label(c) for c in flows.missing_sm2(device))
        self.info(
            tr(
                "「{device}」不支持国密SM2双证书（缺少：{missing}），不能在其中签发证书。"
                "请选择软证书，或使用支持国密SM2的USB Key。"
            ).format(device=device_label(device.info), missing=missing),
            ok=False,
        )

    def issue_soft(self) -> None:
        backend = next((b for b in self.ctx.model.backends() if isinstance(b, SoftBackend)), None)
        if backend is None:
            self.fail(DriverError("soft keystore backend missing"))
            return
        dialog = NewPinDialog(self.ctx.icon)
        login, report, exchange = self.login, self.ctx.jobs.report, self.exchange

        def submit() -> None:
            pin, confirmation = dialog.pin.text(), dialog.confirmation.text()
            self.run_in(
                dialog,
                SOFT_QUEUE,
                lambda: flows.issue_soft(
                    login.client, backend, login.username, pin, confirmation, report, exchange=exchange
                ),
                self.issued,
                tr("证书助手正在签发证书，请耐心等待"),
            )

        dialog.submitted.connect(submit)
        self.open(dialog)

    def issue_hard(self, device: Device) -> None:
        """The key's existing PIN (the guide's 输入原有的硬证书「PIN 码」); the key keeps it."""
        login, report, exchange = self.login, self.ctx.jobs.report, self.exchange
        self.with_pin(
            tr("证书新签时，为了保证您的证书安全，请输入您的证书密码！"),
            device,
            lambda pin: flows.issue_hard(login.client, device, login.username, pin, report, exchange=exchange),
            lambda pair: self.issued(pair, device),
            tr("证书助手正在签发证书，请耐心等待"),
        )

    def issued(self, result: object, device: Optional[Device] = None) -> None:
        self.ctx.login_stale.emit()  # the account may not issue again
        text = self.success_text()
        if isinstance(result, IssuedPair) and device is not None:
            text = issued_text(text, result, device)
        self.succeed(text)


class ExchangeFlow(IssueFlow):
    """证书换发: a certificate of the new CA; an old one on this computer is replaced and keeps its PIN."""

    title = "证书换发"

    @property
    def exchange(self) -> bool:
        return True

    def success_text(self) -> str:
        return tr("证书换发成功")

    def start(self) -> None:
        self.confirm(tr("您正在执行证书换发，是否继续执行？"), self.choose_old)

    def choose_old(self) -> None:
        ask_issuance_code(self, self.login, self._choose_old)

    def _choose_old(self) -> None:
        prefix = f"{self.login.username}-"
        mine = [e for e in self.ctx.model.inventory.entries if e.container.startswith(prefix)]
        if not mine:  # the old certificate is not on this computer: a new one, as 证书签发
            self.choose_device()
            return
        choose_item(
            self,
            tr("证书换发"),
            tr("请选择要换发的证书"),
            mine,
            lambda e: f"{e.subject} - {device_label(e.device.info)}",
            self.replace,
        )

    def replace(self, entry: CertificateEntry) -> None:
        self.remember(entry)
        login, report = self.login, self.ctx.jobs.report
        self.with_pin(
            tr("证书换发后原证书将被替换，PIN码保持不变。请输入该证书的证书密码！"),
            entry.device,
            lambda pin: flows.exchange(login.client, entry, login.username, pin, report),
            lambda pair: self.issued(pair, entry.device),
            tr("证书助手正在换发证书，请耐心等待"),
        )
