"""``certassist token backup|restore|decrypt``: 备份证书, 恢复证书, and decryption with the keys a device holds
(its current encryption keys and the earlier ones kept since 证书更新/证书换发)."""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, List, Optional, Tuple

import click

from app.platform.console import json_ascii

if TYPE_CHECKING:
    from app.api_client import IssuingClient
    from app.entries import CertificateEntry
    from drivers.soft import SoftDevice

BACKUP_FILE_LIMIT = 2 * 1024 * 1024  # a PKCS#12 backup is a few KB; gm.pkcs12 refuses over 1 MB anyway

password_stdin_option = click.option(
    "--password-stdin", is_flag=True, help="Read the backup password from stdin (the first line) instead of prompting."
)
pin_stdin_option = click.option(
    "--pin-stdin",
    is_flag=True,
    help="Read the PIN from stdin (one line, after the backup password when --password-stdin is given).",
)


def _stdin_lines(count: int) -> List[str]:
    lines = sys.stdin.read().splitlines()
    if len(lines) < count:
        raise click.UsageError(f"stdin needs {count} line(s) (backup password first, then the PIN), got {len(lines)}")
    return lines[:count]


def _secrets(password_stdin: bool, pin_stdin: bool, restoring: bool) -> Tuple[str, str]:
    """(backup password, PIN): from stdin lines in that order where asked, else hidden prompts. What is being
    set is asked twice: the backup password when backing up, the new keystore's PIN when restoring."""
    lines = _stdin_lines(int(password_stdin) + int(pin_stdin)) if password_stdin or pin_stdin else []
    if password_stdin:
        password = lines.pop(0)
    else:
        password = click.prompt("Backup password (备份密码)", hide_input=True, confirmation_prompt=not restoring)
    if pin_stdin:
        pin = lines.pop(0)
    else:
        pin = click.prompt("New PIN" if restoring else "PIN", hide_input=True, confirmation_prompt=restoring)
    return password, pin


def _soft_device(selector: Optional[str], what: str) -> SoftDevice:
    """The soft keystore named by ``selector`` (the only one when there is one)."""
    from drivers.registry import select_device
    from drivers.soft import SoftBackend, SoftDevice

    device = select_device(SoftBackend().devices(), selector)
    if not isinstance(device, SoftDevice):
        raise click.UsageError(f"{device.info.label}: {what}")
    return device


def _refuse_existing(target: Path, force: bool) -> None:
    """Before any secret is asked: an existing file is replaced only with --force."""
    if target.exists() and not force:
        raise click.UsageError(f"{target} already exists (文件已存在): choose another name, or --force to replace it")


def _service_note(action: str, exc: Exception) -> None:
    click.echo(f"note: the issuing service was not told ({action}): {exc}", err=True)


def _client(timeout: float = 15.0) -> IssuingClient:
    from app.api_client import IssuingClient
    from app.settings import Settings

    return IssuingClient(Settings.load().effective_service_url(), timeout=timeout)


def _login_certificate(device: SoftDevice, pin_stdin: bool) -> Tuple[CertificateEntry, str]:
    """The device's certificate to log in to the issuing service with, and its PIN."""
    from app.entries import list_certificates
    from drivers.errors import NotFound

    entries, _problems = list_certificates([device])
    if not entries:
        raise NotFound(f"{device.info.label} holds no certificate to log in with")
    pin = _stdin_lines(1)[0] if pin_stdin else click.prompt("PIN", hide_input=True)
    return entries[0], pin


@contextmanager
def _service_call(client: IssuingClient) -> Iterator[None]:
    """Closes ``client`` at the end; the service out of reach, or its refusal, ends the command with one line
    and its exit code."""
    from app.api_client import ApiError, ServiceUnavailable
    from app.cli.errors import ExitCode

    try:
        yield
    except ServiceUnavailable as exc:
        click.echo(f"certassist: {exc}", err=True)
        sys.exit(ExitCode.UNAVAILABLE)
    except ApiError as exc:
        click.echo(f"certassist: {exc.message}", err=True)
        sys.exit(ExitCode.FAILED_CHECK)
    finally:
        client.close()


def _tell_service(client: IssuingClient, entry: CertificateEntry, pin: str, admin_secret: Optional[str]) -> bool:
    """Report a backup (or escrow a restored keystore's unblock secret) with a certificate login."""
    from app.api_client import ApiError, ServiceUnavailable
    from app.backup import escrow_restored, report_backup

    action = "证书解锁 needs it" if admin_secret else "audit record of the backup"
    try:
        if admin_secret:
            escrow_restored(client, entry, pin, admin_secret)
        else:
            report_backup(client, entry, pin)
        return True
    except (ApiError, ServiceUnavailable) as exc:
        _service_note(action, exc)
        return False


@click.command()
@click.option("--device", "selector", metavar="ID|SERIAL|LABEL", help="Which soft keystore (see `token list`).")
@click.option(
    "-o", "--out", "target", required=True, type=click.Path(dir_okay=False, path_type=Path), help="Backup file (.pfx)."
)
@click.option("--force", is_flag=True, help="Replace an existing file (never done without it).")
@click.option(
    "--no-report",
    is_flag=True,
    help="Do not contact the issuing service: no audit record of the backup, and no CA chain in the file.",
)
@password_stdin_option
@pin_stdin_option
def backup(
    selector: Optional[str], target: Path, force: bool, no_report: bool, password_stdin: bool, pin_stdin: bool
) -> None:
    """备份证书: every key and certificate of a soft keystore (earlier encryption keys too) into one PKCS#12
    file under a backup password (10+ characters, 3 kinds of character or 16+ characters; asked twice).

    `openssl pkcs12 -info -in FILE` reads it with the password. Keys on USB keys never leave them.
    """
    from app.backup import issuing_chain, make_backup
    from app.backup_policy import check_backup_password
    from app.entries import list_certificates

    device = _soft_device(selector, "not a soft keystore: keys on a USB key cannot be exported")
    _refuse_existing(target, force)
    password, pin = _secrets(password_stdin, pin_stdin, restoring=False)
    check_backup_password(password, password)
    entries, _problems = list_certificates([device])
    client = None if no_report else _client()
    try:
        chain = issuing_chain(client, entries[0].sign) if client is not None and entries else ()
        result = make_backup(device, pin, password, password, target, overwrite=force, chain=chain)
        click.echo(
            f"backup written: {result.path} ({result.containers} certificate pair(s), {result.history} earlier "
            f"encryption key(s), {result.chain} CA certificate(s)) (备份证书成功)"
        )
        if client is not None and entries and _tell_service(client, entries[0], pin, None):
            click.echo("the issuing service recorded the backup")
    finally:
        if client is not None:
            client.close()


@click.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-escrow", is_flag=True, help="Do not send the new keystore's unblock secret to the service.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@password_stdin_option
@pin_stdin_option
def restore(source: Path, no_escrow: bool, as_json: bool, password_stdin: bool, pin_stdin: bool) -> None:
    """恢复证书: a backup (or a .pfx/.p12 with SM2 keys from OpenSSL or another GM tool) into a new soft
    keystore protected by a new PIN (asked twice). A wrong password is refused; 5 wrong passwords a minute,
    then wait."""
    from app.backup import restore_backup
    from app.entries import list_certificates
    from drivers.soft import SoftBackend

    with source.open("rb") as fh:
        data = fh.read(BACKUP_FILE_LIMIT + 1)
    password, pin = _secrets(password_stdin, pin_stdin, restoring=True)
    result = restore_backup(SoftBackend(), data, password, pin, pin)
    entries, _problems = list_certificates([result.device])
    escrowed = False
    if entries and not no_escrow:
        client = _client()
        try:
            escrowed = _tell_service(client, entries[0], pin, result.admin_secret)
        finally:
            client.close()
    if as_json:
        out = {
            "device": result.device.info.device_id,
            "serial": result.device.info.serial,
            "containers": result.containers,
            "history": result.history,
            "certificates": [{"subject": e.subject, "serial": e.serial, "not_after": e.not_after} for e in entries],
            "unblock_secret_escrowed": escrowed,
        }
        click.echo(json.dumps(out, ensure_ascii=json_ascii(), indent=2))
        return
    for entry in entries:
        click.echo(f"restored {entry.subject} (serial {entry.serial}, until {entry.not_after})")
    click.echo(
        f"new soft keystore {result.device.info.serial}; {result.history} earlier encryption key(s) (恢复证书成功)"
    )
    if not escrowed:
        click.echo(
            "note: 证书解锁 (forgotten PIN) works for this keystore once its unblock secret is escrowed: run "
            f"`certassist token escrow --device {result.device.info.serial}` when the service can be reached",
            err=True,
        )


@click.command()
@click.option("--device", "selector", metavar="ID|SERIAL|LABEL", help="Which soft keystore (see `token list`).")
@pin_stdin_option
def escrow(selector: Optional[str], pin_stdin: bool) -> None:
    """托管解锁凭据: for a soft keystore restored while the issuing service was out of reach, a new unblock secret
    is escrowed with the service (certificate login), so that 证书解锁 works for a forgotten PIN."""
    from app.backup import escrow_again

    device = _soft_device(selector, "not a soft keystore: a USB key's admin PIN is kept by its issuer")
    entry, pin = _login_certificate(device, pin_stdin)
    client = _client()
    with _service_call(client):
        escrow_again(client, entry, pin)
    click.echo(f"the unblock secret of {device.info.serial} is escrowed: 证书解锁 works for it")


@click.command()
@click.argument("source", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--device", "selector", metavar="ID|SERIAL|LABEL", help="Which soft keystore (see `token list`).")
@click.option("-o", "--out", "target", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing file.")
@pin_stdin_option
def decrypt(source: Path, selector: Optional[str], target: Path, force: bool, pin_stdin: bool) -> None:
    """Decrypt an SM2 ciphertext (GM/T 0009 DER) with the device's keys: the current encryption keys, then
    the earlier ones kept since 证书更新/证书换发 (the ciphertext's hash tells which key fits)."""
    from app.backup import write_new_file

    device = _soft_device(selector, "decryption with earlier keys needs a soft keystore")
    _refuse_existing(target, force)
    with source.open("rb") as fh:
        ciphertext = fh.read(BACKUP_FILE_LIMIT + 1)
    pin = _stdin_lines(1)[0] if pin_stdin else click.prompt("PIN", hide_input=True)
    with device.open() as session:
        session.login(pin)
        plaintext, container = session.decrypt_any(ciphertext)
    write_new_file(target, plaintext, overwrite=force)
    click.echo(f"decrypted with the encryption key of {container!r}: {target}", err=True)


@click.command("recover-keys")
@click.option("--device", "selector", metavar="ID|SERIAL|LABEL", help="Which soft keystore (see `token list`).")
@pin_stdin_option
def recover_keys(selector: Optional[str], pin_stdin: bool) -> None:
    """找回历史加密密钥: the KMC's earlier encryption keys of this certificate's holder (before 证书更新/证书换发),
    by certificate login to the issuing service (CERTASSIST_SERVICE_URL or the settings' service address);
    they are kept in the soft keystore's history so that files encrypted to them open again."""
    from app.flows import certificate_login, recover_earlier_keys

    device = _soft_device(selector, "earlier encryption keys are kept in a soft keystore")
    entry, pin = _login_certificate(device, pin_stdin)
    client = _client(timeout=30.0)
    with _service_call(client):
        certificate_login(client, entry, pin)
        added = recover_earlier_keys(client, entry, pin)
    click.echo(f"{added} earlier encryption key(s) recovered from the KMC into {device.info.serial}")
