"""证书更新, 证书废除, 证书解锁 and 修改PIN码 (seed 002, sections 6-10)."""

from __future__ import annotations

from typing import Optional

from app import flows
from app.api_client import ApiError, IssuingClient
from app.contract import IssuedPair, SessionInfo, UnlockTicket
from app.entries import CertificateEntry
from app.pin_status import PinStatus
from app.ui.choose import PinTarget, choose_certificate, choose_pin_target
from app.ui.context import AppContext
from app.ui.errors import Explanation
from app.ui.flow import Flow, device_queue, pin_retry
from app.ui.i18n import tr
from app.ui.jobs import NETWORK
from app.ui.labels import device_description
from app.ui.model import Login
from app.ui.pins import ChangePinDialog, UnlockDialog
from drivers.base import Device
from drivers.model import DeviceKind

UNLOCK_CODE_WRONG = "unlock_code_wrong"


def update_refusal(info: SessionInfo) -> str:
    """Why 证书更新 is not open now (empty when it is)."""
    if info.may_update:
        return ""
    if info.certificate is not None:
        return tr(
            "您的证书还有{days}天到期。证书更新（续期）在证书到期前一个月内办理；"
            "公司名称变更需先在网上服务系统提交申请并审核通过。"
        ).format(days=info.certificate.days_left)
    return tr("证书更新需要先使用「证书登录」")


class CertificateLoginFlow(Flow):
    """A flow on the certificate of a 证书登录."""

    def __init__(self, ctx: AppContext, login: Login) -> None:
        super().__init__(ctx)
        self.login = login
        assert login.entry is not None
        self.entry: CertificateEntry = login.entry


class UpdateFlow(CertificateLoginFlow):
    """证书更新: renewal or an approved company-name change; the service says first whether it is open."""

    title = "证书更新"

    def start(self) -> None:
        self.submit(NETWORK, self.login.client.me, self.checked)

    def checked(self, info: SessionInfo) -> None:
        """Before any PIN: is the renewal window reached or the name change approved?"""
        self.login.info = info
        self.ctx.changed.emit()
        refusal = update_refusal(info)
        if refusal:
            self.info(refusal, ok=False)
            return
        self.confirm(tr("您正在执行证书更新，是否继续执行？"), self.ask_pin)

    def ask_pin(self) -> None:
        login, entry, report = self.login, self.entry, self.ctx.jobs.report
        self.remember(entry)
        self.with_pin(
            tr("证书更新需要验证您的证书密码，更新后PIN码保持不变"),
            entry.device,
            lambda pin: flows.update(login.client, entry, login.username, pin, report),
            self.updated,
            tr("证书助手正在更新证书，请耐心等待"),
        )

    def updated(self, pair: IssuedPair) -> None:
        entry = self.entry
        if self.login.client.token is None:  # the old certificate's login ended with it; no new one was had
            self.ctx.model.set_login(None)
            self.ctx.changed.emit()
            self.succeed(tr("证书更新成功，请使用新证书重新登录"))
            return
        self.login.entry = CertificateEntry(entry.device, entry.container, pair.sign, pair.encryption)  # until 刷新
        self.ctx.model.set_login(self.login)  # the new certificate's session, kept for the next start
        self.ctx.login_stale.emit()
        self.succeed(issued_text(tr("证书更新成功"), pair, entry.device))


class RevokeFlow(CertificateLoginFlow):
    """证书废除: irreversible, so 取消 is the default answer; the PIN is checked before the service acts."""

    title = "证书废除"

    def start(self) -> None:
        self.confirm(
            tr("您正在执行证书废除，废除后该证书将无法再使用，是否继续执行？（{subject}）").format(
                subject=self.entry.subject
            ),
            self.ask_pin,
            default_cancel=True,
        )

    def ask_pin(self) -> None:
        login, entry = self.login, self.entry
        self.remember(entry)
        self.with_pin(
            tr("证书废除后将无法恢复。请输入证书密码确认废除。"),
            entry.device,
            lambda pin: flows.revoke(login.client, entry, pin),
            self.revoked,
        )

    def revoked(self, _result: object) -> None:
        self.ctx.model.set_login(None)
        self.ctx.changed.emit()
        self.succeed(tr("证书废除成功"))


class UnlockFlow(Flow):
    """证书解锁: the service mails an unlock code; the code and a new PIN unlock the certificate.

    ``confirmed`` skips the question when the user already chose 证书解锁 (from a locked-PIN message).
    """

    title = "证书解锁"

    def __init__(self, ctx: AppContext, entry: Optional[CertificateEntry] = None, confirmed: bool = False) -> None:
        super().__init__(ctx)
        self.entry = entry
        self.confirmed = confirmed
        self.client: Optional[IssuingClient] = None

    def start(self) -> None:
        if self.entry is not None:
            self.chosen(self.entry)
        else:
            choose_certificate(self, tr("证书解锁"), self.chosen)

    def chosen(self, entry: CertificateEntry) -> None:
        self.entry = entry
        self.remember(entry)
        if self.confirmed:
            self.request()
        else:
            self.confirm(tr("您正在执行证书解锁，是否继续执行？"), self.request)

    def request(self) -> None:
        entry = self.entry
        assert entry is not None
        client = self.client = self.ctx.model.new_client()
        self.finished.connect(lambda _ok: client.close())
        self.run_in(
            None,
            NETWORK,
            lambda: flows.unlock_request(client, entry),
            self.ask_code,
            tr("正在发送解锁码到注册邮箱，请稍等"),
        )

    def ask_code(self, ticket: UnlockTicket) -> None:
        entry, client = self.entry, self.client
        assert entry is not None and client is not None
        dialog = UnlockDialog(ticket.holder or entry.subject, ticket.email, self.ctx.icon)

        def wrong_code(exc: BaseException, explanation: Explanation) -> bool:
            """A wrong code or PIN, or a key pulled out, can be fixed in place (the retry needs no new code)."""
            return pin_retry(exc, explanation) or (isinstance(exc, ApiError) and exc.code == UNLOCK_CODE_WRONG)

        def unlocked(result: flows.Unlocked) -> None:
            text = tr("解锁成功")
            if not result.escrowed:
                text += tr("。新的管理员PIN码暂未托管到证书服务，下次「证书登录」时将自动完成。")
            self.succeed(text)

        def submit() -> None:
            code, pin, confirmation = dialog.code.text(), dialog.pin.text(), dialog.confirmation.text()
            self.run_in(
                dialog,
                device_queue(entry.device),
                lambda: flows.unlock_complete(client, entry, ticket.unlock_id, code, pin, confirmation),
                unlocked,
                inline=wrong_code,
            )

        dialog.submitted.connect(submit)
        self.open(dialog)


class ChangePinFlow(Flow):
    """修改PIN码: old / new / confirm, with the old PIN's tries left shown; a wrong old PIN stays in the dialog.

    ``device`` and ``old_pin``: a USB key just used with its factory PIN (the question after a flow) is changed at once.
    """

    title = "修改PIN码"

    def __init__(self, ctx: AppContext, device: Optional[Device] = None, old_pin: str = "") -> None:
        super().__init__(ctx)
        self.device = device
        self.old_pin = old_pin

    def start(self) -> None:
        if self.device is not None:
            self.chosen(PinTarget(self.device, device_description(self.device.info)))
        else:
            choose_pin_target(self, tr("修改PIN码"), self.chosen)

    def chosen(self, target: PinTarget) -> None:
        if target.entry is not None:
            self.remember(target.entry)
        self.pin_status(target.device, lambda status: self.ask(target, status))

    def ask(self, target: PinTarget, status: PinStatus) -> None:
        device = target.device
        dialog = ChangePinDialog(target.text, self.ctx.icon)
        guard = self.guard(dialog.tries, status, device)
        if self.old_pin:
            dialog.old_pin.setText(self.old_pin)
            dialog.new_pin.setFocus()

        def kept(exc: BaseException, explanation: Explanation) -> bool:
            guard.after_error(exc)
            return pin_retry(exc, explanation)

        def submit() -> None:
            old, new, confirmation = dialog.old_pin.text(), dialog.new_pin.text(), dialog.confirmation.text()
            guard.submit(
                lambda: self.run_in(
                    dialog,
                    device_queue(device),
                    lambda: flows.change_device_pin(device, old, new, confirmation),
                    lambda _none: self.succeed(tr("修改PIN码成功")),
                    inline=kept,
                )
            )

        dialog.submitted.connect(submit)
        self.open(dialog)


def issued_text(text: str, pair: IssuedPair, device: Device) -> str:
    """A success message; on a USB key whose admin PIN could not be escrowed, what that means for 证书解锁."""
    if device.info.kind is DeviceKind.HARD and not pair.admin_escrowed:
        text += tr(
            "。注意：该USB Key的管理员PIN码不是出厂值，没有托管到证书服务，忘记PIN码时无法在线「证书解锁」，"
            "需联系USB Key厂商或证书颁发机构。"
        )
    return text
