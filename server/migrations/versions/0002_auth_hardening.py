"""auth hardening (issue 13.1-13.3, 13.6): user names in their one normalised form; what opened issuance to a
session

Revision ID: 0002_auth
Revises: 0001
"""

from __future__ import annotations

import unicodedata
from typing import Dict, List

import sqlalchemy as sa
from alembic import op

revision = "0002_auth"
down_revision = "0001"
branch_labels = None
depends_on = None


def _normalise(username: str) -> str:  # as server.identity.normalise_username, frozen for this migration
    return unicodedata.normalize("NFKC", username).strip().lower()


def upgrade() -> None:
    accounts = sa.table("accounts", sa.column("id", sa.Integer), sa.column("username", sa.String))
    connection = op.get_bind()
    rows = connection.execute(sa.select(accounts.c.id, accounts.c.username)).all()
    owners: Dict[str, List[str]] = {}
    for _id, username in rows:
        owners.setdefault(_normalise(username), []).append(username)
    clashes = {name: names for name, names in owners.items() if len(names) > 1}
    if clashes:
        listed = "; ".join(f"{name}: {', '.join(repr(n) for n in names)}" for name, names in sorted(clashes.items()))
        raise RuntimeError(
            "user names are now compared in one form (NFKC, trimmed, lower case) and these accounts would share "
            f"one: {listed}. Rename all but one of each (change their usernames in the accounts table), then "
            "start the service again."
        )
    for ident, username in rows:
        normalised = _normalise(username)
        if normalised != username:
            connection.execute(sa.update(accounts).where(accounts.c.id == ident).values(username=normalised))
    with op.batch_alter_table("api_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("issuance_grant", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_sessions", schema=None) as batch_op:
        batch_op.drop_column("issuance_grant")
    # the normalised user names are valid names of the earlier schema too
