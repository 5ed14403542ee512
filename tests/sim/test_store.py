"""FileStore: key -> text round trip with atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.store import FileStore


def test_file_store_when_saved_then_loaded_back(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "state")
    store.save("tom_king_state", '{"a": 1}')
    assert store.load("tom_king_state") == '{"a": 1}'


def test_file_store_when_key_missing_then_none(tmp_path: Path) -> None:
    assert FileStore(tmp_path).load("absent") is None


def test_file_store_when_overwritten_then_new_text_and_no_temp_files(tmp_path: Path) -> None:
    store = FileStore(tmp_path, durable=False)
    store.save("k", "old")
    store.save("k", "new")
    assert store.load("k") == "new"
    assert [p.name for p in tmp_path.iterdir()] == [store.path("k").name]


def test_file_store_when_reopened_then_persists(tmp_path: Path) -> None:
    FileStore(tmp_path).save("k", "text")
    assert FileStore(tmp_path).load("k") == "text"


@settings(max_examples=40, deadline=None)
@given(st.text(min_size=1, max_size=40), st.text(max_size=200))
def test_file_store_when_any_key_and_text_then_round_trip_inside_directory(
        key: str, text: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        store = FileStore(Path(tmp))
        store.save(key, text)
        assert store.load(key) == text
        assert store.path(key).parent == Path(tmp)


def test_deferred_store_when_saved_then_loads_see_it_and_flush_writes_latest_text(
        tmp_path: Path) -> None:
    store = FileStore(tmp_path, durable=False, deferred=True)
    store.save("k", "first")
    store.save("k", "second")
    store.save("other", "x")
    assert store.load("k") == "second"
    assert list(tmp_path.iterdir()) == []
    assert FileStore(tmp_path).load("k") is None
    store.flush()
    assert FileStore(tmp_path).load("k") == "second"
    assert FileStore(tmp_path).load("other") == "x"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [store.path("k").name, store.path("other").name])
    store.save("k", "third")
    assert FileStore(tmp_path).load("k") == "second"
    store.flush()
    assert FileStore(tmp_path).load("k") == "third"


def test_deferred_store_when_key_unusable_then_save_raises_at_once(tmp_path: Path) -> None:
    store = FileStore(tmp_path, deferred=True)
    with pytest.raises(ValueError, match="non-empty"):
        store.save("", "text")


def test_deferred_store_when_not_saved_then_loads_from_disk(tmp_path: Path) -> None:
    FileStore(tmp_path).save("k", "on disk")
    store = FileStore(tmp_path, deferred=True)
    assert store.load("k") == "on disk"
    store.flush()
    assert store.load("k") == "on disk"
