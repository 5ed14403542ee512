"""LEAN entry point (the full algorithm is wired in a later change)."""

from AlgorithmImports import *


class TomKingAlgorithm(QCAlgorithm):
    """Tom King trading system."""

    def initialize(self) -> None:
        self.set_start_date(2024, 1, 2)
        self.set_cash(100_000)
