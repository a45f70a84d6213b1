"""The ``certassist`` command line: one click group; every error becomes one line and an exit code."""

from __future__ import annotations

import sys
import warnings
from typing import Any, List, Optional

# On Windows 7 the app runs on Python 3.8; cryptography's notice about that is not actionable for users.
warnings.filterwarnings("ignore", message=r"Python 3\.8 is no longer supported")

import click  # noqa: E402

from app.cli.crypto import crypto  # noqa: E402
from app.cli.errors import ExitCode, run_guarded  # noqa: E402
from app.cli.token import diag, token  # noqa: E402

__all__ = ["ExitCode", "cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="certassist", prog_name="certassist")
def cli() -> None:
    """CertAssist (证书助手): SM2 dual certificates on soft keystores and USB keys.

    Run a command with --help for its options. Files are the same PEM/DER the OpenSSL command line
    reads and writes.
    """


cli.add_command(crypto)
cli.add_command(token)
cli.add_command(diag)


def main(argv: Optional[List[str]] = None) -> Any:
    return run_guarded(cli, sys.argv[1:] if argv is None else argv)
