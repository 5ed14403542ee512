"""LEAN smoke test of ``TomKingAlgorithm``, in the manner of LEAN's regression algorithms: it
raises (failing the backtest) when

* a fill comes from an order that is not a combo order (a spread legged in or out),
* a combo's legs filled in different proportions,
* an invariant counter of the trading system is above zero (naked short legs, BP cap, correlation
  group limits), or
* a strategy listed in the ``expect_trades`` parameter never opened a position.

Run it from a workspace written by ``python -m lean_bridge.export``, where this file is the smoke
project's ``main.py`` and the algorithm's ``main.py`` is ``tom_king_main.py``::

    lean backtest lean_smoke
"""

from __future__ import annotations

from AlgorithmImports import *
from tom_king_main import TomKingAlgorithm

from config.loader import SHELL_PARAMETERS
from lean_bridge.smoke import end_of_run_violations, order_type_violation, parse_strategies

EXPECT_PARAMETER = "expect_trades"


class TomKingSmokeAlgorithm(TomKingAlgorithm):
    """``TomKingAlgorithm`` plus the smoke test's checks."""

    shell_parameter_names = SHELL_PARAMETERS | {EXPECT_PARAMETER}

    def initialize(self) -> None:
        super().initialize()
        self.expected_trades = parse_strategies(self.get_parameter(EXPECT_PARAMETER, ""))
        self.exercise_fills = 0

    def on_order_event(self, order_event: OrderEvent) -> None:
        super().on_order_event(order_event)
        if order_event.status not in (OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED):
            return
        order_type = self.transactions.get_order_by_id(order_event.order_id).type
        if order_type == OrderType.OPTION_EXERCISE:
            self.exercise_fills += 1
        problem = order_type_violation(order_type,
                                       (OrderType.COMBO_LIMIT, OrderType.COMBO_MARKET),
                                       (OrderType.OPTION_EXERCISE,))
        if problem is not None:
            raise AssertionError(f"{problem}: {order_event}")

    def on_end_of_algorithm(self) -> None:
        super().on_end_of_algorithm()
        problems = end_of_run_violations(self.system.results, self.expected_trades,
                                         self.lean_broker.legged_groups())
        if problems:
            raise AssertionError("smoke test failed: " + "; ".join(problems))
        self.log(f"SMOKE passed: expected {[k.value for k in self.expected_trades]} traded, "
                 f"{self.exercise_fills} exercise/expiry fills, no invariant violations")
