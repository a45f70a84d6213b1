"""The CA as clients and operators meet it: the published chain and CRLs, and a new issuing-CA generation.

The CA mechanics (keys, signing, caches) are server.ca; this is the use case around them. Issue 13.13 (a CRL
of the root, authorityInfoAccess) publishes here.
"""

from __future__ import annotations

from typing import Optional

from server.ca import CertificateAuthority
from server.db import Database
from server.errors import not_found


class Authority:
    def __init__(self, db: Database, ca: CertificateAuthority) -> None:
        self.db = db
        self.ca = ca

    def chain_pem(self) -> bytes:
        """The issuing CA certificates (all generations) and the root, PEM."""
        with self.db.session() as session:
            return self.ca.chain_pem(session)

    def crl(self, generation: Optional[int] = None) -> bytes:
        """The DER CRL of an issuing-CA generation (the current one by default), re-signed when due."""
        with self.db.session() as session:
            if generation is None:
                generation, _cert, _key = self.ca.issuing(session)
            elif generation not in self.ca.issuing_certificates(session):
                raise not_found("no_such_crl", "没有该CRL")
            return self.ca.current_crl(session, generation).to_der()

    def rotate(self) -> int:
        """A new issuing-CA generation (for 证书换发: old CA -> new CA); returns it. Flag the accounts to move."""
        with self.db.session() as session:
            return self.ca.rotate(session)

    def set_up(self) -> None:
        """Create the root and the first issuing CA on first start."""
        with self.db.session() as session:
            self.ca.ensure_initialized(session)
