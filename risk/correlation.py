"""The one owner of the correlation verdict (SPEC §4).

Limits count positions (strategy trades), never legs. A child position (``parent_id`` set, e.g.
an IPMCC weekly short call on its LEAP) belongs to its parent's trade, which passed this check
when it opened: the child is not counted separately and a new child is admitted without the
checks (two weekly calls on two LEAPs of one group expire the same Friday by design). A child's
expiry still blocks a new top-level trade expiring the same day.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from typing import Final

from config.enums import Phase, StrategyKey
from config.instruments import CATALOGUE, Contract
from config.model import Config, CorrelationGroup
from execution.types import Position
from risk.types import Rejection

CHECK: Final = "correlation"


class CorrelationLimiter:
    """Per-group position limits, the combined equity limit and the same-expiry rule."""

    def __init__(self, cfg: Config) -> None:
        self._c = cfg.correlation
        self._scales_in = frozenset(c.key for c in cfg.strategies.all_common() if c.scales_in)

    def root_of(self, contract_or_root: Contract | str) -> str | None:
        """The group-table root of a contract or root name, None when no group lists it.

        Futures and futures options map to the futures root, index options to the index
        (``SPXW`` → ``SPX`` through the catalogue's ``underlying``), equity options to the stock
        or ETF. A leading ``/`` (broker futures notation) is ignored.
        """
        raw = contract_or_root.root if isinstance(contract_or_root, Contract) else contract_or_root
        root = raw.strip().upper().lstrip("/")
        if not root:
            return None
        inst = CATALOGUE.get(root)
        for name in (root, inst.underlying if inst is not None else root):
            if self._c.group_of(name) is not None:
                return name
        return None

    def group_of(self, contract_or_root: Contract | str) -> CorrelationGroup | None:
        root = self.root_of(contract_or_root)
        return None if root is None else self._c.group_of(root)

    def trades_per_group(self, positions: Sequence[Position]) -> dict[str, int]:
        """Open trades per group name, counted as the limits count them: a child whose parent
        is open belongs to the parent's trade, the rungs of a scale-in strategy on one root are
        one trade, and positions whose root is in no group are left out."""
        ids = {p.position_id for p in positions}
        trades: dict[str, str] = {}
        for p in positions:
            if p.parent_id is not None and p.parent_id in ids:
                continue
            group = self.group_of(p.root)
            if group is not None:
                trades.setdefault(self._trade_of(p.key, p.root) or p.position_id, group.name)
        counts: dict[str, int] = {}
        for name in trades.values():
            counts[name] = counts.get(name, 0) + 1
        return counts

    def _trade_of(self, key: StrategyKey, root: str) -> str | None:
        """Trade id shared by every position of a scale-in strategy on ``root``, else None."""
        if key in self._scales_in:
            return f"{key.value}:{root}"
        return None

    def limit(self, group: CorrelationGroup, phase: Phase, vix: float | None) -> int:
        """Position limit of ``group`` in ``phase`` at ``vix`` (never below 0)."""
        base = min(group.base_limit, self._c.phase_limits[int(phase) - 1])
        return max(0, base - self._reduction(vix))

    def combined_limit(self, vix: float | None) -> int:
        return max(0, self._c.combined_limit - self._reduction(vix))

    def _reduction(self, vix: float | None) -> int:
        """Crisis reduction at VIX ≥ ``crisis_vix``; also applied when the VIX is unknown."""
        crisis = vix is None or not math.isfinite(vix) or vix >= self._c.crisis_vix
        return self._c.crisis_reduction if crisis else 0

    def check(self, root: Contract | str, expiry: date, open_positions: Sequence[Position],
              phase: Phase, vix: float | None, *, parent_id: str | None = None,
              replaces: str | None = None, key: StrategyKey | None = None) -> Rejection | None:
        """None when a new position on ``root`` expiring ``expiry`` keeps every limit.

        Parameters
        ----------
        root
            The candidate's root or one of its contracts.
        expiry
            The candidate's expiry date (the position's ``expiry``).
        open_positions
            Every open position of the book.
        phase, vix
            Current phase and VIX (None or NaN = unknown, treated as crisis).
        parent_id
            Set for a child of an open position: it is part of that trade and is admitted.
        replaces
            A position the candidate closes in the same combo (a roll); it is left out.
        key
            The candidate's strategy. For a strategy that scales in (``common.scales_in``, the
            LEAP ladder), every open position of that strategy on one root is one trade: a new
            rung joins it and is admitted, and the rungs count once toward the limits.
        """
        group = self.group_of(root)
        name = root.root if isinstance(root, Contract) else root
        if group is None:
            return Rejection(CHECK, "unknown_root", observed=name,
                             detail="root is in no correlation group")
        book = [p for p in open_positions if p.position_id != replaces]
        groups: dict[str, CorrelationGroup] = {}
        for p in book:
            g = self.group_of(p.root)
            if g is None:
                return Rejection(CHECK, "unknown_open_position_root", observed=p.root,
                                 detail=f"open position {p.position_id} is in no group")
            groups[p.position_id] = g
        ids = {p.position_id for p in book}
        if parent_id is not None and parent_id in ids:
            return None
        own = self._trade_of(key, name) if key is not None else None
        for p in book:
            if own is not None and self._trade_of(p.key, p.root) == own:
                continue
            if groups[p.position_id].name == group.name and p.expiry == expiry:
                return Rejection(CHECK, "same_group_expiry", limit=group.name,
                                 observed=expiry.isoformat(),
                                 detail=f"position {p.position_id} expires the same day")
        if own is not None and any(self._trade_of(p.key, p.root) == own for p in book):
            return None
        counts = self.trades_per_group(book)
        in_group = counts.get(group.name, 0)
        lim = self.limit(group, phase, vix)
        if in_group >= lim:
            return Rejection(CHECK, "group_limit", limit=lim, observed=in_group,
                             detail=f"group {group.name}")
        if group.name in self._c.combined_groups:
            combined = sum(counts.get(name, 0) for name in self._c.combined_groups)
            clim = self.combined_limit(vix)
            if combined >= clim:
                return Rejection(CHECK, "combined_limit", limit=clim, observed=combined,
                                 detail="+".join(self._c.combined_groups))
        return None
