"""The open dialogs, looked up by their type: one dialog of each kind at a time.

A second request for a kind that is open brings the open one to the front. Kinds that exist once per
something (the details of the signing and of the encryption certificate) add a ``key``.
"""

from __future__ import annotations

from typing import Dict, Iterator, List, Optional, Tuple, Type, TypeVar

from qtpy.QtWidgets import QDialog, QWidget

W = TypeVar("W", bound=QWidget)
Key = Tuple[type, str]


class DialogRegistry:
    def __init__(self) -> None:
        self._open: Dict[Key, QWidget] = {}

    def keep(self, dialog: W, key: str = "") -> W:
        """Remember ``dialog`` as the open one of its type (and ``key``) and show it in front."""
        slot = (type(dialog), key)
        self._open[slot] = dialog

        def forget(*_args: object) -> None:
            if self._open.get(slot) is dialog:
                del self._open[slot]

        dialog.destroyed.connect(forget)
        if isinstance(dialog, QDialog):
            dialog.finished.connect(forget)  # closed: gone from the bookkeeping before Qt deletes it
        _front(dialog)
        return dialog

    def find(self, kind: Type[W], key: str = "") -> Optional[W]:
        dialog = self._open.get((kind, key))
        return dialog if isinstance(dialog, kind) else None

    def front(self, kind: Type[QWidget], key: str = "") -> bool:
        dialog = self.find(kind, key)
        if dialog is None:
            return False
        _front(dialog)
        return True

    def __contains__(self, kind: object) -> bool:
        return any(slot[0] is kind for slot in self._open)

    def __iter__(self) -> Iterator[QWidget]:
        return iter(list(self._open.values()))

    def __len__(self) -> int:
        return len(self._open)

    def kinds(self) -> List[str]:
        return sorted(f"{kind.__name__}{':' + key if key else ''}" for kind, key in self._open)

    def close_all(self) -> None:
        for dialog in list(self._open.values()):
            dialog.close()


def _front(dialog: QWidget) -> None:
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
