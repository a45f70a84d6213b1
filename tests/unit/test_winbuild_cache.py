"""The Windows build cache keeps the newest entries of each target: the Windows 7 build's bundle is not
pushed out by main builds (several checkouts share ~/.cache/certassist-build)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from installer.winbuild.cache import prune


def test_prune_keeps_the_newest_entries_of_each_target(tmp_path: Path) -> None:
    names = ["win7-a", "win10-a", "win10-b", "win10-c", "win10-d", "win7-b", "win7-c"]
    now = time.time()
    for age, name in enumerate(names):
        (tmp_path / name).mkdir()
        os.utime(tmp_path / name, (now - age, now - age))  # earlier in the list: newer
    (tmp_path / ".win10-staging").mkdir()  # a build in progress stays
    prune(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".win10-staging", "win10-a", "win10-b", "win7-a", "win7-b"]
