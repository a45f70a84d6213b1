"""Bounded load on loopback: a real server process with two workers, 32 concurrent clients, retries mixed in."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from server.config import ServerConfig
from tests.peers import free_port
from tests.server.services import issuance_benchmark

COUNT = 400
RETRIED = 40


@pytest.mark.integration
@pytest.mark.slow
def test_concurrent_issuances_lose_and_duplicate_nothing(database_url: str, tmp_path: Path) -> None:
    bench = issuance_benchmark()
    config = ServerConfig(data_dir=tmp_path / "data", database_url=database_url, port=free_port())
    jobs = bench.prepare(config, COUNT)
    # Some clients send their request twice (a retry after a dropped answer): they get the same pair.
    jobs += random.sample(jobs, RETRIED)
    random.shuffle(jobs)
    server = bench.start_server(config, workers=2)
    try:
        _elapsed, latencies, results, errors = bench.run_load(config.port, jobs, clients=32)
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert errors == []
    assert len(results) == len(latencies) == COUNT + RETRIED
    assert bench.check_records(config, results) == {
        "returned": 2 * COUNT,  # distinct serials among the answers: a retry got the pair it was issued
        "stored": 2 * COUNT,
        "distinct_stored": 2 * COUNT,
        "escrowed": COUNT,
        "missing": 0,
    }
