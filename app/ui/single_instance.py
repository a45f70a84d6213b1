"""One tray per user and data folder: the first start listens on a local socket, a second start pokes it.

The socket must be one that no other user can take first (issue 13.8: a fixed name under /tmp let any
local user occupy it, and the real app then exited silently):
- Linux: a socket file in the per-user runtime folder ($XDG_RUNTIME_DIR, 0700), or else in a private
  0700 folder of our own under the temp folder, checked to be ours before use;
- Windows: Qt's named pipe, created with ``UserAccessOption`` (only this user may connect).
The first instance answers a poke with a token kept in the user's data folder, which another user cannot
read; a server that does not answer with it is someone else's. When the socket cannot be claimed, the
tray says so (console, log and a tray message) and runs anyway.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import os
import secrets
import stat
import sys
import tempfile
from pathlib import Path
from typing import Optional, Tuple

from qtpy.QtCore import QObject, Signal
from qtpy.QtNetwork import QLocalServer, QLocalSocket

from app.ui.i18n import tr
from drivers.soft.storage import atomic_write

POKE = b"show\n"
ANSWER_FILE = "instance.id"  # what only our own instance can answer
CONNECT_MS = 500
ANSWER_MS = 3000


class Claim(enum.Enum):
    CLAIMED = "claimed"  # this process is the instance
    ALREADY_RUNNING = "already running"  # our first instance was brought up; exit
    UNAVAILABLE = "unavailable"  # cannot be sure: run anyway and say why (``problem``)


def private_runtime_dir() -> Tuple[Optional[Path], str]:
    """A folder only this user can enter, for the socket file (Linux and other Unix), or a problem text."""
    if sys.platform == "win32":
        return None, "named pipes need no folder"
    else:
        runtime = os.environ.get("XDG_RUNTIME_DIR")
        if runtime and _is_private(Path(runtime)):
            return Path(runtime), ""
        folder = Path(tempfile.gettempdir()) / f"certassist-{os.getuid()}"
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        except OSError as exc:
            return None, tr("无法创建文件夹 {path}：{error}").format(path=folder, error=exc.strerror)
        if not _is_private(folder):
            return None, tr("文件夹 {path} 不属于当前用户，或其他用户也能进入").format(path=folder)
        return folder, ""


def _is_private(folder: Path) -> bool:
    if sys.platform == "win32":
        return False
    else:
        try:
            info = folder.lstat()  # a symlink planted by someone else is not our folder
        except OSError:
            return False
        return stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & 0o077


class SingleInstance(QObject):
    activated = Signal()

    def __init__(self, home: Path) -> None:
        super().__init__()
        self.home = home
        user = os.environ.get("USERNAME") or os.environ.get("USER") or "user"
        digest = hashlib.sha256(f"{user}:{home.resolve()}".encode()).hexdigest()[:16]
        self.problem = ""
        self.name = ""  # a pipe name on Windows, the socket file's full path elsewhere
        if sys.platform == "win32":
            self.name = f"certassist-{digest}"
        else:
            folder, self.problem = private_runtime_dir()
            if folder is not None:
                self.name = str(folder / f"certassist-{digest}")
        self.server: Optional[QLocalServer] = None

    def token(self) -> bytes:
        path = self.home / ANSWER_FILE
        try:
            value = path.read_bytes().strip()
        except FileNotFoundError:
            value = b""
        if len(value) < 32:
            value = secrets.token_hex(16).encode()
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, value, mode=0o600)
        return value

    def claim(self) -> Claim:
        if not self.name:
            return self._unavailable(self.problem)
        socket = QLocalSocket()
        socket.connectToServer(self.name)
        if socket.waitForConnected(CONNECT_MS):
            answer = self._poke(socket)
            if hmac.compare_digest(answer, self.token()):
                return Claim.ALREADY_RUNNING
            return self._unavailable(tr("{path} 已被另一个程序占用").format(path=self.name))
        QLocalServer.removeServer(self.name)  # a stale socket file of a crashed instance (in our own folder)
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self.server.listen(self.name):
            error = self.server.errorString()
            self.server = None
            return self._unavailable(tr("无法监听 {path}：{error}").format(path=self.name, error=error))
        self.server.newConnection.connect(self._poked)
        return Claim.CLAIMED

    def _poke(self, socket: QLocalSocket) -> bytes:
        socket.write(POKE)
        socket.flush()
        answer = b""
        while not answer.endswith(b"\n") and socket.waitForReadyRead(ANSWER_MS):
            answer += bytes(socket.readAll().data())
        socket.disconnectFromServer()
        return answer.strip()

    def _unavailable(self, detail: str) -> Claim:
        text = tr("证书助手无法确认只运行了一个（{detail}），本次照常运行；再次启动时可能会打开第二个。")
        self.problem = text.format(detail=detail)
        return Claim.UNAVAILABLE

    def _poked(self) -> None:
        assert self.server is not None
        connection = self.server.nextPendingConnection()
        if connection is not None:
            connection.disconnected.connect(connection.deleteLater)
            connection.readyRead.connect(self._answer)  # a method: disconnected by Qt if we go first

    def _answer(self) -> None:
        connection = self.sender()
        if not isinstance(connection, QLocalSocket) or not connection.canReadLine():
            return
        if bytes(connection.readLine().data()) == POKE:
            connection.write(self.token() + b"\n")
            connection.flush()
            self.activated.emit()
