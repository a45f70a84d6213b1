"""Chinese source texts; English (and later others) from Qt translation files in resources/translations.

Every user-visible text goes through ``tr`` with a literal argument, so that
``scripts/update_translations.py`` finds it and the tests can check that each one is translated.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

from qtpy.QtCore import QCoreApplication, QLibraryInfo, QTranslator

CONTEXT = "certassist"
_installed: List[QTranslator] = []
# Qt's own texts (file dialog, text-field menu, "Show Details..."): PySide6 ships qtbase_zh_CN.qm,
# PySide2 5.15 the older, complete qt_zh_CN.qm. Tried in this order.
QT_CATALOGS = ("qtbase", "qt")


def translations_dir() -> Path:
    from app.resources import resource_path

    return resource_path("translations")


def tr(text: str) -> str:
    return QCoreApplication.translate(CONTEXT, text)


def tr_noop(text: str) -> str:
    """Marks a literal for translation where it is defined; ``tr`` translates it where it is shown."""
    return text


def qt_translations_dir() -> str:
    """Where the Qt binding keeps Qt's own translations (QLibraryInfo: Qt 6 ``path``, Qt 5 ``location``)."""
    if hasattr(QLibraryInfo, "path"):
        return str(QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))
    return str(QLibraryInfo.location(QLibraryInfo.TranslationsPath))  # type: ignore[attr-defined]


def _qt_translator(app: QCoreApplication, language: str) -> Optional[QTranslator]:
    for catalog in QT_CATALOGS:
        translator = QTranslator(app)
        if translator.load(f"{catalog}_{language}", qt_translations_dir()):
            return translator
    return None


def install(language: str) -> bool:
    """Load the translations of ``language``: ours (``certassist_<language>.qm``; zh_CN is the source
    language and needs none) and Qt's own for the dialogs Qt draws (none needed for English)."""
    app = QCoreApplication.instance()
    if app is None:
        return False
    for old in _installed:
        app.removeTranslator(old)
    _installed.clear()
    wanted: List[QTranslator] = []
    if language.startswith("zh"):
        qt = _qt_translator(app, "zh_CN")
        if qt is not None:
            wanted.append(qt)
        ours_ok = True
    else:
        translator = QTranslator(app)
        ours_ok = translator.load(str(translations_dir() / f"certassist_{language}.qm"))
        if ours_ok:
            wanted.append(translator)
    for translator in wanted:
        app.installTranslator(translator)
        _installed.append(translator)
    return ours_ok
