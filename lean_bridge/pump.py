"""Ordered, non-reentrant delivery of broker events to the trading system.

In a LEAN backtest an order can fill inside the ``combo_limit_order`` call, so ``on_order_event``
runs while the trading system is still in the call that submitted the order. Delivering the fill
then would re-enter the system before it has recorded the order id. The broker therefore queues
events and the pump hands them over only when no system call is running: after each call
returns, and from ``on_order_event`` when the system is idle.
"""

from __future__ import annotations

from collections.abc import Callable

from execution.types import FillEvent


class EventPump:
    """Runs trading-system calls and delivers queued broker events between them.

    Parameters
    ----------
    drain
        Returns and clears the broker's queued events (``LeanBroker.drain``).
    deliver
        ``TradingSystem.on_fill``.
    """

    def __init__(self, drain: Callable[[], list[FillEvent]],
                 deliver: Callable[[FillEvent], None]) -> None:
        self._drain = drain
        self._deliver = deliver
        self._busy = False
        self.delivered = 0

    @property
    def busy(self) -> bool:
        """True while a system call or a delivery is running."""
        return self._busy

    def run(self, call: Callable[[], None]) -> None:
        """Run ``call`` (a system call), then deliver every event it caused."""
        if self._busy:
            call()
            return
        self._busy = True
        try:
            call()
        finally:
            self._busy = False
        self.flush()

    def flush(self) -> None:
        """Deliver queued events, including those caused by the deliveries, unless busy."""
        if self._busy:
            return
        self._busy = True
        try:
            while events := self._drain():
                for event in events:
                    self._deliver(event)
                    self.delivered += 1
        finally:
            self._busy = False
