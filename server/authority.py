"""The CA as clients, relying parties and operators meet it: the published chain, CA certificates (the
caIssuers URLs of authorityInfoAccess) and CRLs (of the root and of each issuing CA), and a new issuing-CA
generation. The CA mechanics (keys, signing, caches) are server.ca; this is the use case around them.
"""

from __future__ import annotations

from typing import Optional

from server.ca import CertificateAuthority
from server.db import Database
from server.errors import not_found
from server.models import ROOT_CRL


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

    def root_crl(self) -> bytes:
        """The root's DER CRL (it covers the issuing CAs), re-signed when due."""
        with self.db.session() as session:
            return self.ca.current_crl(session, ROOT_CRL).to_der()

    def root_certificate(self) -> bytes:
        with self.db.session() as session:
            return self.ca.root(session).to_der()

    def issuing_certificate(self, generation: int) -> bytes:
        """The DER certificate of issuing-CA ``generation`` (what its certificates' caIssuers URL names)."""
        with self.db.session() as session:
            found = self.ca.issuing_certificates(session).get(generation)
            if found is None:
                raise not_found("no_such_ca", "没有该CA证书")
            return found.to_der()

    def rotate(self) -> int:
        """A new issuing-CA generation (for 证书换发: old CA -> new CA); returns it. Flag the accounts to move."""
        with self.db.session() as session:
            return self.ca.rotate(session)

    def set_up(self) -> None:
        """Create the root and the first issuing CA on first start."""
        with self.db.session() as session:
            self.ca.ensure_initialized(session)
