"""LeanStore on the ObjectStore."""

from __future__ import annotations

from lean_bridge.store import LeanStore
from tests.lean_bridge.fakes import FakeObjectStore


def test_load_when_saved_then_same_text() -> None:
    store = LeanStore(FakeObjectStore(), lambda _: None)

    store.save("state", '{"positions": []}')

    assert store.load("state") == '{"positions": []}'


def test_load_when_key_absent_then_none() -> None:
    assert LeanStore(FakeObjectStore(), lambda _: None).load("state") is None


def test_save_when_object_store_refuses_then_counted_and_logged() -> None:
    logs: list[str] = []
    store = LeanStore(FakeObjectStore(fail=True), logs.append)

    store.save("state", "x")

    assert store.failed_saves == 1
    assert logs and "state" in logs[0]
    assert store.load("state") is None
