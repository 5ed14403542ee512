"""Versioned JSON state: the book, trade log, counters and working orders.

The system saves after every change (``save_state`` or ``store.save(key, dump_state(...))``).
``load_state`` never raises: corrupted, truncated, older- or newer-format text is reported with a
clear message, the bad copy is kept under ``<key>.corrupt-<n>``, and the result tells the system
to start in the safe state (no new entries; reconciliation with the broker then adopts whatever
is held as unmanaged, so no position is forgotten).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

from config.model import Config
from execution import codec
from execution.codec import Json, JsonObj
from execution.executor import ComboExecutor, WorkingOrderSnapshot
from execution.ledger import Ledger, LedgerJson, json_array, json_object_parts, json_text

FORMAT = 1
HISTORY_CHUNK = 200
_MAX_QUARANTINE = 1000


class TextStore(Protocol):
    """Durable key → text storage (structurally :class:`system.ports.Store`)."""

    def save(self, key: str, text: str) -> None: ...

    def load(self, key: str) -> str | None: ...


class LoadStatus(Enum):
    """What :func:`load_state` found."""

    FRESH = "fresh"
    OK = "ok"
    CORRUPT = "corrupt"
    TRUNCATED = "truncated"
    OLD_FORMAT = "old_format"
    NEWER_FORMAT = "newer_format"
    STORE_ERROR = "store_error"


@dataclass(frozen=True, slots=True)
class StoredState:
    """The decoded state. ``extras`` are the JSON values the system stored alongside."""

    ledger: Ledger
    working: tuple[WorkingOrderSnapshot, ...]
    counters: dict[str, int] = field(default_factory=dict)
    extras: dict[str, Json] = field(default_factory=dict)
    seen_events: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StateLoad:
    """Result of :func:`load_state`.

    ``state`` is None for a fresh start and for unusable text. ``safe_mode`` is True when the
    stored text was unusable: start with no new entries until reconciled and reviewed.
    ``quarantine_key`` names where the bad copy was kept.
    """

    status: LoadStatus
    state: StoredState | None
    message: str
    quarantine_key: str | None = None

    @property
    def safe_mode(self) -> bool:
        return self.status not in (LoadStatus.FRESH, LoadStatus.OK)

    @property
    def problem(self) -> str | None:
        """The message when the state was unusable, else None."""
        return self.message if self.safe_mode else None


def dump_state(ledger: Ledger, executor: ComboExecutor | Iterable[WorkingOrderSnapshot],
               counters: Mapping[str, int] | None = None,
               extras: Mapping[str, Json] | None = None,
               chunks: Mapping[str, int] | None = None) -> str:
    """Serialise the state as ``{"format": FORMAT, ...}`` JSON text (strict JSON).

    ``chunks[name]`` full chunks of the history ``name`` are stored elsewhere (see
    :class:`StateWriter`); the document then holds only the items after them.
    """
    if isinstance(executor, ComboExecutor):
        working, seen = executor.working_orders(), executor.recent_event_ids()
    else:
        working, seen = tuple(executor), ()
    done = {name: n * HISTORY_CHUNK for name, n in (chunks or {}).items()}
    doc: JsonObj = {
        "format": FORMAT,
        "history_chunks": {k: int(v) for k, v in sorted((chunks or {}).items())},
        "ledger": ledger.to_obj(done),
        "working": [w.to_obj() for w in working],
        "seen_events": list(seen),
        "counters": {k: int(v) for k, v in (counters or {}).items()},
        "extras": dict(extras or {}),
    }
    return json.dumps(doc, allow_nan=False, separators=(",", ":"), sort_keys=True)


def save_state(store: TextStore, key: str, ledger: Ledger,
               executor: ComboExecutor | Iterable[WorkingOrderSnapshot],
               counters: Mapping[str, int] | None = None,
               extras: Mapping[str, Json] | None = None) -> str | None:
    """Save under ``key``; returns None, or an error message (the store or encoding failed)."""
    try:
        text = dump_state(ledger, executor, counters, extras)
        store.save(key, text)
    except Exception as exc:  # a store failure must not stop the trading loop
        return f"state not saved under {key!r}: {type(exc).__name__}: {exc}"
    return None


class StateWriter:
    """Saves the state under ``key`` after every change in time proportional to the open state.

    The append-only histories (trade log, closed trades) are cut into chunks of
    ``HISTORY_CHUNK`` items, each written once under ``<key>.<name>.<n>`` before the main
    document that counts them; the main document holds the open book, working orders, counters
    and the history items after the last full chunk. A crash between a chunk and the main
    document leaves a chunk the next save writes again with the same content.

    The main document's text is the same as :func:`dump_state` gives; parts that did not change
    since the previous save (history items, the equity series, open positions, the remembered
    event ids) are not encoded again.
    """

    def __init__(self, store: TextStore, key: str) -> None:
        self._store = store
        self._key = key
        self._chunks: dict[str, int] = {}
        self._ledger_json = LedgerJson()
        self._seen_of: ComboExecutor | None = None
        self._seen_rev: tuple[int, int] = (-1, 0)
        self._seen_parts: deque[str] = deque()
        self._seen_text = "[]"

    def save(self, ledger: Ledger, executor: ComboExecutor,
             counters: Mapping[str, int] | None = None,
             extras: Mapping[str, Json] | None = None) -> None:
        """Write new full history chunks, then the main document."""
        for name, length in ledger.history_lengths().items():
            n = self._chunks.get(name, 0)
            while (n + 1) * HISTORY_CHUNK <= length:
                part = ledger.history_obj(name, n * HISTORY_CHUNK, (n + 1) * HISTORY_CHUNK)
                self._store.save(chunk_key(self._key, name, n),
                                 json.dumps(part, allow_nan=False, separators=(",", ":")))
                n += 1
            self._chunks[name] = n
        self._store.save(self._key, self.text(ledger, executor, counters, extras))

    def text(self, ledger: Ledger, executor: ComboExecutor,
             counters: Mapping[str, int] | None = None,
             extras: Mapping[str, Json] | None = None) -> str:
        """The main document as :func:`dump_state` with the chunks written so far."""
        done = {name: n * HISTORY_CHUNK for name, n in self._chunks.items()}
        members: dict[str, str | list[str]] = {
            "format": json_text(FORMAT),
            "history_chunks": json_text({k: int(v) for k, v in self._chunks.items()}),
            "ledger": self._ledger_json.parts(ledger, done),
            "working": json_array([json_text(w.to_obj()) for w in executor.working_orders()]),
            "seen_events": self._seen(executor),
            "counters": json_text({k: int(v) for k, v in (counters or {}).items()}),
            "extras": json_text(dict(extras or {})),
        }
        return "".join(json_object_parts(members))

    def _seen(self, executor: ComboExecutor) -> str:
        """Text of ``executor.recent_event_ids()``, extended by the ids added since the last
        call while none was moved (see :meth:`ComboExecutor.recent_event_revision`)."""
        rev = executor.recent_event_revision()
        if executor is self._seen_of and rev == self._seen_rev:
            return self._seen_text
        parts = self._seen_parts
        added = rev[1] - self._seen_rev[1]
        if executor is not self._seen_of or rev[0] != self._seen_rev[0] or added < 0:
            parts.clear()
            ids = executor.recent_event_ids()
        else:
            ids = executor.recent_event_ids(added)
        parts.extend(json_text(i) for i in ids)
        keep = executor.recent_event_count()
        while len(parts) > keep:
            parts.popleft()
        self._seen_of, self._seen_rev = executor, rev
        self._seen_text = json_array(parts)
        return self._seen_text


def chunk_key(key: str, name: str, n: int) -> str:
    """Store key of chunk ``n`` of the history ``name`` saved with the state ``key``."""
    return f"{key}.{name}.{n}"


def decode_state(text: str, cfg: Config,
                 chunk_text: Callable[[str, int], str | None] | None = None) -> StoredState:
    """Decode :func:`dump_state` text of the current format.

    ``chunk_text(name, n)`` returns the text of history chunk ``n`` of ``name`` (required when
    the document counts chunks). Raises ``json.JSONDecodeError`` for bad JSON and
    :class:`execution.codec.StateFormatError` for content of the wrong shape or a missing chunk.
    """
    doc = codec.obj(json.loads(text), "state")
    fmt = codec.get_int(doc, "format")
    if fmt != FORMAT:
        raise codec.StateFormatError(f"format {fmt}, expected {FORMAT}")
    ledger_obj: dict[str, Json] = dict(codec.obj(codec.field(doc, "ledger"), "ledger"))
    counts = codec.obj(doc.get("history_chunks", {}), "history_chunks")
    if counts:
        for name, count in counts.items():
            if name not in ("trade_log", "closed_trades"):
                raise codec.StateFormatError(f"history_chunks: unknown history {name!r}")
            head: list[Json] = []
            for n in range(codec.as_int(count, f"history_chunks.{name}")):
                raw = chunk_text(name, n) if chunk_text is not None else None
                if raw is None:
                    raise codec.StateFormatError(f"history chunk {name}.{n} is missing")
                items = codec.seq(json.loads(raw), f"{name}.{n}")
                if len(items) != HISTORY_CHUNK:
                    raise codec.StateFormatError(f"history chunk {name}.{n} has {len(items)} "
                                                 f"items, expected {HISTORY_CHUNK}")
                head.extend(items)
            ledger_obj[name] = head + list(codec.seq(codec.field(ledger_obj, name), name))
    ledger = Ledger.from_obj(ledger_obj, cfg)
    working = tuple(WorkingOrderSnapshot.from_obj(w)
                    for w in codec.seq(codec.field(doc, "working"), "working"))
    counters = {k: codec.as_int(v, f"counters.{k}")
                for k, v in codec.obj(codec.field(doc, "counters"), "counters").items()}
    extras = dict(codec.obj(codec.field(doc, "extras"), "extras"))
    seen = tuple(codec.as_str(x, "seen_events")
                 for x in codec.seq(codec.field(doc, "seen_events"), "seen_events"))
    return StoredState(ledger, working, counters, extras, seen)


def load_state(store: TextStore, key: str, cfg: Config) -> StateLoad:
    """Load the state saved under ``key``; never raises (see the module docstring)."""
    try:
        text = store.load(key)
    except Exception as exc:  # the store itself failed: nothing can be trusted
        return StateLoad(LoadStatus.STORE_ERROR, None,
                         f"state {key!r} could not be read ({type(exc).__name__}: {exc}); "
                         "starting with no new entries")
    if text is None:
        return StateLoad(LoadStatus.FRESH, None, f"no stored state under {key!r}")
    status, detail = _classify(text)
    if status is LoadStatus.OK:
        try:
            state = decode_state(text, cfg,
                                 lambda name, n: store.load(chunk_key(key, name, n)))
        except (codec.StateFormatError, ValueError, TypeError, KeyError) as exc:
            status, detail = LoadStatus.CORRUPT, f"invalid content: {exc}"
        else:
            return StateLoad(LoadStatus.OK, state,
                             f"state {key!r} loaded: {len(state.ledger.positions())} "
                             f"positions, {len(state.working)} working orders")
    kept = _quarantine(store, key, text)
    where = f"bad copy kept as {kept!r}" if kept else "bad copy could not be kept"
    return StateLoad(status, None,
                     f"stored state {key!r} is {status.value.replace('_', ' ')} ({detail}); "
                     f"{where}; starting with no new entries until reconciled", kept)


def _classify(text: str) -> tuple[LoadStatus, str]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
            return LoadStatus.TRUNCATED, f"text ends early at character {exc.pos}"
        return LoadStatus.CORRUPT, f"not JSON: {exc.msg} at character {exc.pos}"
    if not isinstance(doc, dict):
        return LoadStatus.CORRUPT, f"expected an object, got {type(doc).__name__}"
    fmt = doc.get("format")
    if fmt is None:
        return LoadStatus.OLD_FORMAT, "no format field (written before versioning)"
    if isinstance(fmt, bool) or not isinstance(fmt, int):
        return LoadStatus.CORRUPT, f"format field is {fmt!r}"
    if fmt < FORMAT:
        return LoadStatus.OLD_FORMAT, f"format {fmt}, this version reads {FORMAT}"
    if fmt > FORMAT:
        return LoadStatus.NEWER_FORMAT, f"format {fmt}, this version reads {FORMAT}"
    return LoadStatus.OK, ""


def _quarantine(store: TextStore, key: str, text: str) -> str | None:
    """Save ``text`` under the first free ``<key>.corrupt-<n>``; None when that fails."""
    try:
        for n in range(1, _MAX_QUARANTINE + 1):
            name = f"{key}.corrupt-{n}"
            if store.load(name) is None:
                store.save(name, text)
                return name
    except Exception:  # keeping the copy is best effort; the load result still says unsafe
        return None
    return None
