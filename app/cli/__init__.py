"""The ``certassist`` command line: one click group; every error becomes one line and an exit code."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any, List, Optional

# On Windows 7 the app runs on Python 3.8; cryptography's notice about that is not actionable for users.
warnings.filterwarnings("ignore", message=r"Python 3\.8 is no longer supported")

import click  # noqa: E402

from app.cli.crypto import crypto  # noqa: E402
from app.cli.errors import ExitCode, run_guarded  # noqa: E402
from app.cli.token import diag, token  # noqa: E402
from app.demo import unavailable_reason  # noqa: E402
from app.platform.console import protect_console  # noqa: E402

__all__ = ["ExitCode", "cli", "main"]


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="certassist", prog_name="certassist")
@click.option(
    "--demo",
    is_flag=True,
    hidden=unavailable_reason() is not None,  # an installed client package has no service to embed
    help="Start the tray with an embedded issuing service on loopback and a ready demo account "
    "(username demo, applicant 演示用户); mail such as unlock codes is written to its outbox folder.",
)
@click.option(
    "--demo-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Data folder of the demo service and its soft keystores (default: the per-user data folder).",
)
@click.option(
    "--autostart",
    is_flag=True,
    help="Start the tray as at login: only when 开机自动启动 (设置 → 通用设置) is on for this user, "
    "and quietly when it already runs. The Windows Run entry uses it.",
)
@click.pass_context
def cli(ctx: click.Context, demo: bool, demo_dir: Optional[Path], autostart: bool) -> None:
    """CertAssist (证书助手): SM2 dual certificates on soft keystores and USB keys.

    Without a command it starts the tray application (a second start brings up the first one).
    Run a command with --help for its options. Files are the same PEM/DER the OpenSSL command line
    reads and writes.
    """
    if ctx.invoked_subcommand is not None:
        if demo or demo_dir or autostart:
            raise click.UsageError("--demo, --demo-dir and --autostart start the tray; use them without a command")
        return
    if demo and unavailable_reason():
        click.echo(f"certassist: {unavailable_reason()}", err=True)
        sys.exit(ExitCode.UNAVAILABLE)
    if autostart:
        from app.autostart import wanted_at_login

        if not wanted_at_login():
            return  # 开机自动启动 is off for this user
    from app.ui.main import NoDisplay, run_tray

    try:
        code = run_tray(demo=demo, demo_dir=demo_dir, autostart=autostart)
    except NoDisplay as exc:
        click.echo(f"certassist: {exc}", err=True)
        sys.exit(ExitCode.UNAVAILABLE)
    sys.exit(code)


cli.add_command(crypto)
cli.add_command(token)
cli.add_command(diag)


def main(argv: Optional[List[str]] = None) -> Any:
    protect_console()
    return run_guarded(cli, sys.argv[1:] if argv is None else argv)
