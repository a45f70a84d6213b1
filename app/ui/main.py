"""``certassist`` without a command: the tray app (``--demo`` adds an embedded issuing service)."""

from __future__ import annotations

import logging
import logging.handlers
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Optional

from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication, QLabel, QPushButton, QSystemTrayIcon, QVBoxLayout, QWidget

from app.settings import ENV_SERVICE_URL
from app.ui.single_instance import Claim, SingleInstance
from drivers.soft.driver import certassist_home

log = logging.getLogger(__name__)


class NoDisplay(RuntimeError):
    pass


class FallbackWindow(QWidget):
    """Without a system tray (some Linux desktops) the same menu opens from a small window."""

    def __init__(self, tray: Any) -> None:
        super().__init__()
        from app.ui.i18n import tr
        from app.ui.widgets import app_title

        self.setWindowTitle(app_title())
        self.setWindowIcon(tray.icon)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(tr("未检测到系统托盘，证书助手的菜单在此窗口中。")))
        button = QPushButton(tr("打开菜单"))
        button.setMenu(tray.menu)
        layout.addWidget(button)
        self.notice = QLabel()  # the tray's notifications (刷新's result, expiry warnings) show here instead
        self.notice.setWordWrap(True)
        layout.addWidget(self.notice)
        tray.controller.notify.connect(lambda title, text: self.notice.setText(f"{title}：{text}"))

    def closeEvent(self, event: Any) -> None:
        QApplication.quit()
        event.accept()


def setup_logging() -> Path:
    directory = certassist_home() / "logs"
    directory.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        directory / "certassist.log", maxBytes=1_000_000, backupCount=3, encoding="utf-8"
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return directory


def check_display() -> None:
    if sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM"):
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            raise NoDisplay(
                "证书助手需要图形桌面：没有找到显示器（DISPLAY 未设置）。请在桌面环境中运行；"
                "无显示器的服务器可用 `xvfb-run -a ./run.sh --demo`，或使用命令行 `certassist --help`。"
            )


def _start_demo(model: Any, data_dir: Optional[Path]) -> Any:
    """The embedded service starts on a thread and comes up behind the login box, which shows at once;
    the client's calls wait for it."""
    from app.demo import DemoLauncher

    try:
        bridge_port = model.settings.effective_bridge_port()
    except ValueError:  # the bridge says why when it starts
        bridge_port = 0
    launcher = DemoLauncher(data_dir, bridge_port=bridge_port)  # the portal's page calls this tray's bridge
    launcher.start()
    os.environ[ENV_SERVICE_URL] = launcher.url
    model.wait_for_service = launcher.wait
    model.service_starting = launcher.starting
    _announce(launcher)
    return launcher


def _quit_on_signals(app: QApplication) -> None:
    """SIGTERM / Ctrl+C end the event loop normally, so the demo service and workers are stopped too.

    Python runs signal handlers only between bytecodes; a short timer gives it the chance while Qt waits.
    """
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_args: app.quit())
    timer = QTimer(app)
    timer.timeout.connect(lambda: None)
    timer.start(250)


def _announce(service: Any) -> None:
    print(
        f"证书助手演示模式：证书服务 {service.url}\n"
        f"  演示账号：用户名 demo，申请人名称 演示用户（验证码见登录窗口图片）\n"
        f"  签发码：在审核通过邮件中（证书签发时需要输入）\n"
        f"  邮件（审核通知和签发码、解锁码）保存在：{service.outbox}\n"
        f"  数据目录：{service.data_dir}",
        flush=True,
    )


def _application() -> QApplication:
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("CertAssist")
    app.setQuitOnLastWindowClosed(False)
    return app


def _claim_instance(autostart: bool) -> Optional[SingleInstance]:
    """This start's instance, or None when the first one was brought up instead (this start then ends)."""
    instance = SingleInstance(certassist_home())
    if instance.claim() is Claim.ALREADY_RUNNING:
        if not autostart:
            print("证书助手已在运行，已切换到正在运行的证书助手。")
        return None
    setup_logging()
    if instance.problem:  # could not claim it: run anyway, and say so
        log.warning("single instance unavailable: %s", instance.problem)
        print(instance.problem, file=sys.stderr)
    return instance


def run_tray(demo: bool = False, demo_dir: Optional[Path] = None, autostart: bool = False) -> int:
    """``autostart``: started at login (the Run entry); quietly does nothing when already running."""
    check_display()
    if demo:
        from app.demo import default_demo_dir

        demo_dir = (demo_dir or default_demo_dir()).resolve()
        os.environ["CERTASSIST_HOME"] = str(demo_dir / "client")  # demo keystores apart from real ones
    started = time.perf_counter()
    app = _application()
    instance = _claim_instance(autostart)
    if instance is None:
        return 0

    from app.ui import i18n
    from app.ui.controller import Controller
    from app.ui.jobs import JobRunner
    from app.ui.model import AppModel
    from app.ui.tray import TrayApp, make_icon

    icon = make_icon()
    app.setWindowIcon(icon)
    model = AppModel()
    i18n.install(model.settings.language)
    service = None
    tooltip = ""
    if demo:
        service = _start_demo(model, demo_dir)
        tooltip = i18n.tr("演示模式：{url}").format(url=service.url)
    tray = TrayApp(Controller(model, JobRunner(), icon), tooltip)
    instance.activated.connect(tray.bring_up)
    fallback = None if QSystemTrayIcon.isSystemTrayAvailable() else FallbackWindow(tray)
    if fallback is not None:
        fallback.show()
    tray.start(splash=not demo and not autostart)
    if not tray.controller.bridge.start() and tray.controller.bridge.problem:
        tray.show_message(i18n.tr("证书助手"), tray.controller.bridge.problem)
    if instance.problem:
        tray.show_message(i18n.tr("证书助手"), instance.problem)
    if service is not None:
        tray.show_message(
            i18n.tr("演示模式"),
            i18n.tr(
                "演示账号：用户名 demo，申请人名称 演示用户。证书签发所需的签发码在审核通过邮件中；"
                "签发码、解锁码等邮件保存在 {outbox}"
            ).format(outbox=service.outbox),
        )
    log.info("tray ready in %.0f ms", (time.perf_counter() - started) * 1000)
    _quit_on_signals(app)
    try:
        return int(app.exec())
    finally:
        tray.controller.bridge.stop()
        tray.stop()
        if service is not None:  # first: a job still waiting for the service is released at once
            service.stop()
        tray.controller.jobs.shutdown()
