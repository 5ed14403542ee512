"""Persistence: versioned JSON round trip and damaged stored state."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import pytest

from execution.codec import Json
from execution.executor import ComboExecutor
from execution.ledger import Ledger
from execution.persistence import (
    FORMAT,
    HISTORY_CHUNK,
    LoadStatus,
    StateWriter,
    chunk_key,
    dump_state,
    load_state,
    save_state,
)
from execution.types import ExitReason
from tests.execution.builders import (
    CFG,
    CREDIT_SPREAD,
    LONG_PUT,
    SHORT_PUT,
    T0,
    Events,
    FakeRouter,
    facts,
    spread_quotes,
)

KEY = "state"


@dataclass
class MemoryStore:
    """Store in memory, as LEAN's ObjectStore: text by key, overwritten on save."""

    data: dict[str, str] = field(default_factory=dict)
    fail_load: bool = False
    fail_save: bool = False

    def save(self, key: str, text: str) -> None:
        if self.fail_save:
            raise OSError("disk full")
        self.data[key] = text

    def load(self, key: str) -> str | None:
        if self.fail_load:
            raise OSError("io error")
        return self.data.get(key)


def busy_state() -> tuple[Ledger, ComboExecutor]:
    """A ledger with an open position, a closed trade and equity, and an executor with one
    working entry that has a held partial fill."""
    router = FakeRouter()
    ex = ComboExecutor(CFG, router)
    ledger = Ledger(CFG)
    ev = Events()
    q = spread_quotes()
    for pid in ("1", "2"):
        oid = ex.submit_entry(pid, f"#{pid}", CREDIT_SPREAD, 1, q, T0)
        assert oid is not None
        for event in ev.fill_order(router.orders[oid], oid, {LONG_PUT: 1.0, SHORT_PUT: 2.15},
                                   T0, fee=1.0):
            for o in ex.on_event(event):
                ledger.open_position(o, facts())
    oid = ex.submit_exit("2", "close", CREDIT_SPREAD, -1, q, T0,
                         exit_reason=ExitReason.PROFIT_TARGET)
    assert oid is not None
    for event in ev.fill_order(router.orders[oid], oid, {LONG_PUT: 0.5, SHORT_PUT: 0.9}, T0):
        for o in ex.on_event(event):
            ledger.apply_exit(o)
    oid = ex.submit_entry("3", "#3", CREDIT_SPREAD, 2, q, T0)
    assert oid is not None
    ex.on_event(ev.leg(oid, LONG_PUT, 1, 1.0, T0))
    ledger.record_equity(date(2026, 3, 6), 100_000.0)
    ledger.record_equity(date(2026, 3, 9), 100_150.0)
    return ledger, ex


def test_dump_and_load_when_round_tripped_restores_everything() -> None:
    ledger, ex = busy_state()
    store = MemoryStore()
    save_state(store, KEY, ledger, ex, {"next_id": 4}, {"breakers": {"peak": 100150.0}})

    loaded = load_state(store, KEY, CFG)

    assert loaded.status is LoadStatus.OK and not loaded.safe_mode and loaded.problem is None
    assert loaded.state is not None
    state = loaded.state
    assert state.ledger.positions() == ledger.positions()
    assert state.ledger.holdings() == ledger.holdings()
    assert state.ledger.trade_log == ledger.trade_log
    assert [t.to_obj() for t in state.ledger.closed_trades] == \
        [t.to_obj() for t in ledger.closed_trades]
    assert len(ledger.closed_trades) == 1
    assert state.ledger.attribution() == ledger.attribution()
    assert state.working == ex.working_orders()
    assert state.counters == {"next_id": 4}
    assert state.extras == {"breakers": {"peak": 100150.0}}
    assert state.seen_events == ex.recent_event_ids()
    again = ComboExecutor(CFG, FakeRouter())
    again.restore(state.working)
    again.remember_events(state.seen_events)
    assert dump_state(state.ledger, again, state.counters, state.extras) == store.data[KEY]


def test_dump_state_when_written_is_strict_versioned_json() -> None:
    ledger, ex = busy_state()

    doc = json.loads(dump_state(ledger, ex))

    assert doc["format"] == FORMAT
    assert {"ledger", "working", "counters", "extras"} <= set(doc)


def test_load_state_when_nothing_stored_starts_fresh_not_safe_mode() -> None:
    loaded = load_state(MemoryStore(), KEY, CFG)

    assert loaded.status is LoadStatus.FRESH
    assert loaded.state is None and not loaded.safe_mode


def good_text() -> str:
    ledger, ex = busy_state()
    return dump_state(ledger, ex)


@pytest.mark.parametrize(("mangle", "status", "words"), [
    (lambda t: "{garbage" + t, LoadStatus.CORRUPT, "not JSON"),
    (lambda t: t[: len(t) // 2], LoadStatus.TRUNCATED, "ends early"),
    (lambda t: t.replace(f'"format":{FORMAT}', '"format":0'), LoadStatus.OLD_FORMAT,
     "format 0"),
    (lambda t: json.dumps({"positions": []}), LoadStatus.OLD_FORMAT, "no format field"),
    (lambda t: t.replace(f'"format":{FORMAT}', f'"format":{FORMAT + 1}'),
     LoadStatus.NEWER_FORMAT, f"format {FORMAT + 1}"),
    (lambda t: t.replace('"units":', '"unitz":', 1), LoadStatus.CORRUPT, "invalid content"),
    (lambda t: "[1, 2]", LoadStatus.CORRUPT, "expected an object"),
])
def test_load_state_when_stored_text_unusable_keeps_copy_and_starts_safe(
        mangle: object, status: LoadStatus, words: str) -> None:
    assert callable(mangle)
    bad = mangle(good_text())
    store = MemoryStore({KEY: bad})

    loaded = load_state(store, KEY, CFG)

    assert loaded.status is status
    assert loaded.safe_mode
    assert loaded.state is None
    assert words in loaded.message
    assert "no new entries" in loaded.message
    assert loaded.quarantine_key == f"{KEY}.corrupt-1"
    assert store.data[f"{KEY}.corrupt-1"] == bad
    assert store.data[KEY] == bad


def test_load_state_when_corrupted_twice_keeps_both_copies() -> None:
    store = MemoryStore({KEY: "{bad one"})
    load_state(store, KEY, CFG)
    store.data[KEY] = "{bad two"

    loaded = load_state(store, KEY, CFG)

    assert loaded.quarantine_key == f"{KEY}.corrupt-2"
    assert store.data[f"{KEY}.corrupt-1"] == "{bad one"
    assert store.data[f"{KEY}.corrupt-2"] == "{bad two"


def test_load_state_when_store_raises_reports_store_error_safe_mode() -> None:
    loaded = load_state(MemoryStore(fail_load=True), KEY, CFG)

    assert loaded.status is LoadStatus.STORE_ERROR
    assert loaded.safe_mode and loaded.problem is not None


def test_save_state_when_store_raises_returns_message_without_raising() -> None:
    ledger, ex = busy_state()

    problem = save_state(MemoryStore(fail_save=True), KEY, ledger, ex)

    assert problem is not None and "disk full" in problem


def test_restored_state_when_reloaded_books_further_fills_like_the_original() -> None:
    ledger, ex = busy_state()
    loaded = load_state(MemoryStore({KEY: dump_state(ledger, ex)}), KEY, CFG)
    assert loaded.state is not None
    router = FakeRouter()
    again = ComboExecutor(CFG, router)
    again.restore(loaded.state.working)
    (working,) = loaded.state.working
    ev = Events()
    ev.n = 100

    outs = again.on_event(ev.leg(working.order_id, LONG_PUT, 1, 1.0, T0 + timedelta(minutes=1)))
    outs += again.on_event(ev.leg(working.order_id, SHORT_PUT, -2, 2.15,
                                  T0 + timedelta(minutes=1)))
    for o in outs:
        loaded.state.ledger.open_position(o, facts())

    assert router.orders == {}
    assert loaded.state.ledger.holdings() == {LONG_PUT: 3, SHORT_PUT: -3}


def long_history(ledger: Ledger, n: int) -> None:
    """Append ``n`` copies of the ledger's first trade record and closed trade (history only)."""
    record, trade = ledger.trade_log[0], ledger.closed_trades[0]
    ledger.trade_log.extend([record] * n)
    ledger.closed_trades.extend([trade] * n)


def test_state_writer_when_history_long_then_chunks_written_once_and_main_doc_small() -> None:
    ledger, ex = busy_state()
    store = MemoryStore()
    writer = StateWriter(store, KEY)
    long_history(ledger, 2 * HISTORY_CHUNK + 7)

    writer.save(ledger, ex, {"next_id": 4})
    first_chunk = store.data[chunk_key(KEY, "closed_trades", 0)]
    writer.save(ledger, ex, {"next_id": 5})

    assert store.data[chunk_key(KEY, "closed_trades", 0)] == first_chunk
    assert chunk_key(KEY, "closed_trades", 2) not in store.data
    doc = json.loads(store.data[KEY])
    assert doc["history_chunks"] == {"closed_trades": 2, "trade_log": 2}
    assert len(doc["ledger"]["closed_trades"]) == len(ledger.closed_trades) - 2 * HISTORY_CHUNK
    loaded = load_state(store, KEY, CFG)
    assert loaded.state is not None
    assert [t.to_obj() for t in loaded.state.ledger.closed_trades] == \
        [t.to_obj() for t in ledger.closed_trades]
    assert loaded.state.ledger.trade_log == ledger.trade_log


def test_load_state_when_history_chunk_missing_then_safe_mode_not_crash() -> None:
    ledger, ex = busy_state()
    store = MemoryStore()
    long_history(ledger, HISTORY_CHUNK)
    StateWriter(store, KEY).save(ledger, ex)
    del store.data[chunk_key(KEY, "trade_log", 0)]

    loaded = load_state(store, KEY, CFG)

    assert loaded.safe_mode and loaded.state is None
    assert "missing" in loaded.message


def assert_saved_as_dump_state(store: MemoryStore, ledger: Ledger, ex: ComboExecutor,
                               counters: dict[str, int], extras: dict[str, Json]) -> None:
    """The writer's main document is the text :func:`dump_state` gives for the same state."""
    chunks = json.loads(store.data[KEY])["history_chunks"]
    assert store.data[KEY] == dump_state(ledger, ex, counters, extras, chunks)


def test_state_writer_when_state_changes_between_saves_then_text_equals_dump_state() -> None:
    ledger, ex = busy_state()
    store = MemoryStore()
    writer = StateWriter(store, KEY)
    counters: dict[str, int] = {"next_id": 4}
    extras: dict[str, Json] = {"breakers": {"peak": 100150.0}, "session": {"day": None}}

    def save() -> None:
        writer.save(ledger, ex, counters, extras)
        assert_saved_as_dump_state(store, ledger, ex, counters, extras)

    save()
    save()
    for i in range(5):  # appended days
        ledger.record_equity(date(2026, 3, 10) + timedelta(days=i), 100_000.0 + i)
        save()
    ledger.record_equity(date(2026, 3, 14), 99_000.5)  # the latest day again
    save()
    ledger.record_equity(date(2026, 3, 1), 98_000.0)  # an earlier day
    save()
    ledger.record_equity(date(2026, 3, 20), 97_000.0)
    save()
    long_history(ledger, HISTORY_CHUNK - 3)  # the tails grow across a chunk boundary
    save()
    long_history(ledger, 5)
    save()
    ledger.trade_log[-1] = ledger.trade_log[1]  # an item replaced in the unchunked tail
    save()
    ex.remember_events(f"X{i}" for i in range(10))  # ids added
    save()
    book = ledger._books["1"]
    book.realised = -0.0  # the same number with another sign bit is another text
    save()
    book.realised = 0.0
    save()
    router = ex._router
    assert isinstance(router, FakeRouter)
    oid = ex.submit_exit("1", "close", CREDIT_SPREAD, -1, spread_quotes(), T0,
                         exit_reason=ExitReason.PROFIT_TARGET)
    assert oid is not None
    ev = Events()
    ev.n = 5_000
    fills = ev.fill_order(router.orders[oid], oid, {LONG_PUT: 0.4, SHORT_PUT: 0.8}, T0)
    for o in ex.on_event(fills[0]):
        ledger.apply_exit(o)
    save()
    for o in ex.on_event(fills[1]):
        ledger.apply_exit(o)  # the position closes: its book goes
    save()
    ex.remember_events(["X3"])  # an id seen again moves to the newest end
    save()
    ex.remember_events(f"Y{i}" for i in range(5000))  # more than the executor keeps
    save()
    router = FakeRouter()
    ev = Events()
    ev.n = 10_000
    ex2 = ComboExecutor(CFG, router)
    oid = ex2.submit_entry("7", "#7", CREDIT_SPREAD, 1, spread_quotes(), T0)
    assert oid is not None
    for event in ev.fill_order(router.orders[oid], oid, {LONG_PUT: 1.0, SHORT_PUT: 2.15}, T0):
        for o in ex2.on_event(event):
            ledger.open_position(o, facts())  # a new position, book and expectation
    ex = ex2  # another executor
    save()
    counters["next_id"] = 8
    extras["session"] = {"day": "2026-03-20"}
    save()
    loaded = load_state(store, KEY, CFG)  # another ledger object with the same content
    assert loaded.state is not None
    ledger = loaded.state.ledger
    save()
    ledger.record_equity(date(2026, 3, 23), 97_500.0)
    save()
