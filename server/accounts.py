"""Accounts: registration, the operator's approval and flags, company-name changes (名称变更), account views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from server import mail, models
from server.db import Database
from server.domain import AccountStatus, AccountType, AccountView, CertificateUsage, CertStatus
from server.errors import ServiceError, bad_request, conflict, forbidden, not_found
from server.identity import is_valid_resident_id, is_valid_uscc, mask_email, normalise_username
from server.issuance.codes import IssuanceCodes
from server.mail import Outbox
from server.security import audit, rate_limit, utcnow
from server.sessions import CertificateLogin
from server.validation import InvalidInput, check_applicant_name, check_email, check_username


@dataclass(frozen=True)
class StoredCertificate:
    serial: str
    usage: CertificateUsage
    status: CertStatus
    not_after: str  # ISO 8601
    ca_generation: int


@dataclass(frozen=True)
class AccountDetails(AccountView):
    """What the operator sees: the account and every certificate issued to it."""

    certificates: Tuple[StoredCertificate, ...]


def account_view(account: models.Account) -> AccountView:
    return AccountView(
        username=account.username,
        applicant_name=account.applicant_name,
        account_type=account.account_type,
        account_type_label=account.account_type.label,
        email=mask_email(account.email),
        status=account.status,
        may_issue=account.may_issue,
        exchange_required=account.exchange_required,
        name_change_approved=account.name_change_approved,
        pending_name=account.pending_name,
    )


def checked(check: Callable[[str], str], value: str) -> str:
    """``value`` through a check of server.validation; its refusal as a 400 ServiceError."""
    try:
        return check(value)
    except InvalidInput as exc:
        raise bad_request(exc.code, exc.message) from exc


def account_not_approved() -> ServiceError:
    return forbidden("account_not_approved", "账号未审核通过或已停用，无法办理证书业务")


def require_approved(status: Optional[AccountStatus]) -> None:
    if status != AccountStatus.APPROVED:
        raise account_not_approved()


def find_account(session: Session, username: str) -> models.Account:
    username = normalise_username(username)
    account = session.scalar(select(models.Account).where(models.Account.username == username))
    if account is None:
        raise not_found("no_account", f"没有用户名为 {username} 的账号")
    return account


def lock_approved(session: Session, account_id: int) -> models.Account:
    """The account of a session, locked for this unit of work; refused unless approved."""
    account = session.get(models.Account, account_id, with_for_update=True)
    require_approved(account.status if account else None)
    assert account is not None
    return account


class Accounts:
    def __init__(self, db: Database, outbox: Outbox, codes: IssuanceCodes) -> None:
        self.db = db
        self.outbox = outbox
        self.codes = codes

    def register(
        self,
        username: str,
        applicant_name: str,
        account_type: str,
        id_number: str,
        email: str,
        client: Optional[str] = None,
    ) -> AccountView:
        """A new account, pending until an operator approves it."""
        username, applicant_name, email = (
            checked(check_username, username),
            checked(check_applicant_name, applicant_name),
            checked(check_email, email),
        )
        id_number = id_number.strip().upper()
        if account_type not in set(AccountType):
            raise bad_request("invalid_type", "申请人类型应为自然人、法人或代理机构")
        kind = AccountType(account_type)
        if kind == AccountType.NATURAL and not is_valid_resident_id(id_number):
            raise bad_request("invalid_id_number", "居民身份证号码不正确，请核对后重新填写")
        if kind != AccountType.NATURAL and not is_valid_uscc(id_number):
            raise bad_request("invalid_id_number", "统一社会信用代码不正确（18位，含校验位），请核对后重新填写")
        with self.db.session() as session:
            if client is not None:
                rate_limit(session, f"register:{client}", 10, 3600)
            if session.scalar(select(models.Account).where(models.Account.username == username)):
                raise conflict("username_taken", "该用户名已被注册，请换一个用户名；如是您本人的账号，请直接登录")
            account = models.Account(
                username=username,
                applicant_name=applicant_name,
                account_type=kind,
                id_number=id_number,
                email=email,
                status=AccountStatus.PENDING,
                may_issue=False,
                exchange_required=False,
                name_change_approved=False,
                failed_logins=0,
                created_at=utcnow(),
            )
            session.add(account)
            session.flush()
            audit(session, "account_registered", account.id, client=client)
            return account_view(account)

    def approve(self, username: str) -> AccountView:
        """The operator's approval: the account may receive its first certificate; the holder is mailed."""
        with self.db.session() as session:
            account = find_account(session, username)
            account.status = AccountStatus.APPROVED
            account.may_issue = True
            account.approved_at = utcnow()
            audit(session, "account_approved", account.id)
            code = self.codes.new_code(session, account.id)  # the holder's secret for 证书签发 (issue 13.3)
            notice = mail.approval_mail(account.applicant_name, account.username, code, self.codes.days)
            self.outbox.post(session, account.email, *notice)
            return account_view(account)

    def set_flags(
        self,
        username: str,
        *,
        may_issue: Optional[bool] = None,
        exchange_required: Optional[bool] = None,
        status: Optional[AccountStatus] = None,
    ) -> AccountView:
        """The operator's flags: allow another issuance, require 证书换发, disable. ``None`` leaves a flag."""
        flags: Dict[str, Any] = {
            name: value
            for name, value in (("may_issue", may_issue), ("exchange_required", exchange_required), ("status", status))
            if value is not None
        }
        with self.db.session() as session:
            account = find_account(session, username)
            opens = (may_issue and not account.may_issue) or (exchange_required and not account.exchange_required)
            for name, value in flags.items():
                setattr(account, name, value)
            audit(session, "account_flags", account.id, **flags)
            if opens and account.status == AccountStatus.APPROVED:  # the holder needs a code to use it
                self.codes.mail_new_code(session, account)
            return account_view(account)

    def request_name_change(self, username: str, new_name: str) -> AccountView:
        """Record a company-name change for the operator to approve (证书更新 then applies it)."""
        with self.db.session() as session:
            return self._request_name_change(session, find_account(session, username), new_name)

    def request_name_change_by_holder(self, login: CertificateLogin, new_name: str) -> AccountView:
        """The holder asks with a certificate login; an operator approves; 证书更新 then applies it."""
        with self.db.session() as session:
            account = session.get(models.Account, login.account_id)
            assert account is not None
            return self._request_name_change(session, account, new_name)

    @staticmethod
    def _request_name_change(session: Session, account: models.Account, new_name: str) -> AccountView:
        new_name = checked(check_applicant_name, new_name)
        account.pending_name, account.name_change_approved = new_name, False
        audit(session, "name_change_requested", account.id, new_name=new_name)
        return account_view(account)

    def approve_name_change(self, username: str) -> AccountView:
        with self.db.session() as session:
            account = find_account(session, username)
            if not account.pending_name:
                raise conflict("no_name_change", "该账号没有待审核的名称变更")
            account.name_change_approved = True
            audit(session, "name_change_approved", account.id, new_name=account.pending_name)
            notice = mail.name_change_mail(account.applicant_name, account.pending_name)
            self.outbox.post(session, account.email, *notice)
            return account_view(account)

    def show(self, username: str) -> AccountDetails:
        with self.db.session() as session:
            account = find_account(session, username)
            rows = session.scalars(select(models.Certificate).where(models.Certificate.account_id == account.id))
            certificates = tuple(
                StoredCertificate(c.serial, c.usage, c.status, c.not_after.isoformat(), c.ca_generation) for c in rows
            )
            return AccountDetails(**vars(account_view(account)), certificates=certificates)
