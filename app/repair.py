"""环境修复: check what the assistant depends on, repair what is safe to repair, and say how to fix the rest.

Plain Python (the tray runs it on a worker thread; tests call it directly).
"""

from __future__ import annotations

import email.utils
import enum
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, List, Optional

from asn1crypto import pem

from app.api_client import ApiError, IssuingClient, ServiceUnavailable
from app.flows import CertificateEntry, list_certificates
from drivers.base import Backend
from drivers.errors import DriverError
from drivers.registry import discover
from drivers.soft import SoftBackend
from gm.errors import GMError
from gm.x509 import Certificate, verify_chain

CLOCK_SKEW_LIMIT = 300  # seconds: certificates and login challenges are time-bound


class Outcome(str, enum.Enum):
    OK = "ok"
    REPAIRED = "repaired"
    WARNING = "warning"
    FAILED = "failed"


@dataclass(frozen=True)
class Check:
    name: str  # the Chinese check name, shown as is (a tr_noop literal in the tray)
    outcome: Outcome
    detail: str


def _backends(backends: List[Backend]) -> List[Check]:
    checks = []
    names = {"soft": "软证书存储", "pkcs11": "USB Key 驱动 (PKCS#11)", "pcsc": "智能卡服务 (PC/SC)"}
    for backend in backends:
        status = backend.status()
        if isinstance(backend, SoftBackend) and not backend.directory.exists():
            backend.directory.mkdir(parents=True, exist_ok=True)  # safe: an empty keystore folder
            checks.append(Check(names["soft"], Outcome.REPAIRED, f"已创建证书目录 {backend.directory}"))
            continue
        outcome = Outcome.OK if status.available else Outcome.WARNING
        checks.append(Check(names.get(backend.name, backend.name), outcome, status.detail))
    return checks


def _chain(client: IssuingClient, entries: List[CertificateEntry]) -> Check:
    try:
        text = client.ca_chain()
    except (ServiceUnavailable, ApiError) as exc:
        return Check("根证书", Outcome.WARNING, f"无法获取根证书链：{exc}")
    chain = [Certificate.from_der(der) for _label, _headers, der in pem.unarmor(text.encode(), multiple=True)]
    roots = [c for c in chain if c.is_self_issued]
    problems = []
    for entry in entries:
        try:
            verify_chain(entry.sign, roots, [c for c in chain if not c.is_self_issued])
        except GMError as exc:
            problems.append(f"{entry.subject}（{entry.device.info.label}）：{exc}")
    if problems:
        return Check(
            "根证书",
            Outcome.WARNING,
            "以下证书不是当前证书服务签发的或已过期，请办理「证书换发」或「证书更新」：" + "；".join(problems),
        )
    return Check("根证书", Outcome.OK, f"{len(entries)} 张证书均可验证到证书服务的根证书")


def _service(client: IssuingClient) -> List[Check]:
    started = time.perf_counter()
    try:
        response = client.health()
    except ServiceUnavailable as exc:
        return [Check("证书服务连接", Outcome.FAILED, str(exc))]
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code == 407:
        return [Check("证书服务连接", Outcome.FAILED, "代理服务器要求验证：请在「设置 → 代理服务」中填写用户名和密码")]
    if response.status_code != 200:
        return [Check("证书服务连接", Outcome.FAILED, f"{client.base_url} 返回 HTTP {response.status_code}")]
    checks = [Check("证书服务连接", Outcome.OK, f"{client.base_url} 可以访问（{elapsed:.0f} 毫秒）")]
    date = response.headers.get("date")
    if date:
        server_time = email.utils.parsedate_to_datetime(date)
        skew = (datetime.now(timezone.utc) - server_time).total_seconds()
        if abs(skew) > CLOCK_SKEW_LIMIT:
            checks.append(
                Check(
                    "系统时间",
                    Outcome.FAILED,
                    f"本机时间与证书服务相差 {skew:+.0f} 秒，请校准系统时间（启用自动同步时间）",
                )
            )
        else:
            checks.append(Check("系统时间", Outcome.OK, f"与证书服务相差 {skew:+.0f} 秒"))
    return checks


def run_checks(
    backends: List[Backend], client: IssuingClient, progress: Optional[Callable[[str], None]] = None
) -> List[Check]:
    report = progress or (lambda _text: None)
    report("正在检查证书设备")
    checks = _backends(backends)
    found = discover(backends)
    entries, unreadable = list_certificates(found.devices)
    for problem in unreadable:
        checks.append(Check("证书文件完整性", Outcome.FAILED, problem + "。请使用「证书解锁」或重新办理「证书签发」"))
    if not unreadable:
        checks.append(Check("证书文件完整性", Outcome.OK, f"{len(found.devices)} 个证书设备，{len(entries)} 张证书"))
    for entry in entries:
        try:
            with entry.device.open() as session:
                info = session.pin_info()
        except DriverError as exc:
            checks.append(Check("PIN码状态", Outcome.WARNING, f"{entry.subject}：{exc}"))
            continue
        if info.locked:
            checks.append(Check("PIN码状态", Outcome.FAILED, f"{entry.subject} 的PIN码已锁定，请使用「证书解锁」"))
    report("正在检查证书服务")
    checks.extend(_service(client))
    checks.append(_chain(client, entries))
    return checks
