"""User-facing texts made outside the Qt layer (环境修复's checks, the device list's problems).

They are kept as a Chinese template plus values, so the tray can translate them when it shows them
(``scripts/update_translations.py`` collects every ``message("…")`` literal) and the command line can
print the Chinese text as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Tuple


def _same(text: str) -> str:
    return text


@dataclass(frozen=True)
class Message:
    template: str  # a Chinese literal with {name} fields
    values: Tuple[Tuple[str, Any], ...] = ()

    def render(self, translate: Callable[[str], str] = _same) -> str:
        return translate(self.template).format(**dict(self.values))

    def __str__(self) -> str:
        return self.render()


def message(template: str, **values: Any) -> Message:
    return Message(template, tuple(sorted(values.items())))


def tr_noop(text: str) -> str:
    """Marks a literal for translation where it is defined; the tray translates it where it is shown."""
    return text
