"""``certassist bridge``: the browser bridge's native-messaging host registration (Linux; the MSI does it
on Windows) and a look at what the bridge would answer."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Tuple

import click

from app.bridge.native import LINUX_MANIFEST_DIRS, host_manifest, install_manifest


@click.group()
def bridge() -> None:
    """The local browser bridge (网站证书登录): native-messaging host for the CertAssist extension."""


def _executable() -> str:
    found = shutil.which("certassist")
    if found:
        return str(Path(found).resolve())
    return str(Path(sys.argv[0]).resolve())


@bridge.command("install-host")
@click.option(
    "--browser",
    "browsers",
    type=click.Choice(sorted(LINUX_MANIFEST_DIRS)),
    multiple=True,
    help="Browsers to register the host for (default: all of them).",
)
@click.option("--print", "print_only", is_flag=True, help="Only print the host manifest.")
def install_host(browsers: Tuple[str, ...], print_only: bool) -> None:
    """Register the native-messaging host for this user's Chromium-family browsers (Linux).

    The CertAssist extension then reaches the assistant without the browser's local-network prompt.
    """
    manifest = host_manifest(_executable())
    if print_only:
        click.echo(json.dumps(manifest, indent=1))
        return
    if sys.platform == "win32":
        raise click.ClickException("在 Windows 上由安装程序（MSI）为 Chrome 和 Edge 注册，无需手动注册")
    for name in browsers or sorted(LINUX_MANIFEST_DIRS):
        path = install_manifest(Path.home() / LINUX_MANIFEST_DIRS[name], manifest["path"])
        click.echo(f"{name}: {path}")
