"""Chinese source texts; English (and later others) from Qt translation files in resources/translations.

Every user-visible text goes through ``tr`` with a literal argument, so that
``scripts/update_translations.py`` finds it and the tests can check that each one is translated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from qtpy.QtCore import QCoreApplication, QTranslator

CONTEXT = "certassist"
_installed: Optional[QTranslator] = None


def translations_dir() -> Path:
    from app.resources import resource_path

    return resource_path("translations")


def tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def tr_noop(text: str) -> str:
    """Marks a literal for translation where it is defined; ``tr`` translates it where it is shown."""
    return text


def install(language: str) -> bool:
    """Load ``certassist_<language>.qm`` (zh_CN needs none: it is the source language)."""
    global _installed  # noqa: PLW0603 - one translator per application
    app = QCoreApplication.instance()
    if app is None:
        return False
    if _installed is not None:
        app.removeTranslator(_installed)
        _installed = None
    if language.startswith("zh"):
        return True
    translator = QTranslator(app)
    if not translator.load(str(translations_dir() / f"certassist_{language}.qm")):
        return False
    app.installTranslator(translator)
    _installed = translator
    return True
