"""The stored schema: the migrations create exactly what the models describe, and the enums keep the strings
that existing databases hold."""

from __future__ import annotations

from typing import Dict, List, Set

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from server.models import Base
from tests.server.conftest import Server, account_login, certificate_login, issue, new_user, unb64


def test_migrations_create_what_the_models_describe(server: Server) -> None:
    """The database the service migrated has no difference from the models (types, lengths, indexes)."""
    with server.service.db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def stored(server: Server, query: str) -> List[str]:
    with server.service.db.engine.connect() as connection:
        return [str(value) for value in connection.execute(text(query)).scalars()]


def test_enums_are_stored_as_the_strings_existing_databases_hold(server: Server) -> None:
    user = new_user(server, kind="legal")
    new_user(server, approve=False)
    key, body = issue(server, user)
    account_login(server, user)
    token = certificate_login(server, key, unb64(body["sign_certificate"]))
    server.api("POST", "/api/v1/unlock/request", json={"certificate": body["sign_certificate"]})
    server.api("POST", "/api/v1/login/challenge")
    assert server.api("POST", "/api/v1/certificates/revoke", token, json={"reason": "key_compromise"}).is_success
    new_key, new_body = issue(server, user, admin="")  # a new pair after the revocation
    certificate_login(server, new_key, unb64(new_body["sign_certificate"]))
    values: Dict[str, Set[str]] = {
        "accounts.status": set(stored(server, "SELECT status FROM accounts")),
        "accounts.account_type": set(stored(server, "SELECT account_type FROM accounts")),
        "certificates.usage": set(stored(server, "SELECT usage FROM certificates")),
        "certificates.status": set(stored(server, "SELECT status FROM certificates")),
        "certificates.revocation_reason": set(
            stored(server, "SELECT revocation_reason FROM certificates WHERE revocation_reason IS NOT NULL")
        ),
        "api_sessions.kind": set(stored(server, "SELECT kind FROM api_sessions")),
        "one_time_secrets.kind": set(stored(server, "SELECT kind FROM one_time_secrets")),
        "ca_keys.role": set(stored(server, "SELECT role FROM ca_keys")),
    }
    assert values == {
        "accounts.status": {"approved", "pending"},
        "accounts.account_type": {"legal", "natural"},
        "certificates.usage": {"sign", "encrypt"},
        "certificates.status": {"valid", "revoked"},
        "certificates.revocation_reason": {"key_compromise"},
        "api_sessions.kind": {"account", "certificate"},
        "one_time_secrets.kind": {"captcha", "issuance", "nonce", "unlock"},
        "ca_keys.role": {"root", "issuing"},
    }
