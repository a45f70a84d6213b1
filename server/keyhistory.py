"""Backups and earlier encryption keys, by certificate login.

- ``record_backup``: the tray made a backup of the logged-in certificate; only the fact goes to the audit
  log (which certificate, when, from where), never the file, its password or a key.
- ``earlier_keys``: the KMC keeps every encryption key it escrowed; a holder who renewed (证书更新/证书换发)
  and lost the earlier key (new computer, deleted keystore, a USB key without room for it) recovers the
  account's earlier encryption keys, each with its certificate and enveloped (GM/T 0009) to the signing
  key of the certificate that logged in: only that key's holder can open them. Rate-limited and audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from sqlalchemy import select

from gm.envelope import envelope_key
from gm.sm2 import SM2PrivateKey
from gm.x509 import Certificate
from server import models
from server.certificates import CertificateRegister
from server.db import Database
from server.domain import CertificateUsage
from server.sealing import Sealer
from server.security import audit, rate_limit
from server.sessions import CertificateLogin

RECOVERY_LIMIT = 5  # recoveries per account and hour
RECOVERY_WINDOW_S = 3600


@dataclass(frozen=True)
class EarlierKey:
    certificate: bytes  # the earlier encryption certificate (DER)
    enveloped_key: bytes  # GM/T 0009 SM2EnvelopedKey for the current signing key


class KeyHistory:
    def __init__(self, db: Database, register: CertificateRegister, sealer: Sealer) -> None:
        self.db = db
        self.register = register
        self.sealer = sealer

    def record_backup(self, login: CertificateLogin, client: Optional[str] = None) -> None:
        with self.db.session() as session:
            row = self.register.of_session(session, login.certificate_serial)
            self.register.check_usable(session, row)
            audit(session, "certificate_backup", login.account_id, login.certificate_serial, client=client)

    def earlier_keys(self, login: CertificateLogin, client: Optional[str] = None) -> List[EarlierKey]:
        """Every encryption key escrowed for the account except the current pair's, newest first."""
        with self.db.session() as session:
            rate_limit(session, f"key-history:{login.account_id}", RECOVERY_LIMIT, RECOVERY_WINDOW_S)
            row = self.register.of_session(session, login.certificate_serial)
            signing = self.register.check_usable(session, row)
            query = (
                select(models.Certificate, models.EscrowedKey)
                .join(models.EscrowedKey, models.EscrowedKey.certificate_serial == models.Certificate.serial)
                .where(
                    models.Certificate.account_id == login.account_id,
                    models.Certificate.usage == CertificateUsage.ENCRYPT,
                    models.Certificate.pair_serial != row.pair_serial,
                )
                .order_by(models.Certificate.created_at.desc(), models.Certificate.id.desc())
            )
            result: List[EarlierKey] = []
            serials: List[str] = []
            for cert_row, escrow in session.execute(query):
                key = SM2PrivateKey.from_raw(self.sealer.open(escrow.sealed_key, f"escrow/{cert_row.serial}"))
                if Certificate.from_der(cert_row.der).public_key != key.public_key:
                    continue  # never hand out a key under a certificate that is not its own
                result.append(EarlierKey(cert_row.der, envelope_key(key, signing.public_key).to_der()))
                serials.append(cert_row.serial)
            audit(
                session,
                "earlier_keys_released",
                login.account_id,
                login.certificate_serial,
                client=client,
                certificates=",".join(serials),
            )
            return result
