"""The PyInstaller onedir bundle, built by the Windows interpreter under Wine with build.spec."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from gm._native.locate import ENV_OVERRIDE, candidate_paths
from installer.winbuild.cache import Hasher, cache_root, prune, publish, remove, staging_dir
from installer.winbuild.icon import make_ico
from installer.winbuild.targets import Target
from installer.winbuild.wine import STANDIN_DLLS, new_prefix, windows_path

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("gm", "drivers", "app", "resources")
EXECUTABLES = ("certassist.exe", "certassist-tray.exe")


def project_version() -> str:
    found = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(encoding="utf-8"), re.M)
    if found is None:
        raise RuntimeError("pyproject.toml has no version")
    return found.group(1)


def bundle_key(target: Target, python: Path) -> str:
    hasher = Hasher("bundle-2").text(repr(target)).text(python.name).text(project_version())
    hasher.file(REPO / "build.spec").file(REPO / "installer" / "winbuild" / "icon.py")
    for name in SOURCES:
        hasher.text(name).tree(REPO / name)
    return hasher.hexdigest()


def bundled_libcrypto(folder: Path) -> Path:
    """The OpenSSL 3 libcrypto gm loads in the frozen app: a file name gm._native.locate tries, in _internal."""
    override = os.environ.pop(ENV_OVERRIDE, None)  # the build machine's own choice says nothing about Windows
    try:
        names = sorted({Path(path).name for path in candidate_paths("win32")})
    finally:
        if override is not None:
            os.environ[ENV_OVERRIDE] = override
    for name in names:
        path = folder / "_internal" / name
        if path.is_file():
            return path
    raise RuntimeError(f"the bundle has no OpenSSL 3 libcrypto under a name gm looks for: {names}")


def build_bundle(target: Target, python: Path, log: Path) -> Path:
    """``<cache>/bundle/<key>/`` holding ``certassist/`` (the onedir folder) and ``certassist.ico``."""
    key = bundle_key(target, python)
    parent = cache_root() / "bundle"
    final = parent / f"{target.name}-{key}"
    if (final / "certassist" / "certassist.exe").exists():
        return final
    staging = staging_dir(parent, target.name)
    scratch = Path(tempfile.mkdtemp(prefix="certassist-pyinstaller-"))
    try:
        icon = make_ico(staging / "certassist.ico")
        prefix = new_prefix(scratch, standins=target.standins)
        try:
            result = prefix.run(
                [
                    windows_path(python / "python.exe"),
                    "-m",
                    "PyInstaller",
                    "--noconfirm",
                    "--clean",
                    "--log-level=WARN",
                    "--distpath",
                    windows_path(staging),
                    "--workpath",
                    windows_path(scratch / "work"),
                    windows_path(REPO / "build.spec"),
                ],
                timeout=1800,
                extra_env={"CERTASSIST_ICON": windows_path(icon)},
                cwd=REPO,
            )
        finally:
            prefix.kill()
        log.write_bytes(result.stdout)
        folder = staging / "certassist"
        missing = [name for name in EXECUTABLES if not (folder / name).exists()]
        if result.returncode != 0 or missing:
            raise RuntimeError(f"PyInstaller under Wine failed (exit {result.returncode}, no {missing}); see {log}")
        shipped_standins = [p for p in folder.rglob("*") if p.name.lower() in STANDIN_DLLS]
        if shipped_standins:
            raise RuntimeError(f"Wine stand-in DLLs got into the bundle: {shipped_standins}")
        bundled_libcrypto(folder)
        publish(staging, final)
    except BaseException:
        remove(staging)
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    prune(parent)
    return final
