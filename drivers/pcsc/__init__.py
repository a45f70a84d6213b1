"""PC/SC readers and cards through pyscard: presence, ATR, profile matching, ISO 7816 PIN management."""

from __future__ import annotations

from drivers.pcsc.driver import PcscBackend, PcscDevice, PcscSession, list_readers
from drivers.pcsc.monitor import CardEvent, CardWatcher

__all__ = ["CardEvent", "CardWatcher", "PcscBackend", "PcscDevice", "PcscSession", "list_readers"]
