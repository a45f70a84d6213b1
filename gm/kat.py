"""The one loader of known-answer vectors (data files under ``gm/data/vectors``).

Used by the runtime self-test and by the test suite, so both check the same published values.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

VECTOR_DIR = Path(__file__).resolve().parent / "data" / "vectors"


def load_vectors(name: str) -> Dict[str, Any]:
    """Vectors of one algorithm (``sm2``, ``sm3``, ``sm4``); hex strings stay hex."""
    path = VECTOR_DIR / f"{name}.json"
    with path.open("r", encoding="utf-8") as fh:
        data: Dict[str, Any] = json.load(fh)
    return data


def unhex(value: str) -> bytes:
    return bytes.fromhex(value)
