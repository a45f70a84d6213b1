"""The CA hierarchy (SM2 root -> issuing CA, rotated by generation for 换发) and the CRLs: the root's (which
covers the issuing CAs) and each issuing CA's.

Every certificate says where a relying party finds the rest of its path: authorityInfoAccess (caIssuers) names
the URL of its issuer's certificate, and the CRL distribution point the URL of the CRL that covers it (an
issuing CA's: the root's CRL; an end entity's: its issuing CA's). The service publishes all of them
(server.api.service). Issuing CAs made before this carry neither; ``ca rotate`` makes one that does.

CA private keys are sealed at rest and unsealed once per process. Serial numbers are 159-bit random.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Dict, List, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from gm.sm2 import SM2PrivateKey, SM2PublicKey
from gm.x509 import (
    CA_KEY_USAGE,
    CRL,
    Certificate,
    RevokedEntry,
    build_certificate,
    build_crl,
    random_serial,
)
from gm.x509._common import NameInput
from server import models
from server.config import ServerConfig
from server.domain import CaRole, CertStatus
from server.models import ROOT_CRL
from server.sealing import Sealer
from server.security import aware, utcnow

ROOT_YEARS = 20
ISSUING_YEARS = 10
ORG = "证书助手 CertAssist"


@dataclass(frozen=True)
class Issued:
    generation: int  # of the issuing CA
    certificate: Certificate
    serial: str  # hex, upper case, as stored
    not_before: datetime
    not_after: datetime


class CertificateAuthority:
    def __init__(self, config: ServerConfig, sealer: Sealer) -> None:
        self.config = config
        self.sealer = sealer
        self._lock = threading.Lock()
        self._keys: Dict[int, Tuple[Certificate, SM2PrivateKey]] = {}  # id -> unsealed CA
        self._ids_by_generation: Dict[int, int] = {}  # issuing generation -> row id
        self._chain: Tuple[Tuple[int, ...], bytes] = ((), b"")  # (CA row ids, PEM)
        # The active issuing CA, re-read at most every config.ca_cache_s seconds (a rotation by another
        # process shows up within that time; one in this process at once).
        self._active: Optional[Tuple[float, int]] = None  # (read at, generation)

    # -- set-up ----------------------------------------------------------------------------
    def ensure_initialized(self, session: Session) -> None:
        """Create the root and the first issuing CA on first start."""
        if session.scalar(select(models.CaKey).where(models.CaKey.role == CaRole.ROOT)) is None:
            root_key = SM2PrivateKey.generate()
            now = utcnow()
            root = build_certificate(
                subject={"country_name": "CN", "organization_name": ORG, "common_name": "CertAssist SM2 Root CA"},
                public_key=root_key.public_key,
                issuer_key=root_key,
                not_before=now - timedelta(hours=1),
                not_after=now + timedelta(days=365 * ROOT_YEARS),
                ca=True,
                path_length=1,  # one issuing CA below the root
                key_usage=CA_KEY_USAGE,
            )
            self._store(session, CaRole.ROOT, 1, root, root_key)
            session.flush()
            self.rotate(session)
            self.refresh_crl(session, ROOT_CRL)

    def rotate(self, session: Session) -> int:
        """A new issuing CA generation (for 证书换发: old CA -> new CA). Returns the new generation."""
        root, root_key = self._load(self._row(session, CaRole.ROOT))
        current = session.scalar(
            select(models.CaKey).where(models.CaKey.role == CaRole.ISSUING).order_by(models.CaKey.generation.desc())
        )
        generation = 1 if current is None else current.generation + 1
        if current is not None:
            for row in session.scalars(select(models.CaKey).where(models.CaKey.role == CaRole.ISSUING)):
                row.active = False
        key = SM2PrivateKey.generate()
        now = utcnow()
        cert = build_certificate(
            subject={
                "country_name": "CN",
                "organization_name": ORG,
                "common_name": f"CertAssist SM2 Issuing CA G{generation}",
            },
            public_key=key.public_key,
            issuer=root,
            issuer_key=root_key,
            not_before=now - timedelta(hours=1),
            not_after=min(now + timedelta(days=365 * ISSUING_YEARS), root.not_after),
            ca=True,
            path_length=0,
            key_usage=CA_KEY_USAGE,
            crl_urls=[self.root_crl_url()],
            ca_issuers_urls=[self.root_certificate_url()],
        )
        self._store(session, CaRole.ISSUING, generation, cert, key)
        session.flush()
        self._active = None
        self.refresh_crl(session, generation)
        return generation

    def _store(self, session: Session, role: CaRole, generation: int, cert: Certificate, key: SM2PrivateKey) -> None:
        sealed = self.sealer.seal(key.to_raw(), f"ca/{role}/{generation}")
        session.add(
            models.CaKey(
                role=role,
                generation=generation,
                certificate=cert.to_der(),
                sealed_key=sealed,
                active=True,
                created_at=utcnow(),
            )
        )

    def _row(self, session: Session, role: CaRole, generation: Optional[int] = None) -> models.CaKey:
        query = select(models.CaKey).where(models.CaKey.role == role)
        if generation is None:
            query = query.where(models.CaKey.active.is_(True)).order_by(models.CaKey.generation.desc())
        else:
            query = query.where(models.CaKey.generation == generation)
        row = session.scalar(query)
        if row is None:
            raise LookupError(f"no {role} CA generation {generation}")
        return row

    def _load(self, row: models.CaKey) -> Tuple[Certificate, SM2PrivateKey]:
        with self._lock:
            cached = self._keys.get(row.id)
            if cached is None:
                key = SM2PrivateKey.from_raw(self.sealer.open(row.sealed_key, f"ca/{row.role}/{row.generation}"))
                cached = (Certificate.from_der(row.certificate), key)
                self._keys[row.id] = cached
            return cached

    # -- queries ---------------------------------------------------------------------------
    def issuing(self, session: Session, generation: Optional[int] = None) -> Tuple[int, Certificate, SM2PrivateKey]:
        if generation is None:
            generation = self._active_generation(session)
        row_id = self._ids_by_generation.get(generation)
        if row_id is not None and row_id in self._keys:
            cert, key = self._keys[row_id]
            return generation, cert, key
        row = self._row(session, CaRole.ISSUING, generation)
        cert, key = self._load(row)
        self._ids_by_generation[row.generation] = row.id
        return row.generation, cert, key

    def _active_generation(self, session: Session) -> int:
        now = time.monotonic()
        cached = self._active
        if cached is None or now - cached[0] >= self.config.ca_cache_s:
            row = self._row(session, CaRole.ISSUING)
            self.chain_pem(session)  # re-read with it, so the cached chain is never older than the active CA
            self._active = cached = (now, row.generation)
        return cached[1]

    def root(self, session: Session) -> Certificate:
        return Certificate.from_der(self._row(session, CaRole.ROOT).certificate)

    def issuing_certificates(self, session: Session) -> Dict[int, Certificate]:
        rows = session.scalars(select(models.CaKey).where(models.CaKey.role == CaRole.ISSUING))
        return {row.generation: Certificate.from_der(row.certificate) for row in rows}

    # -- issuing ---------------------------------------------------------------------------
    def issue(
        self,
        session: Session,
        subject: NameInput,
        public_key: SM2PublicKey,
        key_usage: frozenset[str],
        not_after: datetime,
    ) -> Issued:
        generation, ca_cert, ca_key = self.issuing(session)
        serial = random_serial()
        # Whole seconds, as the certificate holds them: the stored row then needs no parse of the result.
        not_before = (utcnow() - timedelta(minutes=5)).replace(microsecond=0)  # tolerates client clock skew
        not_after = min(not_after, ca_cert.not_after).replace(microsecond=0)
        cert = build_certificate(
            subject=subject,
            public_key=public_key,
            issuer=ca_cert,
            issuer_key=ca_key,
            serial_number=serial,
            not_before=not_before,
            not_after=not_after,
            key_usage=key_usage,
            crl_urls=[self.crl_url(generation)],
            ca_issuers_urls=[self.issuing_certificate_url(generation)],
        )
        return Issued(generation, cert, f"{serial:X}", not_before, not_after)

    # -- where things are published (server.api.service serves these paths) -------------------------
    def _url(self, path: str) -> str:
        return f"{self.config.public_url.rstrip('/')}{path}"

    def crl_url(self, generation: int) -> str:
        return self._url(f"/crl/issuing-g{generation}.crl")

    def root_crl_url(self) -> str:
        return self._url("/crl/root.crl")

    def issuing_certificate_url(self, generation: int) -> str:
        return self._url(f"/ca/issuing-g{generation}.cer")

    def root_certificate_url(self) -> str:
        return self._url("/ca/root.cer")

    # -- CRLs ------------------------------------------------------------------------------
    def refresh_crl(self, session: Session, generation: int) -> CRL:
        """Sign a new CRL of issuing-CA ``generation`` from the revoked certificates in the database; of the
        root for ROOT_CRL (the service never revokes an issuing CA: the root's CRL lists none)."""
        entries: List[RevokedEntry] = []
        if generation == ROOT_CRL:
            ca_cert, ca_key = self._load(self._row(session, CaRole.ROOT))
        else:
            _gen, ca_cert, ca_key = self.issuing(session, generation)
            revoked = session.scalars(
                select(models.Certificate).where(
                    models.Certificate.ca_generation == generation,
                    models.Certificate.status == CertStatus.REVOKED,
                )
            )
            entries = [
                RevokedEntry(
                    int(row.serial, 16),
                    aware(row.revoked_at or utcnow()),
                    row.revocation_reason.value if row.revocation_reason else None,
                )
                for row in revoked
            ]
        state = session.scalar(select(models.CrlState).where(models.CrlState.ca_generation == generation))
        number = 1 if state is None else state.number + 1
        now = utcnow()
        next_update = now + timedelta(hours=self.config.crl_validity_hours)
        crl = build_crl(
            issuer=ca_cert,
            issuer_key=ca_key,
            revoked=entries,
            crl_number=number,
            this_update=now,
            next_update=next_update,
        )
        if state is None:
            state = models.CrlState(ca_generation=generation)
            session.add(state)
        state.number, state.der, state.this_update, state.next_update = number, crl.to_der(), now, next_update
        return crl

    def current_crl(self, session: Session, generation: int) -> CRL:
        """The stored CRL, re-signed when it is due (so the published one is never stale)."""
        state = session.scalar(select(models.CrlState).where(models.CrlState.ca_generation == generation))
        if state is None or aware(state.next_update) - utcnow() < timedelta(hours=1):
            return self.refresh_crl(session, generation)
        return CRL.from_der(state.der)

    def chain_pem(self, session: Session, fresh: bool = True) -> bytes:
        """Issuing CAs (all generations) then the root. Rebuilt only when a CA was added (by any process).

        ``fresh=False`` accepts the copy read with the active CA (at most config.ca_cache_s old).
        """
        if not fresh:
            self._active_generation(session)
            return self._chain[1]
        ids = tuple(session.scalars(select(models.CaKey.id).order_by(models.CaKey.id)))
        if self._chain[0] != ids:
            certs: List[Certificate] = [*self.issuing_certificates(session).values(), self.root(session)]
            self._chain = (ids, b"".join(c.to_pem() for c in certs))
        return self._chain[1]
