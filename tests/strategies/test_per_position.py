"""PerPosition: facts derived once per position object, again for a replacing position."""

from __future__ import annotations

from dataclasses import replace

from config.enums import StrategyKey
from execution.types import Position
from strategies.base import PerPosition
from tests.strategies.builders import simple_position


def test_per_position_when_same_object_then_derived_once_and_replaced_position_rederived() -> None:
    calls: list[str] = []

    def derive(p: Position) -> float:
        calls.append(p.position_id)
        return p.entry_price * 2

    facts = PerPosition(derive)
    p = simple_position(StrategyKey.LT112, position_id="a", entry_price=-3.0)
    q = simple_position(StrategyKey.LT112, position_id="b", entry_price=-1.0)

    assert [facts(p), facts(q), facts(p), facts(q)] == [-6.0, -2.0, -6.0, -2.0]
    assert calls == ["a", "b"]

    changed = replace(p, entry_price=-4.0)  # the ledger replaces a position that changes
    assert facts(changed) == -8.0 and facts(changed) == -8.0
    assert calls == ["a", "b", "a"]


def test_per_position_when_many_positions_then_answers_stay_right() -> None:
    facts = PerPosition(lambda p: p.position_id)
    book = [simple_position(StrategyKey.LT112, position_id=str(i)) for i in range(1000)]

    assert [facts(p) for p in book] == [p.position_id for p in book]
    assert [facts(p) for p in book[:10]] == [str(i) for i in range(10)]
