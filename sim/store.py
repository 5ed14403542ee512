"""``FileStore``: the offline engine's :class:`system.ports.Store`, one file per key.

Writes are atomic: the text goes to a temporary file in the same directory, is flushed to disk
and renamed over the target, so a reader sees the old or the new text, never a mix. A ``deferred``
store keeps saved text in memory (its own loads see it) and writes each changed key once per
:meth:`FileStore.flush`. A file that is
not UTF-8 text cannot be handed over as text: :meth:`FileStore.load` copies its bytes aside (the
next save would replace them) and raises ``ValueError`` naming the file and the copy, which the
state loader reports as unusable state.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")


def _filename(key: str) -> str:
    """A file name for ``key``: safe characters kept, others as ``%XX`` (UTF-8 bytes)."""
    if not key:
        raise ValueError("store key must be non-empty")
    out = []
    for ch in key:
        if ch in _SAFE and ch != "%":
            out.append(ch)
        else:
            out.extend(f"%{b:02X}" for b in ch.encode("utf-8"))
    name = "".join(out)
    if name in {".", ".."}:
        name = name.replace(".", "%2E")
    return name + ".txt"


class FileStore:
    """Key -> text storage in ``directory`` (created when missing).

    ``durable`` also fsyncs each write before the rename (survives a machine crash; slower).
    The rename alone already makes every write atomic for readers.

    ``deferred`` keeps each save in memory until :meth:`flush` writes the latest text of every
    key saved since (loads return it meanwhile). The offline engine flushes every few sessions
    and at the end of the run: its broker lives in the same process, so the stored state is read
    back only by systems restarted in that process (through this object) and after the run.
    A file write costs a few hundred microseconds whatever its size (the rename over the old
    file makes the filesystem write the new one out), and the system saves after every event.
    """

    def __init__(self, directory: Path | str, durable: bool = True,
                 deferred: bool = False) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.durable = durable
        self.deferred = deferred
        self._pending: dict[str, str] = {}

    def path(self, key: str) -> Path:
        return self.directory / _filename(key)

    def save(self, key: str, text: str) -> None:
        if self.deferred:
            if key not in self._pending:
                _filename(key)  # an unusable key fails at the save, as when written at once
            self._pending[key] = text
            return
        self._write(key, text)

    def flush(self) -> None:
        """Write every key saved since the last flush (in the order first saved)."""
        while self._pending:
            key = next(iter(self._pending))
            self._write(key, self._pending[key])
            del self._pending[key]

    def _write(self, key: str, text: str) -> None:
        target = self.path(key)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=self.directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
                if self.durable:
                    fh.flush()
                    os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def load(self, key: str) -> str | None:
        pending = self._pending.get(key)
        if pending is not None:
            return pending
        path = self.path(key)
        try:
            with path.open(encoding="utf-8", newline="") as fh:
                return fh.read()
        except FileNotFoundError:
            return None
        except UnicodeDecodeError as exc:
            kept = self._keep_unreadable(path)
            raise ValueError(f"{path} is not UTF-8 text (byte {exc.start}); its bytes were "
                             f"copied to {kept}") from None

    def _keep_unreadable(self, path: Path) -> Path:
        """Copy ``path`` to the first free ``<name>.unreadable-<n>``."""
        n = 1
        while (target := path.with_name(f"{path.name}.unreadable-{n}")).exists():
            n += 1
        shutil.copyfile(path, target)
        return target
