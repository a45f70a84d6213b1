"""环境修复: check what the assistant depends on, repair what is safe to repair, and say how to fix the rest.

Plain Python (the tray runs it on a worker thread; tests call it directly). Every text is a Chinese
``message`` the tray translates. A check whose problem has a repair on this system names it; the
repair runs only when the user asks (``apply``).
"""

from __future__ import annotations

import email.utils
import enum
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, List, Optional

from asn1crypto import pem

from app.api_client import ApiError, IssuingClient, ProxyUnavailable, ServiceUnavailable
from app.entries import CertificateEntry, list_certificates
from app.messages import Message, message, tr_noop
from app.system_repair import ServiceStarter, TrustStore, smartcard_service_starter, user_trust_store
from drivers.base import Backend, Device
from drivers.errors import DriverError, DriverUnavailable
from drivers.model import DeviceKind
from drivers.pcsc import PcscBackend
from drivers.pkcs11 import Pkcs11Backend
from drivers.pkcs11.backend import load_module, python_pkcs11_available
from drivers.registry import discover
from drivers.soft import SoftBackend
from gm.errors import GMError
from gm.x509 import Certificate, verify_chain

CLOCK_SKEW_LIMIT = 300  # seconds: certificates and login challenges are time-bound


class Outcome(str, enum.Enum):
    OK = "ok"
    REPAIRED = "repaired"
    INFO = "info"  # not in use here, nothing to do (e.g. no smart-card service for a soft certificate)
    WARNING = "warning"
    FAILED = "failed"


class Repair(str, enum.Enum):
    START_SMARTCARD_SERVICE = "start_smartcard_service"
    INSTALL_ROOT_CERTIFICATE = "install_root_certificate"
    RESET_PROXY = "reset_proxy"


@dataclass(frozen=True)
class Check:
    name: str  # the Chinese check name (a literal the tray translates)
    outcome: Outcome
    detail: Message
    repair: Optional[Repair] = None  # offered where this system has a way to make it


@dataclass
class System:
    """What this computer offers for repairs (found once per 环境修复)."""

    smartcard: Optional[ServiceStarter] = None
    trust_store: Optional[TrustStore] = None
    proxy_in_use: bool = False

    @classmethod
    def detect(cls, proxy_in_use: bool) -> System:
        return cls(smartcard_service_starter(), user_trust_store(), proxy_in_use)


@dataclass
class Report:
    checks: List[Check]
    root: Optional[Certificate] = None  # the service's root certificate (for INSTALL_ROOT_CERTIFICATE)


def _pkcs11(backend: Pkcs11Backend) -> Check:
    name = tr_noop("USB Key 驱动 (PKCS#11)")
    paths = backend.module_paths()
    if not paths:
        return Check(name, Outcome.INFO, message("未配置USB Key驱动程序；只使用软证书时不需要"))
    if not python_pkcs11_available():  # the Windows 7 package has no python-pkcs11
        return Check(
            name,
            Outcome.WARNING,
            message(
                "此安装包（Windows 7 版）不支持 PKCS#11 驱动："
                "请使用USB Key的SKF驱动，或在 Windows 10/11 上安装标准安装包"
            ),
        )
    failed = []
    for path in paths:
        try:
            load_module(path)
        except DriverUnavailable:
            failed.append(path)
    if failed:
        return Check(
            name,
            Outcome.WARNING,
            message(
                "USB Key驱动程序无法加载：{modules}。请重新安装USB Key的驱动程序，或在设置文件中改正模块路径",
                modules="、".join(failed),
            ),
        )
    return Check(
        name, Outcome.OK, message("已加载 {n} 个USB Key驱动程序：{modules}", n=len(paths), modules="、".join(paths))
    )


def _pcsc(backend: PcscBackend, needed: bool, system: System) -> Check:
    name = tr_noop("智能卡服务 (PC/SC)")
    status = backend.status()
    if status.available:
        return Check(name, Outcome.OK, message("智能卡服务正在运行"))
    repair = Repair.START_SMARTCARD_SERVICE if system.smartcard is not None else None
    if not needed and repair is not None:
        detail = message("智能卡服务没有运行；只使用软证书时不需要。使用USB Key时可点击「启动智能卡服务」")
        return Check(name, Outcome.INFO, detail, repair)
    if not needed:
        return Check(name, Outcome.INFO, message("智能卡服务没有运行；只使用软证书时不需要"))
    if repair is not None:
        return Check(
            name, Outcome.WARNING, message("智能卡服务没有运行，USB Key无法使用；请点击「启动智能卡服务」"), repair
        )
    return Check(
        name,
        Outcome.WARNING,
        message(
            "智能卡服务没有运行，USB Key无法使用；请由管理员启动系统的智能卡服务（Windows：Smart Card；Linux：pcscd）"
        ),
    )


def _backends(backends: List[Backend], devices: List[Device], system: System) -> List[Check]:
    checks = []
    hard_in_use = any(d.info.kind is DeviceKind.HARD for d in devices) or any(
        isinstance(b, Pkcs11Backend) and b.module_paths() for b in backends
    )
    for backend in backends:
        if isinstance(backend, SoftBackend):
            if not backend.directory.exists():
                backend.directory.mkdir(parents=True, exist_ok=True)  # safe: an empty keystore folder
                checks.append(
                    Check(
                        "软证书存储",
                        Outcome.REPAIRED,
                        message("已创建证书目录 {directory}", directory=str(backend.directory)),
                    )
                )
                continue
            count = len([d for d in devices if d.info.backend == "soft"])
            checks.append(
                Check(
                    tr_noop("软证书存储"),
                    Outcome.OK,
                    message("{count} 个软证书，保存在 {directory}", count=count, directory=str(backend.directory)),
                )
            )
        elif isinstance(backend, Pkcs11Backend):
            checks.append(_pkcs11(backend))
        elif isinstance(backend, PcscBackend):
            checks.append(_pcsc(backend, hard_in_use, system))
        else:
            status = backend.status()
            outcome = Outcome.OK if status.available else Outcome.WARNING
            checks.append(Check(backend.name, outcome, message("{detail}", detail=status.detail)))
    return checks


def _root(client: IssuingClient, entries: List[CertificateEntry], system: System, report: Report) -> Check:
    name = tr_noop("根证书")
    try:
        text = client.ca_chain()
    except (ServiceUnavailable, ApiError):
        return Check(name, Outcome.WARNING, message("无法从证书服务获取根证书，请先解决证书服务连接的问题"))
    chain = [Certificate.from_der(der) for _label, _headers, der in pem.unarmor(text.encode(), multiple=True)]
    roots = [c for c in chain if c.is_self_issued]
    report.root = roots[0] if roots else None
    problems = []
    for entry in entries:
        try:
            verify_chain(entry.sign, roots, [c for c in chain if not c.is_self_issued])
        except GMError:
            problems.append(entry.subject)
    if problems:
        return Check(
            name,
            Outcome.WARNING,
            message(
                "以下证书不是当前证书服务签发的或已过期，请办理「证书换发」或「证书更新」：{subjects}",
                subjects="、".join(problems),
            ),
        )
    store = system.trust_store
    if store is not None and report.root is not None and not store.contains(report.root):
        return Check(
            name,
            Outcome.WARNING,
            message("证书服务的根证书还没有安装到本机用户的受信任根证书中；请点击「安装根证书」"),
            Repair.INSTALL_ROOT_CERTIFICATE,
        )
    return Check(name, Outcome.OK, message("{n} 张证书均可验证到证书服务的根证书", n=len(entries)))


def _service(client: IssuingClient, system: System) -> List[Check]:
    name = tr_noop("证书服务连接")
    reset = Repair.RESET_PROXY if system.proxy_in_use else None
    started = time.perf_counter()
    try:
        response = client.health()
    except ProxyUnavailable as exc:
        return [
            Check(
                name,
                Outcome.FAILED,
                message("代理服务器 {proxy} 没有响应：请检查代理地址和端口，或点击「重置代理设置」", proxy=exc.proxy),
                reset,
            )
        ]
    except ServiceUnavailable as exc:
        return [
            Check(name, Outcome.FAILED, message("无法连接证书服务 {url}：请检查网络连接和代理设置", url=exc.url), reset)
        ]
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code == 407:
        return [
            Check(name, Outcome.FAILED, message("代理服务器要求验证：请在「设置 → 代理服务」中填写用户名和密码"), reset)
        ]
    if response.status_code != 200:
        return [
            Check(
                name,
                Outcome.FAILED,
                message("{url} 返回 HTTP {status}", url=client.base_url, status=response.status_code),
                reset,
            )
        ]
    checks = [Check(name, Outcome.OK, message("{url} 可以访问（{ms} 毫秒）", url=client.base_url, ms=round(elapsed)))]
    date = response.headers.get("date")
    if date:
        server_time = email.utils.parsedate_to_datetime(date)
        skew = round((datetime.now(timezone.utc) - server_time).total_seconds())
        if abs(skew) > CLOCK_SKEW_LIMIT:
            detail = message("本机时间与证书服务相差 {skew} 秒，请校准系统时间（启用自动同步时间）", skew=f"{skew:+d}")
            checks.append(Check("系统时间", Outcome.FAILED, detail))
        else:
            checks.append(Check("系统时间", Outcome.OK, message("与证书服务相差 {skew} 秒", skew=f"{skew:+d}")))
    return checks


def run_checks(
    backends: List[Backend],
    client: IssuingClient,
    progress: Optional[Callable[[str], None]] = None,
    system: Optional[System] = None,
) -> Report:
    report_progress = progress or (lambda _text: None)
    system = system or System()
    report = Report([])
    report_progress("正在检查证书设备")
    found = discover(backends)
    report.checks.extend(_backends(backends, found.devices, system))
    entries, unreadable = list_certificates(found.devices)
    for device, exc in unreadable:
        report.checks.append(
            Check(
                tr_noop("证书文件完整性"),
                Outcome.FAILED,
                message(
                    "无法读取证书设备「{label}」（{code}）：请重新插入USB Key；"
                    "软证书请使用「证书解锁」或重新办理「证书签发」",
                    label=device.info.label,
                    code=exc.raw_code_text if exc.raw_code is not None else type(exc).__name__,
                ),
            )
        )
    if not unreadable:
        report.checks.append(
            Check(
                tr_noop("证书文件完整性"),
                Outcome.OK,
                message(
                    "{devices} 个证书设备，{certificates} 张证书", devices=len(found.devices), certificates=len(entries)
                ),
            )
        )
    for entry in entries:
        try:
            with entry.device.open() as session:
                info = session.pin_info()
        except DriverError as exc:
            detail = message("{subject}：无法读取PIN码状态（{code}）", subject=entry.subject, code=exc.raw_code_text)
            report.checks.append(Check("PIN码状态", Outcome.WARNING, detail))
            continue
        if info.locked:
            detail = message("{subject} 的PIN码已锁定，请使用「证书解锁」", subject=entry.subject)
            report.checks.append(Check("PIN码状态", Outcome.FAILED, detail))
    report_progress("正在检查证书服务")
    report.checks.extend(_service(client, system))
    report.checks.append(_root(client, entries, system, report))
    return report


def apply_repair(repair: Repair, system: System, root: Optional[Certificate]) -> None:
    """Make a system repair the user asked for (raises RepairFailed); the proxy reset is a setting."""
    if repair is Repair.START_SMARTCARD_SERVICE and system.smartcard is not None:
        system.smartcard.start()
    elif repair is Repair.INSTALL_ROOT_CERTIFICATE and system.trust_store is not None and root is not None:
        system.trust_store.install(root)
    else:
        raise ValueError(f"{repair.value} is not available here")
