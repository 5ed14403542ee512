"""EventPump: broker events reach the system only between system calls, in order."""

from __future__ import annotations

from datetime import datetime

import pytest

from execution.types import EventKind, FillEvent
from lean_bridge.pump import EventPump

T = datetime(2026, 1, 9, 10, 30)


def event(n: int) -> FillEvent:
    return FillEvent(f"L{n}", T, f"e{n}", EventKind.CANCELLED)


class Queue:
    def __init__(self) -> None:
        self.items: list[FillEvent] = []

    def drain(self) -> list[FillEvent]:
        out, self.items = self.items, []
        return out


def test_run_when_call_queues_events_then_delivered_after_the_call() -> None:
    queue = Queue()
    seen: list[str] = []
    pump = EventPump(queue.drain, lambda e: seen.append(e.event_id))

    def call() -> None:
        queue.items.append(event(1))
        pump.flush()  # an on_order_event arriving inside the call
        seen.append("call-end")

    pump.run(call)

    assert seen == ["call-end", "e1"]


def test_flush_when_delivery_causes_more_events_then_all_delivered_in_order() -> None:
    queue = Queue()
    seen: list[str] = []

    def deliver(e: FillEvent) -> None:
        seen.append(e.event_id)
        if e.event_id == "e1":
            queue.items.append(event(2))

    pump = EventPump(queue.drain, deliver)
    queue.items.extend([event(1), event(3)])

    pump.flush()

    assert seen == ["e1", "e3", "e2"]
    assert pump.delivered == 3
    assert not pump.busy


def test_run_when_call_raises_then_pump_not_left_busy() -> None:
    pump = EventPump(Queue().drain, lambda e: None)

    def boom() -> None:
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        pump.run(boom)

    assert not pump.busy
