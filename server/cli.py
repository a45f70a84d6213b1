"""``certassist-server``: run the issuing service (the default) and the operator's commands."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional, Tuple

import click

from server.config import MailConfig, ServerConfig, default_data_dir, parse_networks

SMTP_PASSWORD_ENV = "CERTASSIST_SMTP_PASSWORD"  # noqa: S105 - the name of the variable

if TYPE_CHECKING:
    from server.service import IssuingService


def _config(ctx: click.Context) -> ServerConfig:
    return ctx.obj["config"]  # type: ignore[no-any-return]


def _service(ctx: click.Context) -> IssuingService:
    from server.app import build_service

    svc = build_service(_config(ctx))
    svc.start()
    ctx.call_on_close(svc.close)  # queued mail (approval, name change) is delivered before exit
    return svc


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", default=8470, show_default=True, type=click.IntRange(1, 65535), help="TCP port.")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Database, CA keys, server key and mail outbox. Default: $CERTASSIST_SERVER_DATA, else "
    "$CERTASSIST_HOME/server, else the per-user data folder.",
)
@click.option(
    "--database-url",
    default="",
    envvar="CERTASSIST_DATABASE_URL",
    help="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db. Default: SQLite in the data dir.",
)
@click.option(
    "--public-url",
    default="",
    help="Base URL clients reach (used in CRL distribution points; its origin is what certificate logins sign, "
    "so behind a TLS proxy give the https address clients use). Default: http://HOST:PORT.",
)
@click.option(
    "--mail",
    "mail_mode",
    type=click.Choice(["outbox", "smtp"]),
    default="outbox",
    show_default=True,
    help="outbox writes .eml files into DATA_DIR/outbox; smtp sends them.",
)
@click.option("--smtp-host", default="127.0.0.1", show_default=True)
@click.option("--smtp-port", default=25, show_default=True, type=int)
@click.option("--smtp-security", type=click.Choice(["none", "starttls", "ssl"]), default="none", show_default=True)
@click.option(
    "--smtp-user",
    default=None,
    help="SMTP login; the password comes from --smtp-password-file or $CERTASSIST_SMTP_PASSWORD (which the "
    "service removes from its environment, so no child process inherits it).",
)
@click.option(
    "--smtp-password-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="File holding the SMTP password (first line), e.g. a 0600 file or a secrets mount.",
)
@click.option("--mail-from", default=MailConfig.sender, show_default=True, help="Sender of every mail.")
@click.option(
    "--renewal-window-days",
    default=30,
    show_default=True,
    type=click.IntRange(1, 3650),
    help="Renewal (证书更新) is allowed from this many days before expiry.",
)
@click.option(
    "--validity-days",
    default=5 * 365,
    show_default=True,
    type=click.IntRange(1, 3650),
    help="Validity of issued certificates.",
)
@click.option(
    "--trusted-proxy",
    "trusted_proxies",
    multiple=True,
    envvar="CERTASSIST_TRUSTED_PROXIES",
    metavar="CIDR",
    help="Address or network of a reverse proxy or load balancer whose forwarding header is believed "
    "(repeatable; $CERTASSIST_TRUSTED_PROXIES, space-separated). Default: none, every client is known by "
    "the address it connects from.",
)
@click.option(
    "--forwarded-header",
    type=click.Choice(["x-forwarded-for", "forwarded"]),
    default="x-forwarded-for",
    show_default=True,
    help="The header the trusted proxies write (X-Forwarded-For + X-Forwarded-Proto, or RFC 7239 Forwarded).",
)
@click.option(
    "--header-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(0.5, 300),
    help="Seconds a client has to send a request's headers; then 408 and the connection is closed.",
)
@click.option(
    "--body-timeout",
    default=20.0,
    show_default=True,
    type=click.FloatRange(0.5, 300),
    help="Seconds a client has to send a request's body after its headers.",
)
@click.option(
    "--mail-claim-timeout",
    default=120.0,
    show_default=True,
    type=click.FloatRange(2, 3600),
    help="Seconds a worker's claim on an outgoing mail lasts: if the worker dies before the mail is sent, "
    "another one (of any host) sends it after that. Each SMTP step times out after an eighth of it.",
)
@click.option(
    "--portal-origin",
    "portal_origins",
    multiple=True,
    help="Another origin the web portal's login page is served from (https://host[:port]); the public URL's "
    "origin always is one. A web certificate login is accepted only for these.",
)
@click.option(
    "--bridge-port",
    default=8471,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port of the assistant's browser bridge on 127.0.0.1 that the portal's login page calls.",
)
@click.pass_context
def main(
    ctx: click.Context,
    host: str,
    port: int,
    data_dir: Optional[Path],
    database_url: str,
    public_url: str,
    mail_mode: str,
    smtp_host: str,
    smtp_port: int,
    smtp_security: str,
    smtp_user: Optional[str],
    smtp_password_file: Optional[Path],
    mail_from: str,
    renewal_window_days: int,
    validity_days: int,
    trusted_proxies: Tuple[str, ...],
    forwarded_header: str,
    header_timeout: float,
    body_timeout: float,
    mail_claim_timeout: float,
    portal_origins: tuple[str, ...],
    bridge_port: int,
) -> None:
    """CertAssist issuing service (证书助手签发服务): RA + CA + KMC over HTTP.

    Without a command it starts the service on HOST:PORT, creating its data dir, database and CA on
    first start. OpenAPI is served at /openapi.json and /docs; the web portal's login page (账号登录,
    证书登录 through the assistant) at /.
    """
    mail = MailConfig(
        mode=mail_mode,
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_security=smtp_security,
        smtp_user=smtp_user,
        smtp_password=_smtp_password(smtp_password_file),
        sender=mail_from,
    )
    proxies = [cidr for value in trusted_proxies for cidr in value.replace(",", " ").split()]
    try:
        parse_networks(proxies)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--trusted-proxy") from exc
    ctx.obj = {
        "config": ServerConfig(
            data_dir=data_dir or default_data_dir(),
            database_url=database_url,
            host=host,
            port=port,
            public_url=public_url,
            mail=mail,
            renewal_window_days=renewal_window_days,
            validity_days=validity_days,
            trusted_proxies=proxies,
            forwarded_header=forwarded_header,
            header_timeout_s=header_timeout,
            body_timeout_s=body_timeout,
            mail_claim_s=mail_claim_timeout,
            portal_origins=list(portal_origins),
            bridge_port=bridge_port,
        )
    }
    if ctx.invoked_subcommand is None:
        ctx.invoke(serve)


def _smtp_password(password_file: Optional[Path]) -> Optional[str]:
    """From the file when given, else from the environment; the variable is removed from this process's
    environment either way, so worker processes and anything else started from here never inherit it."""
    from_environment = os.environ.pop(SMTP_PASSWORD_ENV, None)
    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    return from_environment


@main.command()
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Worker processes (use the number of cores under load; the CA is set up once before they start).",
)
@click.option(
    "--threads",
    default=8,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Request threads per worker process, for every request but issuance (more only help when the "
    "database is slow to answer).",
)
@click.pass_context
def serve(ctx: click.Context, workers: int = 1, threads: int = 8) -> None:
    """Run the service (the default when no command is given)."""
    import uvicorn

    from server.api.transport import uvicorn_options
    from server.app import create_app, write_worker_config

    config = _config(ctx)
    config.threads = threads
    app = create_app(config)  # migrations and CA set-up, once
    options = uvicorn_options(config.header_timeout_s, config.body_timeout_s, workers)
    click.echo(
        f"certassist-server: {config.public_url}  data {config.data_dir}  mail {config.mail.mode}"
        + (f" -> {config.mail.outbox_dir}" if config.mail.mode == "outbox" else "")
        + (f"  workers {workers}" if workers > 1 else ""),
        err=True,
    )
    if workers == 1:
        uvicorn.run(app, host=config.host, port=config.port, log_level="warning", access_log=False, **options)
        return
    app.state.service.close()
    # The workers read the configuration (with the SMTP password) from a 0600 file, not from the environment.
    with write_worker_config(config):
        uvicorn.run(
            "server.app:app_from_environment",
            factory=True,
            workers=workers,
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            **options,
        )


def _print(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def _show(svc: IssuingService, username: str) -> None:
    _print(asdict(svc.accounts.show(username)))


@main.group()
def account() -> None:
    """Accounts: add, approve, show, flag for exchange, allow another issuance, disable."""


@account.command("add")
@click.option("--username", required=True)
@click.option("--name", "applicant_name", required=True, help="申请人名称")
@click.option(
    "--type",
    "account_type",
    type=click.Choice(["natural", "legal", "agency"]),
    required=True,
    help="natural 自然人, legal 法人, agency 代理机构",
)
@click.option("--id-number", required=True, help="居民身份证号码 (natural) or 统一社会信用代码 (legal, agency)")
@click.option("--email", required=True)
@click.option("--approve", is_flag=True, help="Approve at once (sends the approval mail).")
@click.pass_context
def account_add(
    ctx: click.Context, username: str, applicant_name: str, account_type: str, id_number: str, email: str, approve: bool
) -> None:
    svc = _service(ctx)
    svc.accounts.register(username, applicant_name, account_type, id_number, email)
    if approve:
        svc.accounts.approve(username)
    _show(svc, username)


@account.command("approve")
@click.argument("username")
@click.pass_context
def account_approve(ctx: click.Context, username: str) -> None:
    svc = _service(ctx)
    svc.accounts.approve(username)
    _show(svc, username)


@account.command("show")
@click.argument("username")
@click.pass_context
def account_show(ctx: click.Context, username: str) -> None:
    _show(_service(ctx), username)


def _set_flags(ctx: click.Context, username: str, **flags: Any) -> None:
    svc = _service(ctx)
    svc.accounts.set_flags(username, **flags)
    _show(svc, username)


@account.command("flag-exchange")
@click.argument("username")
@click.pass_context
def account_flag_exchange(ctx: click.Context, username: str) -> None:
    """Require 证书换发 (e.g. after `ca rotate`): the next certificate comes from the current CA."""
    _set_flags(ctx, username, exchange_required=True)


@account.command("allow-issue")
@click.argument("username")
@click.pass_context
def account_allow_issue(ctx: click.Context, username: str) -> None:
    """Let the account receive another certificate (证书签发)."""
    _set_flags(ctx, username, may_issue=True)


@account.command("disable")
@click.argument("username")
@click.pass_context
def account_disable(ctx: click.Context, username: str) -> None:
    from server.domain import AccountStatus

    _set_flags(ctx, username, status=AccountStatus.DISABLED)


@main.group("name-change")
def name_change() -> None:
    """Company-name changes (名称变更): request and approve; the holder then runs 证书更新."""


@name_change.command("request")
@click.argument("username")
@click.option("--new-name", required=True)
@click.pass_context
def name_change_request(ctx: click.Context, username: str, new_name: str) -> None:
    svc = _service(ctx)
    svc.accounts.request_name_change(username, new_name)
    _show(svc, username)


@name_change.command("approve")
@click.argument("username")
@click.pass_context
def name_change_approve(ctx: click.Context, username: str) -> None:
    svc = _service(ctx)
    svc.accounts.approve_name_change(username)
    _show(svc, username)


@main.group()
def certificate() -> None:
    """Certificates: revoke a pair (its sessions end, the CRL is re-signed)."""


@certificate.command("revoke")
@click.argument("serial")
@click.option(
    "--reason",
    type=click.Choice(["cessation_of_operation", "key_compromise", "affiliation_changed"]),
    default="cessation_of_operation",
    show_default=True,
)
@click.pass_context
def certificate_revoke(ctx: click.Context, serial: str, reason: str) -> None:
    """Revoke the pair of SERIAL (hex, either certificate of the pair); the account may then issue again."""
    from server.domain import RevocationReason

    revoked = _service(ctx).revocation.revoke_by_operator(serial, RevocationReason(reason))
    _print(asdict(revoked))


@main.group()
def ca() -> None:
    """The CA hierarchy."""


@ca.command("rotate")
@click.pass_context
def ca_rotate(ctx: click.Context) -> None:
    """Start a new issuing-CA generation (flag accounts with `account flag-exchange` to move them)."""
    generation = _service(ctx).authority.rotate()
    click.echo(f"issuing CA generation {generation} is now active")


@ca.command("chain")
@click.pass_context
def ca_chain(ctx: click.Context) -> None:
    """Print the CA certificates (PEM)."""
    sys.stdout.write(_service(ctx).authority.chain_pem().decode())


@main.command()
@click.pass_context
def housekeeping(ctx: click.Context) -> None:
    """Delete expired captchas, nonces, unlock codes, sessions, rate-limit counters and old delivered mail now
    (every serving worker also does this periodically, one worker of all hosts at a time)."""
    _print(_service(ctx).housekeeping.purge())


def run() -> None:
    """Console entry point: service errors become one line and exit code 1."""
    from server.errors import ServiceError

    try:
        main(standalone_mode=True)
    except ServiceError as exc:
        click.echo(f"certassist-server: {exc.message} [{exc.code}]", err=True)
        sys.exit(1)


if __name__ == "__main__":  # `python -m server.cli` (the tray's --demo starts the service this way)
    run()
