"""Rate limits count every attempt, whatever becomes of the request (issue 13.10): the count is committed in
its own transaction before the work, so an unexpected error (a 500, which rolls the request's work back) is no
way around a limit."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from server.certificates import CertificateRegister
from tests.server.conftest import Server, b64


def test_a_request_that_fails_with_a_500_still_counts(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("an unexpected failure after the rate limit")

    monkeypatch.setattr(CertificateRegister, "ours", staticmethod(broken))
    client = TestClient(server.client.app, raise_server_exceptions=False)
    body = {"certificate": b64(b"\x30\x03\x02\x01\x01")}
    statuses = [client.post("/api/v1/unlock/request", json=body).status_code for _ in range(11)]
    assert statuses == [500] * 10 + [429]  # unlock requests: 10 an hour per client
