"""Collect every translatable text of the tray and write resources/translations/certassist_<lang>.ts/.qm.

Texts are the Chinese literals passed to ``tr`` / ``tr_noop`` in app/ui, the ``message`` / ``tr_noop``
literals anywhere in app/ (texts made outside the Qt layer, see app/messages.py), and the progress
messages of app/flows.py and app/repair.py (shown through ``tr``). Translations come from
resources/translations/<lang>.json (source text -> translation); missing ones are listed and fail
``--check``. The .qm is compiled with PySide6's lrelease.

Usage: python scripts/update_translations.py [--check]
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "resources" / "translations"
LANGUAGES = ["en"]
CONTEXT = "certassist"


def _literal_calls(path: Path, names: tuple) -> List[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in names and isinstance(node.args[0].value, str):
                found.append(node.args[0].value)
    return found


def source_texts() -> List[str]:
    texts: List[str] = []
    for path in sorted((ROOT / "app" / "ui").glob("*.py")):
        texts += _literal_calls(path, ("tr", "tr_noop", "message"))
    for path in sorted((ROOT / "app").glob("*.py")):
        texts += _literal_calls(path, ("message", "tr_noop"))
    texts += _literal_calls(ROOT / "app" / "flows.py", ("progress",))
    texts += _literal_calls(ROOT / "app" / "repair.py", ("report_progress", "Check"))
    return sorted(set(texts))


def lrelease() -> str:
    candidates = [Path(sys.executable).with_name("pyside6-lrelease"), Path(shutil.which("lrelease") or "")]
    for candidate in candidates:
        if candidate.name and candidate.exists():
            return str(candidate)
    import importlib.util

    spec = importlib.util.find_spec("PySide6")  # the binary ships inside the PySide6 wheel
    if spec is None or spec.origin is None:
        raise SystemExit("lrelease not found: install PySide6 (./test.sh does)")
    return str(Path(spec.origin).parent / "lrelease")


def ts_document(language: str, texts: List[str], translations: Dict[str, str]) -> str:
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        "<!DOCTYPE TS>",
        f'<TS version="2.1" language="{language}" sourcelanguage="zh_CN">',
    ]
    lines.append(f"<context>\n    <name>{CONTEXT}</name>")
    for text in texts:
        target = translations.get(text, "")
        kind = "" if target else ' type="unfinished"'
        lines.append("    <message>")
        lines.append(f"        <source>{escape(text)}</source>")
        lines.append(f"        <translation{kind}>{escape(target)}</translation>")
        lines.append("    </message>")
    lines.append("</context>\n</TS>\n")
    return "\n".join(lines)


def build(language: str, directory: Path) -> List[str]:
    texts = source_texts()
    translations: Dict[str, str] = json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
    missing = [t for t in texts if not translations.get(t)]
    ts = directory / f"certassist_{language}.ts"
    ts.write_text(ts_document(language, texts, translations), encoding="utf-8")
    subprocess.run([lrelease(), "-silent", str(ts), "-qm", str(directory / f"certassist_{language}.qm")], check=True)  # noqa: S603
    return missing


def main() -> int:
    check = "--check" in sys.argv
    problems = 0
    for language in LANGUAGES:
        if check:  # rebuild in a temp dir and compare with what is committed
            with tempfile.TemporaryDirectory() as tmp:
                missing = build(language, Path(tmp))
                for suffix in ("ts", "qm"):
                    name = f"certassist_{language}.{suffix}"
                    if (Path(tmp) / name).read_bytes() != (TRANSLATIONS / name).read_bytes():
                        print(f"{name} is out of date: run python scripts/update_translations.py")
                        problems += 1
        else:
            missing = build(language, TRANSLATIONS)
        for text in missing:
            print(f"[{language}] untranslated: {text}")
        problems += len(missing)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
