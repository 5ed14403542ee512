"""``system.ports.Store`` on LEAN's ObjectStore (``algorithm.object_store``).

The ObjectStore keeps string values by key and persists them across backtests of a project and
across restarts of a live deployment (``ObjectStoreExampleAlgorithm.py`` in QuantConnect/Lean);
``save(key, text)`` returns whether the write succeeded, ``read(key)`` returns the text and
``contains_key(key)`` tells whether the key exists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from QuantConnect.Storage import ObjectStore


class LeanStore:
    """Durable key -> text storage.

    Parameters
    ----------
    object_store
        ``algorithm.object_store``.
    log
        One-line messages (a failed save is logged and counted, never raised).
    """

    def __init__(self, object_store: ObjectStore, log: Callable[[str], None]) -> None:
        self._store = object_store
        self._log = log
        self.failed_saves = 0

    def save(self, key: str, text: str) -> None:
        if not self._store.save(key, text):
            self.failed_saves += 1
            self._log(f"STORE save of {key!r} ({len(text)} chars) failed")

    def load(self, key: str) -> str | None:
        if not self._store.contains_key(key):
            return None
        text = self._store.read(key)
        return text if isinstance(text, str) else None
