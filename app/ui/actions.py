"""The certificate actions of the menu: each starts its flow, one flow of each kind at a time."""

from __future__ import annotations

from typing import Dict, Optional, Type, TypeVar

from qtpy.QtCore import QObject, Signal

from app.contract import SessionKind
from app.entries import CertificateEntry
from app.ui.certificate_flows import ChangePinFlow, RevokeFlow, UnlockFlow, UpdateFlow
from app.ui.context import AppContext
from app.ui.flow import Flow
from app.ui.i18n import tr
from app.ui.issue_flows import ExchangeFlow, IssueFlow
from app.ui.session import SessionController
from drivers.base import Device

F = TypeVar("F", bound=Flow)


class CertificateActions(QObject):
    started = Signal(object)  # the Flow that just started

    def __init__(self, ctx: AppContext, session: SessionController, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.session = session
        self.flows: Dict[type, Flow] = {}

    def running(self, kind: Type[F]) -> Optional[F]:
        flow = self.flows.get(kind)
        return flow if isinstance(flow, kind) and flow.running else None

    def _start(self, flow: F) -> F:
        """Start ``flow``; an idle one of the same kind gives way, a working one is brought to the front."""
        old = self.flows.get(type(flow))
        if old is not None and old.running:
            if old.working:  # a device or the service is at work: it cannot be interrupted half-way
                old.front()
                return old  # type: ignore[return-value]
            old.cancel()
        self.flows[type(flow)] = flow
        self.started.emit(flow)
        flow.start()
        return flow

    def issue(self) -> Optional[IssueFlow]:
        login = self.session.require(SessionKind.ACCOUNT, tr("证书签发"))
        return self._start(IssueFlow(self.ctx, login)) if login is not None else None

    def exchange(self) -> Optional[ExchangeFlow]:
        login = self.session.require(SessionKind.ACCOUNT, tr("证书换发"))
        return self._start(ExchangeFlow(self.ctx, login)) if login is not None else None

    def update(self) -> Optional[UpdateFlow]:
        login = self.session.require(SessionKind.CERTIFICATE, tr("证书更新"))
        return self._start(UpdateFlow(self.ctx, login)) if login is not None else None

    def revoke(self) -> Optional[RevokeFlow]:
        login = self.session.require(SessionKind.CERTIFICATE, tr("证书废除"))
        return self._start(RevokeFlow(self.ctx, login)) if login is not None else None

    def unlock(self, entry: Optional[CertificateEntry] = None, confirmed: bool = False) -> UnlockFlow:
        return self._start(UnlockFlow(self.ctx, entry, confirmed))

    def change_pin(self, device: Optional[Device] = None, old_pin: str = "") -> ChangePinFlow:
        return self._start(ChangePinFlow(self.ctx, device, old_pin))

    def cancel_all(self) -> None:
        for flow in list(self.flows.values()):
            flow.cancel()
