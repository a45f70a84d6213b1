"""Bounded load on loopback: a real server process with two workers, 32 concurrent clients, retries mixed in."""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path
from types import ModuleType

import pytest

from server.config import ServerConfig
from tests.peers import free_port

COUNT = 400
RETRIED = 40


def _benchmark() -> ModuleType:
    """benchmarks/issuance.py: the test drives the server with the benchmark's own load generator."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "issuance.py"
    spec = importlib.util.spec_from_file_location("issuance_benchmark", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.integration
@pytest.mark.slow
def test_concurrent_issuances_lose_and_duplicate_nothing(database_url: str, tmp_path: Path) -> None:
    bench = _benchmark()
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
