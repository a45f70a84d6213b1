"""User settings stored as JSON in CERTASSIST_HOME (the tray's 设置 dialog edits the same file)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List

from drivers.soft.driver import certassist_home
from drivers.soft.storage import atomic_write

ENV_PKCS11_MODULES = "CERTASSIST_PKCS11_MODULES"  # extra modules, separated by os.pathsep


@dataclass
class Settings:
    pkcs11_modules: List[str] = field(default_factory=list)

    @staticmethod
    def path() -> Path:
        return certassist_home() / "settings.json"

    @classmethod
    def load(cls) -> Settings:
        try:
            raw: Dict[str, Any] = json.loads(cls.path().read_text(encoding="utf-8"))
        except FileNotFoundError:
            raw = {}
        except (OSError, ValueError) as exc:
            raise ValueError(f"settings file {cls.path()} is unreadable ({exc}); fix or delete it") from exc
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def save(self) -> None:
        self.path().parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path(), json.dumps(asdict(self), ensure_ascii=False, indent=1).encode(), mode=0o600)

    def all_pkcs11_modules(self, extra: List[str]) -> List[str]:
        from_env = [m for m in os.environ.get(ENV_PKCS11_MODULES, "").split(os.pathsep) if m]
        return [*extra, *from_env, *self.pkcs11_modules]
