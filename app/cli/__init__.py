"""The ``certassist`` command line: one click group; every error becomes one line and an exit code.

Commands are imported when they run (``--version`` and ``token list`` start in a fraction of the time
the crypto, the tray and the HTTP client would take to import; benchmarks/cli_start.py measures it).
"""

from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

# On Windows 7 the app runs on Python 3.8; cryptography's notice about that is not actionable for users.
warnings.filterwarnings("ignore", message=r"Python 3\.8 is no longer supported")

import click  # noqa: E402

from app.cli.errors import ExitCode, run_guarded  # noqa: E402
from app.platform.console import protect_console  # noqa: E402
from app.platform.frozen import demo_unavailable_reason  # noqa: E402

__all__ = ["ExitCode", "cli", "main"]

# command name -> (module, attribute): imported on first use
COMMANDS: Dict[str, Tuple[str, str]] = {
    "bridge": ("app.cli.bridge", "bridge"),
    "crypto": ("app.cli.crypto", "crypto"),
    "diag": ("app.cli.token", "diag"),
    "token": ("app.cli.token", "token"),
}


class LazyGroup(click.Group):
    """A group whose commands are imported when they are called (or listed by --help)."""

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            module, attribute = COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attribute), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="certassist", prog_name="certassist")
@click.option(
    "--demo",
    is_flag=True,
    hidden=demo_unavailable_reason() is not None,  # an installed client package has no service to embed
    help="Start the tray with an embedded issuing service on loopback and a ready demo account "
    "(username demo, applicant 演示用户); mail such as the approval mail with the issuance code (签发码) and "
    "unlock codes is written to its outbox folder.",
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
    if demo and demo_unavailable_reason():
        click.echo(f"certassist: {demo_unavailable_reason()}", err=True)
        sys.exit(ExitCode.UNAVAILABLE)
    if autostart:
        from app.autostart import wanted_at_login

        if not wanted_at_login():
            return  # 开机自动启动 is off for this user
    from app.demo import DemoError
    from app.ui.main import NoDisplay, run_tray

    try:
        code = run_tray(demo=demo, demo_dir=demo_dir, autostart=autostart)
    except (NoDisplay, DemoError) as exc:  # no display, or the demo service did not start
        click.echo(f"certassist: {exc}", err=True)
        sys.exit(ExitCode.UNAVAILABLE)
    sys.exit(code)


def main(argv: Optional[List[str]] = None) -> Any:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0].startswith("chrome-extension://"):  # a browser started us as its native-messaging host
        from app.bridge.native import run

        sys.exit(run(args))
    protect_console()
    return run_guarded(cli, sys.argv[1:] if argv is None else argv)
