"""Cached proxy credentials and login sessions: in the OS keyring, cleared by 清除代理登录缓存.

Without an OS keyring (a headless Linux desktop) they are kept in memory for this run only and the
settings page says so; they are never written to a plain file and never logged.
"""

from __future__ import annotations

import contextlib
from typing import Dict, Optional, Set, Tuple

import keyring.errors

from drivers.soft.device_secret import os_keyring

PROXY_SERVICE = "CertAssist proxy"
SESSION_SERVICE = "CertAssist session"


class CredentialCache:
    def __init__(self) -> None:
        self._memory: Dict[Tuple[str, str], str] = {}
        self._keys: Dict[str, Set[str]] = {PROXY_SERVICE: set(), SESSION_SERVICE: set()}

    @property
    def persistent(self) -> bool:
        return os_keyring() is not None

    def _get(self, service: str, key: str) -> Optional[str]:
        backend = os_keyring()
        if backend is not None:
            with contextlib.suppress(keyring.errors.KeyringError):
                value = backend.get_password(service, key)
                if value is not None:
                    return str(value)
        return self._memory.get((service, key))

    def _set(self, service: str, key: str, value: str) -> None:
        self._keys[service].add(key)
        backend = os_keyring()
        if backend is not None:
            try:
                backend.set_password(service, key, value)
                return
            except keyring.errors.KeyringError:
                pass  # a locked collection: keep it for this run rather than lose it
        self._memory[(service, key)] = value

    def _delete(self, service: str, key: str) -> None:
        self._memory.pop((service, key), None)
        backend = os_keyring()
        if backend is not None:
            with contextlib.suppress(keyring.errors.KeyringError):
                backend.delete_password(service, key)

    # -- proxy ----------------------------------------------------------------------------
    def proxy_password(self, proxy_url: str, username: str) -> Optional[str]:
        return self._get(PROXY_SERVICE, proxy_key(proxy_url, username)) if username else None

    def set_proxy_password(self, proxy_url: str, username: str, password: str) -> None:
        self._set(PROXY_SERVICE, proxy_key(proxy_url, username), password)

    # -- sessions ---------------------------------------------------------------------------
    def session(self, service_url: str) -> Optional[str]:
        return self._get(SESSION_SERVICE, service_url)

    def set_session(self, service_url: str, token: str) -> None:
        self._set(SESSION_SERVICE, service_url, token)

    def forget_session(self, service_url: str) -> None:
        self._delete(SESSION_SERVICE, service_url)

    def clear(self, proxy_keys: Tuple[str, ...] = (), service_urls: Tuple[str, ...] = ()) -> None:
        """清除代理登录缓存: every proxy password and session this run knows of, plus the ones named."""
        for key in {*self._keys[PROXY_SERVICE], *proxy_keys}:
            self._delete(PROXY_SERVICE, key)
        for url in {*self._keys[SESSION_SERVICE], *service_urls}:
            self._delete(SESSION_SERVICE, url)
        self._memory.clear()
        for keys in self._keys.values():
            keys.clear()


def proxy_key(proxy_url: str, username: str) -> str:
    return f"{username}@{proxy_url}"
