"""The tests' stand-in for the OS keyring: keyrings.alt's plain file, replaced atomically on each write.

keyrings.alt truncates its file and writes it again, so a process killed in between loses every entry.
The OS keyrings the product uses (Windows Credential Manager, macOS Keychain, Secret Service) never
leave a half-written entry; the crash tests SIGKILL processes while they update keyring records, so the
stand-in must not either. Everything else is PlaintextKeyring's own code.
"""

from __future__ import annotations

import configparser
import os
import tempfile
from typing import Any

from keyring.errors import PasswordDeleteError
from keyrings.alt.escape import escape as escape_for_ini
from keyrings.alt.file import PlaintextKeyring


class AtomicPlaintextKeyring(PlaintextKeyring):  # type: ignore[misc]
    def _save(self, config: configparser.RawConfigParser) -> None:
        directory = os.path.dirname(self.file_path)
        fd, tmp = tempfile.mkstemp(prefix=".keyring-", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                config.write(fh)
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.file_path)
        except BaseException:
            os.unlink(tmp)
            raise

    def _load(self) -> configparser.RawConfigParser:
        config = configparser.RawConfigParser()
        if os.path.exists(self.file_path):
            config.read(self.file_path, encoding="utf-8")
        return config

    def _write_config_value(self, service: str, key: str, value: Any) -> None:
        self._ensure_file_path()
        config = self._load()
        service, key = escape_for_ini(service), escape_for_ini(key)
        if not config.has_section(service):
            config.add_section(service)
        config.set(service, key, value)
        self._save(config)

    def delete_password(self, service: str, username: str) -> None:
        config = self._load()
        try:
            if not config.remove_option(escape_for_ini(service), escape_for_ini(username)):
                raise PasswordDeleteError("Password not found")
        except configparser.NoSectionError:
            raise PasswordDeleteError("Password not found") from None
        self._save(config)
