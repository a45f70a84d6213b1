"""The one place that turns errors into command-line messages and exit codes."""

from __future__ import annotations

import enum
import os
import sys
import traceback
from typing import Any, List

import click

from app.backup_policy import TooManyAttempts
from drivers.errors import (
    DriverError,
    DriverUnavailable,
    NotFound,
    PinIncorrect,
    PinLengthInvalid,
    PinLocked,
    PinMismatch,
    PinTooWeak,
)
from drivers.model import PinWeakness
from gm.errors import (
    CertificateError,
    CryptoUnavailable,
    DecryptionError,
    EncodingError,
    GMError,
    InvalidKey,
    InvalidSignature,
    MalformedSignature,
)


class ExitCode(enum.IntEnum):
    OK = 0
    FAILED_CHECK = 1  # the operation ran and the answer is "no" (bad signature, revoked certificate …)
    USAGE = 2  # bad arguments or unreadable input (click uses 2 too)
    NOT_FOUND = 3  # nothing to act on (no token, no certificate)
    UNAVAILABLE = 4  # a required library or service is missing
    DEVICE = 5  # the device refused or went away (removed, write-protected, corrupted keystore)
    INTERNAL = 70  # a bug: please report


# First match wins: more specific classes before their bases.
_EXIT_CODES = (
    ((MalformedSignature,), ExitCode.USAGE),  # not a signature at all: bad input, not a failed check
    (
        (PinIncorrect, PinLocked, InvalidSignature, DecryptionError, CertificateError, TooManyAttempts),
        ExitCode.FAILED_CHECK,
    ),
    ((PinLengthInvalid, PinMismatch, PinTooWeak), ExitCode.USAGE),
    ((NotFound,), ExitCode.NOT_FOUND),
    ((DriverUnavailable, CryptoUnavailable), ExitCode.UNAVAILABLE),
    ((DriverError,), ExitCode.DEVICE),
    ((EncodingError, InvalidKey, ValueError, OSError), ExitCode.USAGE),
)


def _classify(exc: BaseException) -> ExitCode:
    for classes, code in _EXIT_CODES:
        if isinstance(exc, classes):
            return code
    return ExitCode.INTERNAL


_WEAK_PIN_REASONS = {
    PinWeakness.REPEATED: "同一数字或字符重复",
    PinWeakness.SEQUENCE: "连续的数字或字母",
    PinWeakness.COMMON: "常见的PIN码",
}


def describe(exc: BaseException) -> str:
    """One line for the user. OSError carries the file name; our errors already say what to do."""
    if isinstance(exc, PinTooWeak):
        return f"新PIN码过于简单（{_WEAK_PIN_REASONS[exc.reason]}），请换一个 - {exc}"
    if isinstance(exc, DriverError) and exc.raw_code is not None:
        return f"{exc} [{exc.raw_code_text}]"
    if isinstance(exc, FileNotFoundError):
        return f"file not found: {exc.filename}"
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename}"
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror}"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def run_guarded(command: click.Command, argv: List[str]) -> Any:
    try:
        return command.main(args=argv, prog_name="certassist", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("certassist: aborted", err=True)
        sys.exit(ExitCode.USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except (GMError, DriverError, ValueError, OSError, TooManyAttempts) as exc:
        code = _classify(exc)
        click.echo(f"certassist: {describe(exc)}", err=True)
        sys.exit(code)
    except Exception as exc:  # a bug: one line and the documented exit code, the traceback on request
        if os.environ.get("CERTASSIST_DEBUG"):
            traceback.print_exc()
        click.echo(
            f"certassist: internal error ({type(exc).__name__}: {describe(exc)}); this is a bug, please report it "
            "with the command you ran (CERTASSIST_DEBUG=1 shows the traceback)",
            err=True,
        )
        sys.exit(ExitCode.INTERNAL)
