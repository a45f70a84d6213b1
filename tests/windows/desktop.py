"""An X display with a tray host for Windows programs under Wine: Xvfb + trayer, stopped by PID."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from typing import Dict, List, Optional, Set, Tuple


def _run(env: Dict[str, str], *args: str) -> str:
    return subprocess.run(list(args), env=env, capture_output=True, text=True, timeout=30, check=False).stdout


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Desktop:
    """``with Desktop() as desktop:`` — ``desktop.display`` is ":N"; trayer owns the tray selection."""

    def __init__(self, width: int = 1024, height: int = 768) -> None:
        self.width, self.height = width, height
        self.display = ""
        self.processes: List[subprocess.Popen[bytes]] = []

    @property
    def env(self) -> Dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
        env["DISPLAY"] = self.display
        return env

    def __enter__(self) -> Desktop:
        for tool in ("Xvfb", "trayer", "xdotool", "import"):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is required (./test.sh installs xvfb trayer xdotool imagemagick)")
        read_fd, write_fd = os.pipe()
        screen = f"{self.width}x{self.height}x24"
        xvfb = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", screen, "-nolisten", "tcp"],
            pass_fds=(write_fd,),
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(xvfb)
        os.close(write_fd)
        with os.fdopen(read_fd) as pipe:
            self.display = ":" + pipe.readline().strip()
        problems = []
        for _attempt in range(3):  # trayer now and then exits at once on a display that just came up
            problem = self._start_trayer()
            if not problem:
                break
            problems.append(problem)
        else:
            self.__exit__()
            raise RuntimeError(f"trayer did not start: {problems}")
        return self

    def _start_trayer(self) -> str:
        trayer = subprocess.Popen(
            ["trayer", "--edge", "bottom", "--align", "right", "--widthtype", "request", "--height", "32",
             "--SetDockType", "true", "--transparent", "false"],
            env=self.env,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while not _run(self.env, "xdotool", "search", "--classname", "trayer").split():
            if trayer.poll() is not None:
                assert trayer.stderr is not None
                return f"exit {trayer.returncode}: {trayer.stderr.read().decode(errors='replace')[-300:]}"
            if time.monotonic() > deadline:
                stop(trayer)
                return "no trayer window within 30 s"
            time.sleep(0.1)
        self.processes.append(trayer)
        return ""

    def __exit__(self, *exc: object) -> None:
        for process in reversed(self.processes):
            stop(process)
        self.processes.clear()

    def windows(self, name: str = "") -> List[str]:
        """Visible windows whose title matches ``name`` (a regular expression; "" matches untitled ones too:
        Wine docks a tray icon as an untitled window of its explorer.exe)."""
        return _run(self.env, "xdotool", "search", "--onlyvisible", "--name", name).split()

    def geometry(self, window: str) -> Dict[str, int]:
        shell = _run(self.env, "xdotool", "getwindowgeometry", "--shell", window).split()
        return {k: int(v) for k, v in (line.split("=", 1) for line in shell) if k != "SCREEN"}

    def new_tray_icon(self, before: Set[str]) -> Optional[Dict[str, int]]:
        """A small window docked in trayer's panel (bottom right) that was not there ``before``."""
        for window in set(self.windows()) - before:
            g = self.geometry(window)
            if 8 <= g.get("WIDTH", 0) <= 48 and 8 <= g.get("HEIGHT", 0) <= 48 and g.get("Y", 0) > self.height - 64:
                return g
        return None

    def screenshot(self, path: str) -> None:
        subprocess.run(["import", "-window", "root", path], env=self.env, check=True, timeout=30)

    def click(self, x: int, y: int, button: int = 1) -> None:
        """Move there, rest, press, rest, release: Wine's tray forwards a quick click to nobody."""
        _run(self.env, "xdotool", "mousemove", str(x), str(y))
        time.sleep(0.5)
        _run(self.env, "xdotool", "mousedown", str(button))
        time.sleep(0.3)
        _run(self.env, "xdotool", "mouseup", str(button))

    def light_pixels(self, path: str, box: Tuple[int, int, int, int]) -> int:
        """Take a screenshot to ``path`` and count the light pixels in ``box`` (a menu is mostly light)."""
        from PIL import Image

        self.screenshot(path)
        with Image.open(path) as image:
            return sum(image.convert("L").crop(box).histogram()[201:])
