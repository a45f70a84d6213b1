"""``python -m app`` runs the ``certassist`` command line (also the PyInstaller entry point)."""

from __future__ import annotations

from app.cli import main

if __name__ == "__main__":
    main()
