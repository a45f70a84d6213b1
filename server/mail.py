"""Mail: the default writes .eml files to an outbox folder; SMTP (TLS/auth) for production. Texts in Chinese."""

from __future__ import annotations

import logging
import queue
import smtplib
import ssl
import threading
import time
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Protocol, Tuple

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from drivers.soft.storage import atomic_write
from server.config import MailConfig
from server.db import Database

log = logging.getLogger(__name__)


class Mailer(Protocol):
    def send(self, to: str, subject: str, body: str) -> None: ...


@lru_cache(maxsize=64)
def _encoded_sender(sender: str) -> str:
    return formataddr(parseaddr(sender), "utf-8")  # encodes a Chinese display name


@lru_cache(maxsize=64)
def _encoded_subject(subject: str) -> str:
    """RFC 2047 words; a handful of fixed subjects, so each is encoded once (a third of a mail's CPU)."""
    return Header(subject, "utf-8", header_name="Subject").encode()


def build_message(sender: str, to: str, subject: str, body: str) -> MIMEText:
    """A UTF-8 text mail. Built with the compat32 classes: a fifth of the CPU of ``EmailMessage``, whose
    header parsing cost ~0.9 ms on every issuance."""
    message = MIMEText(body, "plain", "utf-8")
    message["From"] = _encoded_sender(sender)
    message["To"] = to
    message["Subject"] = _encoded_subject(subject)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain="certassist.invalid")
    return message


class OutboxMailer:
    def __init__(self, directory: Path, sender: str) -> None:
        self.directory = directory
        self.sender = sender

    def send(self, to: str, subject: str, body: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        message = build_message(self.sender, to, subject, body)
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{message['Message-ID'].strip('<>').split('@')[0]}.eml"
        # Not durable: mail still queued in BackgroundMailer is lost in a crash anyway, and the two fsyncs
        # per message were the largest disk cost of an issuance. A reader never sees a partial file.
        atomic_write(self.directory / name, message.as_bytes(), mode=0o600, durable=False)


class SmtpMailer:
    def __init__(self, config: MailConfig) -> None:
        self.config = config

    def send(self, to: str, subject: str, body: str) -> None:
        cfg = self.config
        message = build_message(cfg.sender, to, subject, body)
        context = ssl.create_default_context()
        if cfg.smtp_security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=30, context=context)
        else:
            client = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=30)
        with client:
            if cfg.smtp_security == "starttls":
                client.starttls(context=context)
            if cfg.smtp_user:
                client.login(cfg.smtp_user, cfg.smtp_password or "")
            client.send_message(message)


class BackgroundMailer:
    """Sends through ``inner`` on a worker thread, so a request never waits for SMTP or the disk.

    Failures are retried a few times and then logged (recipient and subject only, never the body, which
    may hold an unlock code). ``close()`` delivers what is queued before returning.
    """

    RETRIES = 3

    def __init__(self, inner: Mailer) -> None:
        self.inner = inner
        self._queue: queue.Queue[Optional[Tuple[str, str, str]]] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="certassist-mail", daemon=True)
        self._thread.start()

    def send(self, to: str, subject: str, body: str) -> None:
        self._queue.put((to, subject, body))

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            to, subject, body = item
            for attempt in range(1, self.RETRIES + 1):
                try:
                    self.inner.send(to, subject, body)
                    break
                except (OSError, smtplib.SMTPException) as exc:
                    if attempt == self.RETRIES:
                        log.error("mail to %s (%s) failed: %s", to, subject, exc)
                    else:
                        time.sleep(0.5 * attempt)

    def close(self, timeout: float = 30.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)


Mail = Tuple[str, str, str]  # to, subject, body
_PENDING = "certassist.outbox"  # key of Session.info


class Outbox:
    """Mail is posted in the unit of work of the event it reports and handed to the mailer when that unit
    commits; a rollback drops it. Post after the last refusal: a refusal commits its bookkeeping (server.db).
    (Issue 13.14 replaces this with a table written in the same transaction.)"""

    def __init__(self, db: Database, mailer: Mailer) -> None:
        self.mailer = mailer
        event.listen(db.session_factory, "after_commit", self._deliver)
        event.listen(db.session_factory, "after_soft_rollback", self._discard)

    def post(self, session: Session, to: str, subject: str, body: str) -> None:
        session.connection()  # the unit of work has begun: its rollback drops this, its commit sends it
        pending: List[Mail] = session.info.setdefault(_PENDING, [])
        pending.append((to, subject, body))

    def _deliver(self, session: Session) -> None:
        if session.get_nested_transaction() is not None:  # a savepoint: the unit of work goes on
            return
        for to, subject, body in session.info.pop(_PENDING, ()):
            self.mailer.send(to, subject, body)

    @staticmethod
    def _discard(session: Session, previous: SessionTransaction) -> None:
        if previous.parent is None:
            session.info.pop(_PENDING, None)


def make_mailer(config: MailConfig) -> Mailer:
    inner: Mailer
    if config.mode == "smtp":
        inner = SmtpMailer(config)
    else:
        assert config.outbox_dir is not None
        inner = OutboxMailer(config.outbox_dir, config.sender)
    return BackgroundMailer(inner)


SIGNATURE = "\n\n—— 证书助手（本邮件由系统自动发送，请勿直接回复）"


def approval_mail(applicant_name: str, username: str, issuance_code: str, days: int) -> tuple[str, str]:
    return (
        "【证书助手】账号审核通过",
        f"{applicant_name}，您好：\n\n您的账号（用户名：{username}）已审核通过。"
        "请打开证书助手，右键托盘图标选择「登录」→「账号登录」，然后选择「证书签发」申请数字证书。\n\n"
        f"签发码：{issuance_code}\n\n签发证书时需要输入签发码（{days}天内有效，只能使用一次），请勿告诉他人。"
        "如签发码过期或遗失，可在证书助手签发证书时点击「重新发送签发码」。" + SIGNATURE,
    )


def issuance_code_mail(applicant_name: str, username: str, issuance_code: str, days: int) -> tuple[str, str]:
    return (
        "【证书助手】证书签发码",
        f"{applicant_name}，您好：\n\n您的账号（用户名：{username}）可以办理「证书签发」或「证书换发」。\n\n"
        f"签发码：{issuance_code}\n\n签发码{days}天内有效，只能使用一次，请勿告诉他人。"
        "如非本人操作，请忽略本邮件：没有签发码，他人无法为您的账号签发证书。" + SIGNATURE,
    )


def issued_mail(applicant_name: str, serial: str, not_after: str) -> tuple[str, str]:
    return (
        "【证书助手】数字证书签发成功",
        f"{applicant_name}，您好：\n\n您的数字证书已签发成功（签名证书序列号：{serial}，有效期至 {not_after}）。"
        "请妥善保管证书PIN码；如忘记PIN码，可使用证书助手「证书解锁」功能通过本邮箱获取解锁码。" + SIGNATURE,
    )


def unlock_mail(applicant_name: str, holder: str, code: str, minutes: int, attempts: int) -> tuple[str, str]:
    return (
        "【证书助手】证书解锁码",
        f"{applicant_name}，您好：\n\n您正在申请解锁证书（使用者：{holder}）。\n\n解锁码：{code}\n\n"
        f"解锁码{minutes}分钟内有效，最多可尝试{attempts}次，只能使用一次。"
        "如非本人操作，请忽略本邮件，您的证书不会被解锁。" + SIGNATURE,
    )


def name_change_mail(old_name: str, new_name: str) -> tuple[str, str]:
    return (
        "【证书助手】名称变更审核通过",
        f"您好：\n\n申请人名称由「{old_name}」变更为「{new_name}」的申请已审核通过。"
        "请使用证书登录后，右键托盘图标选择「证书更新」，完成证书中名称的更新。" + SIGNATURE,
    )


def email_changed_mail(applicant_name: str, new_email: str) -> tuple[str, str]:
    return (
        "【证书助手】注册邮箱已变更",
        f"{applicant_name}，您好：\n\n您账号的注册邮箱已通过证书登录变更为 {new_email}。"
        "如非本人操作，请立即使用证书登录修改邮箱并废除证书。" + SIGNATURE,
    )
