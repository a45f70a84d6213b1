"""Property-based requests against /openapi.json (schemathesis): no input may cause a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy import select

from server import models
from server.app import build_service, create_app
from server.config import ServerConfig
from server.domain import SessionKind

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    config = ServerConfig(data_dir=data_dir)
    service = build_service(config)
    app = create_app(config, service)
    service.accounts.register("fuzzed", "张三", "natural", "11010519491231002X", "fuzz@example.com")
    service.accounts.approve("fuzzed")
    with service.db.session() as session:
        [account_id] = session.scalars(select(models.Account.id).where(models.Account.username == "fuzzed"))

    def new_token() -> str:  # one per request: a fuzzed POST /logout must not end the others' session
        with service.db.session() as session:
            return service.sessions.open(session, account_id, SessionKind.ACCOUNT)

    yield schemathesis.openapi.from_asgi("/openapi.json", app), new_token
    service.db.engine.dispose()


def test_no_input_causes_a_server_error(api_schema: Any) -> None:
    """Every operation, ~40 generated requests each (schemathesis' pytest plugin does not run on pytest 9,
    so the operations' Hypothesis strategies are driven directly)."""
    schema, new_token = api_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 18
    statuses: Dict[int, int] = {}
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def exercise(case: Any) -> None:
                response = case.call_and_validate(
                    headers={"Authorization": f"Bearer {new_token()}"}, checks=[not_a_server_error]
                )
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

            try:
                exercise()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to get wrong (e.g. GET /health)
    # the requests really reached the handlers: refusals of every kind, and successes
    print("schemathesis statuses:", dict(sorted(statuses.items())))
    assert sum(statuses.values()) > 300 and 200 in statuses and 422 in statuses and 400 in statuses
