"""``certassist token``: list devices, show one, change or unblock its PIN. ``certassist diag``: one report."""

from __future__ import annotations

import json
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

import click

from app.cli.errors import ExitCode
from app.platform.console import json_ascii
from app.settings import Settings
from drivers.base import Backend, check_new_pin
from drivers.registry import default_backends, discover, select_device

module_option = click.option(
    "--pkcs11-module",
    "pkcs11_modules",
    multiple=True,
    metavar="PATH",
    help="Also load this PKCS#11 module (repeatable). Settings and CERTASSIST_PKCS11_MODULES add more.",
)
skf_option = click.option(
    "--skf-module",
    "skf_modules",
    multiple=True,
    metavar="PATH",
    help="Also load this SKF (GM/T 0016) library of a USB key (repeatable). "
    "Settings and CERTASSIST_SKF_MODULES add more.",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
device_option = click.option("--device", "selector", metavar="ID|SERIAL|LABEL", help="Which device (see `token list`).")
stdin_option = click.option(
    "--pin-stdin", is_flag=True, help="Read the PINs from stdin, one per line, instead of prompting (for scripts)."
)


def _backends(pkcs11_modules: Sequence[str], skf_modules: Sequence[str] = ()) -> List[Backend]:
    settings = Settings.load()
    return default_backends(
        settings.all_pkcs11_modules(list(pkcs11_modules)), skf_modules=settings.all_skf_modules(list(skf_modules))
    )


def _soft_certificates(path: str) -> List[Dict[str, str]]:
    """The signing certificates in a soft keystore file (container, subject, serial, expiry) without opening
    it: no keyring, no crypto, only asn1crypto over the stored DER (``token list`` stays cheap)."""
    from pathlib import Path

    from asn1crypto import x509

    from drivers.errors import DriverError
    from drivers.soft.state import decode_document, state_from_document

    try:
        state = state_from_document(decode_document(Path(path).read_bytes(), path), path)
    except (OSError, DriverError):
        return []
    result = []
    for name, entry in sorted(state.containers.items()):
        if entry.sign is None or entry.sign.certificate is None:
            continue
        try:
            cert = x509.Certificate.load(entry.sign.certificate)
            subject = cert.subject.native.get("common_name") or cert.subject.human_friendly
            if isinstance(subject, list):
                subject = subject[-1]
            not_after = f"{cert.not_valid_after:%Y-%m-%d}"
            serial = f"{cert.serial_number:X}"
        except (ValueError, TypeError, KeyError):
            continue
        result.append({"container": name, "subject": str(subject), "serial": serial, "not_after": not_after})
    return result


def _emit(data: Any, as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, ensure_ascii=json_ascii(), indent=2) if as_json else text)


def _read_secrets(count: int, from_stdin: bool, prompts: Sequence[Tuple[str, bool]]) -> List[str]:
    """Secrets from stdin lines or hidden prompts (``confirm`` asks twice). Never echoed, never logged."""
    if from_stdin:
        lines = sys.stdin.read().splitlines()
        if len(lines) < count:
            raise click.UsageError(f"--pin-stdin needs {count} lines on stdin, got {len(lines)}")
        return lines[:count]
    values = []
    for text, confirm in prompts:
        values.append(click.prompt(text, hide_input=True, confirmation_prompt=confirm))
    return values


@click.group()
def token() -> None:
    """Certificate devices: soft keystores, PKCS#11 tokens, PC/SC cards and SKF (GM/T 0016) USB keys."""


@token.command("list")
@module_option
@skf_option
@json_option
def list_devices(pkcs11_modules: Tuple[str, ...], skf_modules: Tuple[str, ...], as_json: bool) -> None:
    """List every certificate device (exit 3 when there is none)."""
    found = discover(_backends(pkcs11_modules, skf_modules))
    rows: List[Dict[str, Any]] = [
        {
            "id": d.info.device_id,
            "backend": d.info.backend,
            "kind": d.info.kind.value,
            "label": d.info.label,
            "serial": d.info.serial,
            "manufacturer": d.info.manufacturer,
        }
        for d in found.devices
    ]
    if as_json:  # a soft keystore's certificates, read from its file alone (e.g. to check a restore)
        for row, device in zip(rows, found.devices):
            if device.info.backend == "soft":
                row["certificates"] = _soft_certificates(device.info.detail)
    data: Dict[str, Any] = {"devices": rows, "problems": found.problems}
    lines = [f"{r['kind']:<5} {r['backend']:<7} {r['label']}  serial {r['serial']}  ({r['id']})" for r in rows]
    lines = lines or ["no certificate device found"]
    lines += [f"note: {name}: {problem}" for name, problem in found.problems.items()]
    _emit(data, as_json, "\n".join(lines))
    if not rows:
        sys.exit(ExitCode.NOT_FOUND)


@token.command()
@module_option
@skf_option
@device_option
@json_option
def info(pkcs11_modules: Tuple[str, ...], skf_modules: Tuple[str, ...], selector: Optional[str], as_json: bool) -> None:
    """Show a device: PIN retries, containers, certificates and days to expiry."""
    from app.diagnostics import device_report

    device = select_device(discover(_backends(pkcs11_modules, skf_modules)).devices, selector)
    data = device_report(device)
    _emit(data, as_json, _format_device(data))


def _format_device(data: Dict[str, Any]) -> str:
    lines = [f"{data['label']} [{data['kind']}, {data['backend']}] serial {data['serial']}", f"  {data['detail']}"]
    pin = data.get("pin")
    if pin:
        remaining = "unknown" if pin["remaining"] is None else pin["remaining"]
        state = "LOCKED" if pin["locked"] else f"{remaining} tries left" + (" (low)" if pin["low"] else "")
        lines.append(f"  PIN: {state}")
    for container in data.get("containers", []):
        lines.append(f"  container {container['name']!r}")
        for cert in container["certificates"]:
            lines.append(
                f"    {cert['usage']:<7} {cert['subject']}  until {cert['not_after'][:10]} ({cert['days_left']} days)"
            )
    if "error" in data:
        lines.append(f"  error: {data['error']}")
    return "\n".join(lines)


@token.command("change-pin")
@module_option
@skf_option
@device_option
@stdin_option
def change_pin(
    pkcs11_modules: Tuple[str, ...], skf_modules: Tuple[str, ...], selector: Optional[str], pin_stdin: bool
) -> None:
    """Change the user PIN (old, new, new again)."""
    device = select_device(discover(_backends(pkcs11_modules, skf_modules)).devices, selector)
    old, new = _read_secrets(2, pin_stdin, [("Old PIN", False), ("New PIN", True)])
    check_new_pin(new, None, device.info.pin_policy)
    with device.open() as session:
        session.change_pin(old, new)
    click.echo("PIN changed (修改PIN码成功)")


@token.command()
@module_option
@skf_option
@device_option
@stdin_option
def unblock(
    pkcs11_modules: Tuple[str, ...], skf_modules: Tuple[str, ...], selector: Optional[str], pin_stdin: bool
) -> None:
    """Set a new PIN with the admin credential (SO PIN, PUK, a USB key's admin PIN, or the escrowed unblock secret)."""
    device = select_device(discover(_backends(pkcs11_modules, skf_modules)).devices, selector)
    admin, new = _read_secrets(2, pin_stdin, [("Admin credential", False), ("New PIN", True)])
    check_new_pin(new, None, device.info.pin_policy)
    with device.open() as session:
        session.unblock_pin(admin, new)
    click.echo("PIN unblocked (解锁成功)")


@click.command()
@module_option
@skf_option
@json_option
def diag(pkcs11_modules: Tuple[str, ...], skf_modules: Tuple[str, ...], as_json: bool) -> None:
    """One report: PC/SC service and readers, PKCS#11 modules and slots, SKF libraries and their devices, soft
    keystores, certificates.

    Exit 0 when a device was found, 3 when nothing was found.
    """
    from app.diagnostics import build_report

    report = build_report(_backends(pkcs11_modules, skf_modules))
    _emit(report, as_json, _format_report(report))
    if not report["devices"]:
        sys.exit(ExitCode.NOT_FOUND)


def _format_report(report: Dict[str, Any]) -> str:
    lines = []
    for name, section in report["backends"].items():
        state = "ok" if section["available"] else "UNAVAILABLE"
        lines.append(f"[{name}] {state} ({section['enumeration_ms']} ms): {section['detail']}")
        for reader in section.get("readers", []):
            card = f"ATR {reader['atr']} profile {reader['profile']}" if reader["card_present"] else "empty"
            lines.append(f"  reader {reader['name']}: {card}")
        for slot in section.get("slots", []):
            flags = " ".join(f"{k.upper()}={'yes' if slot[k] else 'no'}" for k in ("sm2", "sm3", "sm4", "ec"))
            lines.append(f"  slot {slot['slot_id']} {slot['label']!r} ({slot['manufacturer']}): {flags}")
        lines.extend(_format_skf_libraries(section.get("libraries", [])))
    for name, problem in report["problems"].items():
        lines.append(f"problem [{name}]: {problem}")
    lines.append("")
    for device in report["devices"]:
        lines.append(_format_device(device))
    if not report["devices"]:
        lines.append("no certificate device found")
    lines.append(f"(report took {report['total_ms']} ms)")
    return "\n".join(lines)


def _format_skf_libraries(libraries: List[Dict[str, Any]]) -> List[str]:
    lines = []
    for library in libraries:
        profile = f" profile {library['profile']}" if library["profile"] else ""
        state = "loaded" if library["loaded"] else f"NOT LOADED: {library.get('error', '')}"
        lines.append(f"  library {library['path']}{profile}: {state}")
        for device in library["devices"]:
            if "error" in device:
                lines.append(f"    device {device['name']}: {device['error']}")
                continue
            flags = " ".join(f"{k.upper()}={'yes' if device[k] else 'no'}" for k in ("sm2", "sm3", "sm4"))
            lines.append(
                f"    device {device['name']} {device['label']!r} ({device['manufacturer']}) serial {device['serial']} "
                f"version {device['version']} hardware {device['hw_version']} firmware {device['firmware_version']}: "
                f"{flags}"
            )
    return lines


def _add_backup_commands() -> None:
    from app.cli.backup import backup, decrypt, escrow, recover_keys, restore

    for command in (backup, restore, escrow, decrypt, recover_keys):
        token.add_command(command)


_add_backup_commands()
