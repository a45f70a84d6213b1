"""``certassist-server`` entry point. Placeholder until the issuing service lands (issue 4)."""

from __future__ import annotations

import sys


def main() -> None:
    sys.stderr.write(
        "certassist-server: the issuing service is not part of this build yet (it arrives with issue 4).\n"
    )
    sys.exit(2)
