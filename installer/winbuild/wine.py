"""Wine prefixes for the build and the tests: private, quiet, with the Windows 10 stand-in DLLs or without
(the Windows 7 build and its tests use a plain prefix: what it ships must run on Windows 7 as it is).

Every prefix gets its own ``HOME`` (or Wine writes menu entries and .desktop files into the real one) and
``winemenubuilder`` disabled; Mono/Gecko installers are disabled too (nothing may be downloaded). Console
programs run with stdin from /dev/null and stdout on a pipe: Wine gives a Windows program an invalid
handle for a redirected regular file, and Python then fails in ``init_sys_streams``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from installer.winbuild.cache import Hasher, build_lock, cache_root, prune, publish, remove, staging_dir

REPO = Path(__file__).resolve().parents[2]
STANDINS = REPO / "installer" / "wine-standins"
# Windows 10 system DLLs (or functions) Wine 8 lacks: in build and test prefixes only, never in a bundle or MSI
STANDIN_DLLS = ("bcryptprimitives.dll", "icuuc.dll", "mscms.dll")
# Wine has its own mscms.dll without WcsCreateIccProfile: only our executables load the stand-in instead
NATIVE_FOR_OUR_EXECUTABLES = ("mscms",)
OUR_EXECUTABLES = ("certassist.exe", "certassist-tray.exe")
TOOLS = {
    "wine": "wine",
    "wineserver": "wine",
    "wineboot": "wine",
    "wixl": "wixl",
    "wixl-heat": "wixl",
    "msibuild": "msitools",
    "msiinfo": "msitools",
    "x86_64-w64-mingw32-gcc": "gcc-mingw-w64-x86-64",
}
DLL_OVERRIDES = "winemenubuilder.exe=d;mscoree=d;mshtml=d"


def check_tools(names: Sequence[str] = tuple(TOOLS)) -> None:
    missing = sorted({TOOLS[n] for n in names if shutil.which(n) is None})
    if missing:
        raise RuntimeError(
            "missing build tools; install the Debian packages " + " ".join(missing) + " (scripts/bootstrap.sh test)"
        )


def wine_version() -> str:
    return subprocess.run(["wine", "--version"], capture_output=True, text=True, check=True).stdout.strip()


def windows_path(path: Path) -> str:
    """A Linux path as Wine's drive Z: shows it (Z: is the host's /)."""
    return "Z:" + str(path.resolve()).replace("/", "\\")


class WinePrefix:
    def __init__(self, path: Path, home: Path, lang: str = "zh_CN.UTF-8", display: Optional[str] = None) -> None:
        self.path = path
        self.home = home
        self.lang = lang
        self.display = display
        self.session = False
        home.mkdir(parents=True, exist_ok=True)

    @property
    def drive_c(self) -> Path:
        return self.path / "drive_c"

    @property
    def user(self) -> str:
        return os.environ.get("USER") or "root"

    @property
    def profile(self) -> Path:
        """The Windows user's profile folder (C:\\users\\<name>)."""
        return self.drive_c / "users" / self.user

    def env(self, extra: Optional[Dict[str, str]] = None, lang: Optional[str] = None) -> Dict[str, str]:
        keep = ("PATH", "USER", "LOGNAME", "TMPDIR", "XAUTHORITY")
        env = {k: os.environ[k] for k in keep if k in os.environ}
        env.update(
            WINEPREFIX=str(self.path),
            WINEARCH="win64",
            WINEDEBUG="-all",
            WINEDLLOVERRIDES=DLL_OVERRIDES,
            HOME=str(self.home),
            LANG=lang or self.lang,
            LC_ALL=lang or self.lang,
        )
        if self.display:
            env["DISPLAY"] = self.display
        env.update(extra or {})
        return env

    def start(self) -> None:
        """Start a persistent session whose background services (explorer, rpcss …) hold no pipe of ours.

        The first Windows program of a session starts them and they inherit its stdout; a captured run
        would then wait for them until the wineserver exits. Started from /dev/null they hold nothing, and
        each later program returns as soon as it ends. (A session start runs no Run entries; a login does:
        ``wine wineboot`` without options, see tests/windows.)
        """
        if self.session:
            return
        for command, timeout in ((["wineserver", "-p"], 60), (["wine", "cmd", "/c", "exit"], 300)):
            subprocess.run(
                command,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=timeout,
                check=True,
            )
        self.session = True

    def run(
        self,
        args: Sequence[str],
        timeout: float = 300,
        extra_env: Optional[Dict[str, str]] = None,
        lang: Optional[str] = None,
        cwd: Optional[Path] = None,
    ) -> subprocess.CompletedProcess[bytes]:
        """Run ``wine ARGS`` as a console program; stdout and stderr together, as bytes."""
        self.start()
        try:
            return subprocess.run(
                ["wine", *args],
                env=self.env(extra_env, lang),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                cwd=cwd,
                check=False,
            )
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def popen(self, args: Sequence[str], extra_env: Optional[Dict[str, str]] = None) -> subprocess.Popen[bytes]:
        self.start()
        return subprocess.Popen(
            ["wine", *args],
            env=self.env(extra_env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    def wineserver(self, *args: str, timeout: float = 60) -> None:
        subprocess.run(["wineserver", *args], env=self.env(), timeout=timeout, check=False)

    def kill(self) -> None:
        """End every Windows program of this prefix (a killed ``wine`` leaves them running) and the session."""
        self.wineserver("-k")
        self.wineserver("-w")
        self.session = False

    def boot(self) -> None:
        subprocess.run(
            ["wineboot", "-i"], env=self.env(), stdin=subprocess.DEVNULL, capture_output=True, timeout=300, check=True
        )
        self.wineserver("-w")


def build_standins(dest: Path) -> List[Path]:
    check_tools(["x86_64-w64-mingw32-gcc"])
    built = []
    for source in sorted(STANDINS.glob("*.c")):
        dll = dest / (source.stem + ".dll")
        command = ["x86_64-w64-mingw32-gcc", "-O2", "-Wall", "-Wextra", "-shared", "-o", str(dll), str(source)]
        definition = source.with_suffix(".def")
        if definition.exists():
            command.append(str(definition))
        command += ["-ladvapi32"]
        subprocess.run(command, check=True, capture_output=True)
        built.append(dll)
    return built


def template(standins: bool = True) -> Path:
    """A booted prefix, with the stand-ins in system32 or without, cached per Wine version and stand-in source."""
    check_tools(["wine", "wineboot", "wineserver"])
    with build_lock():
        return _template(standins)


def _template(standins: bool) -> Path:
    hasher = Hasher("wine-template-3").text(wine_version())
    if standins:
        key = hasher.tree(STANDINS).hexdigest()
        final = cache_root() / "wine" / f"template-{key}"
    else:
        final = cache_root() / "wine" / f"plain-{hasher.hexdigest()}"
    parent = final.parent
    if (final / "system.reg").exists():
        return final
    staging = staging_dir(parent, "template")
    try:
        prefix = WinePrefix(staging / "prefix", staging / "home")
        prefix.boot()
        # wineboot links Desktop, Documents … to $HOME; copies of the template need folders of their own
        for link in (prefix.drive_c / "users").glob("*/*"):
            if link.is_symlink():
                link.unlink()
                link.mkdir()
        for dll in build_standins(staging) if standins else []:
            shutil.copy2(dll, prefix.drive_c / "windows" / "system32" / dll.name)
            dll.unlink()
        for exe in OUR_EXECUTABLES if standins else ():
            for dll_name in NATIVE_FOR_OUR_EXECUTABLES:
                key = rf"HKCU\Software\Wine\AppDefaults\{exe}\DllOverrides"
                result = prefix.run(["reg", "add", key, "/v", dll_name, "/d", "native", "/f"], timeout=120)
                if result.returncode != 0:
                    raise RuntimeError(f"wine reg add {key} failed: {result.stdout!r}")
        prefix.kill()
        shutil.rmtree(staging / "home")
        # the prefix's own files live at the top of the cache entry
        for item in (staging / "prefix").iterdir():
            os.replace(item, staging / item.name)
        (staging / "prefix").rmdir()
        publish(staging, final)
    except BaseException:
        remove(staging)
        raise
    prune(parent, keep=2)
    return final


def new_prefix(
    dest: Path, lang: str = "zh_CN.UTF-8", display: Optional[str] = None, standins: bool = True
) -> WinePrefix:
    """A fresh prefix at ``dest/prefix`` (a copy of the template) with its own ``dest/home``."""
    dest.mkdir(parents=True, exist_ok=True)
    with build_lock():  # another checkout's build may be replacing the template
        subprocess.run(["cp", "-a", str(template(standins)), str(dest / "prefix")], check=True)
    return WinePrefix(dest / "prefix", dest / "home", lang=lang, display=display)
