"""The one place that turns errors into the tray's messages: what happened and what to do next."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import Optional

from app.api_client import ApiError, InsecureServiceUrl, ProxyUnavailable, ServiceUnavailable
from app.backup_policy import BackupError, TooManyAttempts
from app.flows import ContainerNotRemoved
from app.ui.i18n import tr
from drivers.errors import (
    DeviceRemoved,
    DriverError,
    DriverUnavailable,
    KeyMismatch,
    KeystoreCorrupted,
    KeystoreTampered,
    NotFound,
    NotLoggedIn,
    NotSupported,
    PinIncorrect,
    PinLengthInvalid,
    PinLocked,
    PinMismatch,
    PinTooWeak,
)
from drivers.model import PinWeakness
from gm.challenge import InvalidNonce
from gm.errors import GMError, PasswordIncorrect

log = logging.getLogger(__name__)


class NextStep(str, enum.Enum):
    UNLOCK = "unlock"  # 证书解锁
    PROXY = "proxy"  # 设置 → 代理服务
    LOGIN = "login"  # 登录
    REPAIR = "repair"  # 环境修复


@dataclass(frozen=True)
class Explanation:
    text: str
    next_step: Optional[NextStep] = None
    pin_retry: bool = False  # a wrong or malformed PIN: the PIN dialog stays open for another try
    detail: str = ""  # technical detail (a driver's or the service's own words), shown on request


def next_step_label(step: NextStep) -> str:
    return {
        NextStep.UNLOCK: tr("证书解锁"),
        NextStep.PROXY: tr("代理服务"),
        NextStep.LOGIN: tr("登录"),
        NextStep.REPAIR: tr("环境修复"),
    }[step]


def _technical(exc: DriverError) -> str:
    """The driver's own words and code, for a support call (drivers speak English; the UI does not)."""
    return f"{type(exc).__name__}: {exc} [{exc.raw_code_text}]"


def _admin(exc: DriverError) -> Explanation:
    """The USB key refused the admin PIN escrowed at the service (证书解锁): a key changed elsewhere, or locked."""
    if isinstance(exc, PinLocked):
        text = tr("USB Key的管理员PIN码已被锁定，无法在线解锁。请联系USB Key厂商或证书颁发机构。")
    else:
        text = tr("USB Key拒绝了证书服务托管的管理员PIN码（它可能在别处被修改过），无法在线解锁。请联系证书颁发机构。")
    return Explanation(text, detail=_technical(exc))


def _driver(exc: DriverError) -> Explanation:  # noqa: PLR0911, PLR0912 - one branch per error type
    if isinstance(exc, (PinIncorrect, PinLocked)) and exc.admin:
        return _admin(exc)
    if isinstance(exc, PinIncorrect):
        if exc.retries_left is None:
            return Explanation(tr("PIN码错误，请重新输入"), pin_retry=True)
        return Explanation(tr("PIN码错误，还可以尝试{n}次").format(n=exc.retries_left), pin_retry=True)
    if isinstance(exc, PinLocked):
        return Explanation(
            tr("PIN码已被锁定（连续输错次数过多）。请使用「证书解锁」，通过注册邮箱收到的解锁码设置新的PIN码。"),
            NextStep.UNLOCK,
        )
    if isinstance(exc, PinLengthInvalid):
        return Explanation(
            tr("PIN码长度应为{low}~{high}位，请重新输入").format(low=exc.min_length, high=exc.max_length),
            pin_retry=True,
        )
    if isinstance(exc, PinMismatch):
        return Explanation(tr("两次输入的新PIN码不一致，请重新输入"), pin_retry=True)
    if isinstance(exc, PinTooWeak):
        reason = {
            PinWeakness.REPEATED: tr("同一数字或字符重复"),
            PinWeakness.SEQUENCE: tr("连续的数字或字母"),
            PinWeakness.COMMON: tr("常见的PIN码"),
        }[exc.reason]
        return Explanation(
            tr(
                "新PIN码过于简单（{reason}），容易被猜中。请换一个：不要使用重复、连续（如123456、654321）或常见的PIN码。"
            ).format(reason=reason),
            pin_retry=True,
        )
    detail = _technical(exc)
    if isinstance(exc, ContainerNotRemoved):
        return Explanation(
            tr("证书服务已完成操作，但证书设备没能删除旧证书（可能已被拔出）。请重新插入USB Key后点击「确定」完成。"),
            detail=detail,
        )
    if isinstance(exc, DeviceRemoved):
        return Explanation(
            tr("证书设备已被拔出，操作没有完成，原有证书没有丢失。请重新插入USB Key后重试。"),
            detail=detail,
        )
    if isinstance(exc, NotSupported):
        return Explanation(
            tr("该设备不支持国密SM2双证书所需的功能。请使用支持国密SM2的USB Key，或选择软证书。"), detail=detail
        )
    if isinstance(exc, DriverUnavailable):
        if exc.raw_code == "pcsc":
            text = tr("智能卡服务没有运行，无法使用USB Key。请在「环境修复」中启动智能卡服务。")
        else:
            text = tr("无法使用证书设备的驱动程序。请运行「环境修复」检查。")
        return Explanation(text, NextStep.REPAIR, detail=detail)
    if isinstance(exc, KeyMismatch):
        return Explanation(
            tr("证书与设备中的密钥不匹配，没有写入任何内容。请重试；如仍失败，请联系证书服务管理员。"), detail=detail
        )
    if isinstance(exc, KeystoreTampered):
        text = tr("软证书文件被替换成了较早的副本") if exc.rolled_back else tr("软证书文件在证书助手之外被修改过")
        return Explanation(
            tr(
                "{what}，为防止绕过PIN码错误次数限制，已拒绝使用。请恢复证书助手最后保存的文件，或使用「证书签发」重新申请。"
            ).format(what=text),
            NextStep.REPAIR,
            detail=detail,
        )
    if isinstance(exc, KeystoreCorrupted):
        return Explanation(
            tr("软证书文件已损坏或不属于本机用户。请运行「环境修复」，或使用「证书签发」重新申请。"),
            NextStep.REPAIR,
            detail=detail,
        )
    if isinstance(exc, NotLoggedIn):
        return Explanation(tr("请先输入PIN码"), pin_retry=True)
    if isinstance(exc, NotFound):
        return Explanation(tr("没有找到证书或证书设备。请插入USB Key后点击「刷新」。"), detail=detail)
    if exc.raw_code == "pair_mismatch":
        return Explanation(tr("证书服务返回的证书与本设备的密钥不匹配，已放弃写入；请重试或联系管理员"), detail=detail)
    return Explanation(
        tr("证书设备操作失败。请重新插入设备后重试，或运行「环境修复」。"), NextStep.REPAIR, detail=detail
    )


_SESSION_CODES = {"session_required", "session_invalid", "session_certificate_revoked", "session_certificate_expired"}


def _service(exc: Exception) -> Explanation:  # noqa: PLR0911 - one branch per error
    """Talking to the certificate service failed: the network, its address, or its refusal."""
    if isinstance(exc, ProxyUnavailable):
        return Explanation(
            tr(
                "代理服务器 {proxy} 没有响应。请检查「设置 → 代理服务」中的代理地址和端口，或确认代理服务器已启动。"
            ).format(proxy=exc.proxy),
            NextStep.PROXY,
        )
    if isinstance(exc, ServiceUnavailable):
        return Explanation(
            tr(
                "无法连接证书服务（{url}）。请检查网络连接；如需通过代理上网，请在「设置 → 代理服务」中配置代理后重试。"
            ).format(url=exc.url),
            NextStep.PROXY,
        )
    if isinstance(exc, InsecureServiceUrl):
        return Explanation(
            tr(
                "证书服务地址 {url} 不安全：只能使用 https:// 地址（本机地址如 http://127.0.0.1 除外）。"
                "请在「设置 → 通用设置」中改为 https:// 开头的证书服务地址。"
            ).format(url=exc.url),
            detail=str(exc),
        )
    if isinstance(exc, InvalidNonce):
        return Explanation(
            tr("证书服务返回的登录挑战格式不正确，已拒绝签名。请确认「设置 → 通用设置」中的证书服务地址正确。"),
            detail=str(exc),
        )
    if isinstance(exc, ApiError):
        if exc.code in _SESSION_CODES:
            return Explanation(tr("登录已失效，请重新登录。（{detail}）").format(detail=exc.message), NextStep.LOGIN)
        if exc.status == 407:
            return Explanation(
                tr("代理服务器要求验证，请在「设置 → 代理服务」中填写正确的用户名和密码。"), NextStep.PROXY
            )
        return Explanation(exc.message)  # the service's own Chinese explanation already says what to do
    raise TypeError(type(exc).__name__)


def explain(exc: BaseException) -> Explanation:  # noqa: PLR0911 - one branch per error family
    if isinstance(exc, DriverError):
        return _driver(exc)
    if isinstance(exc, (ProxyUnavailable, ServiceUnavailable, InsecureServiceUrl, InvalidNonce, ApiError)):
        return _service(exc)
    if isinstance(exc, BackupError):
        return Explanation(exc.text.render(tr))
    if isinstance(exc, PasswordIncorrect):
        return Explanation(tr("备份密码错误（或文件已被改动），请重新输入。"))
    if isinstance(exc, TooManyAttempts):
        return Explanation(tr("备份密码错误次数过多，请{seconds}秒后再试。").format(seconds=exc.wait_s))
    if isinstance(exc, GMError):
        return Explanation(tr("证书或密钥数据无效。请重新办理或联系技术支持。"), detail=f"{type(exc).__name__}: {exc}")
    if isinstance(exc, OSError):
        return Explanation(
            tr("文件操作失败：{detail}").format(detail=exc.strerror or type(exc).__name__), detail=str(exc)
        )
    if isinstance(exc, ValueError):
        return Explanation(str(exc))
    log.error("unexpected error", exc_info=exc)
    return Explanation(
        tr("发生了意外错误（{kind}）。请运行「环境修复」检查；如仍有问题，请把日志文件发送给技术支持。").format(
            kind=type(exc).__name__
        ),
        NextStep.REPAIR,
    )
