"""Contract <-> LEAN ``Symbol`` book, and the LEAN enum members the adapters compare against.

LEAN identifies every security by a ``Symbol`` whose ``id`` (``SecurityIdentifier``) carries the
ticker, expiry (``id.date``), strike (``id.strike_price``) and right (``id.option_right``); the
latter two exist only for options. A futures option's ``underlying`` is the futures contract, so
its root is the underlying's ticker (``ES``); an index option's root is its own ticker (``SPXW``);
an equity option's ticker is the equity's (``SPY``).

The book learns symbols as chains and holdings are read; orders can only name contracts the book
has seen (strategies select contracts from chains; open positions were filled or reconciled).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from config.enums import Right
from config.instruments import CATALOGUE, Contract

if TYPE_CHECKING:
    from QuantConnect import OptionRight, SecurityType, Symbol
    from QuantConnect.Orders import OrderStatus


@dataclass(frozen=True, slots=True)
class LeanEnums:
    """The LEAN enum members the adapters compare against, handed over by ``main.py``.

    LEAN's enums exist only inside the engine (pythonnet), so the pure adapter modules receive the
    members they need instead of importing them.
    """

    call: OptionRight
    future: SecurityType
    future_option: SecurityType
    option_types: tuple[SecurityType, ...]
    filled: OrderStatus
    partially_filled: OrderStatus
    canceled: OrderStatus
    invalid: OrderStatus


# An equity or index holding has no expiry; reconciliation keys it on this date.
NO_EXPIRY = date.max


class SymbolBook:
    """Two-way map between :class:`~config.instruments.Contract` and LEAN ``Symbol``.

    Parameters
    ----------
    enums
        LEAN enum members (security types and the call right).
    """

    def __init__(self, enums: LeanEnums) -> None:
        self._enums = enums
        self._by_symbol: dict[Symbol, Contract] = {}
        self._by_contract: dict[Contract, Symbol] = {}

    def is_future_option(self, symbol: Symbol) -> bool:
        """Whether ``symbol`` is a futures option (its ``underlying`` is a futures contract)."""
        return bool(symbol.security_type == self._enums.future_option and symbol.has_underlying)

    def root_of(self, symbol: Symbol) -> str | None:
        """Catalogue root of ``symbol`` (``ES`` for ES futures and their options, ``SPXW`` for
        SPXW options, ``SPY`` for SPY and its options); None when the root is not catalogued."""
        source = symbol.underlying if self.is_future_option(symbol) else symbol
        ticker = source.id.symbol
        return ticker if ticker in CATALOGUE else None

    def contract_of(self, symbol: Symbol, root: str | None = None) -> Contract | None:
        """The contract ``symbol`` denotes, learning the pair; None when its root is unknown.

        ``root`` skips the root lookup when the caller knows it (a chain of that root).
        """
        known = self._by_symbol.get(symbol)
        if known is not None:
            return known
        name = root if root is not None else self.root_of(symbol)
        if name is None:
            return None
        sid = symbol.id
        security_type = symbol.security_type
        if security_type in self._enums.option_types:
            right = Right.CALL if sid.option_right == self._enums.call else Right.PUT
            contract = Contract(name, sid.date.date(), float(sid.strike_price), right)
        elif security_type == self._enums.future:
            contract = Contract(name, sid.date.date(), 0.0, None)
        else:
            contract = Contract(name, NO_EXPIRY, 0.0, None)
        self._by_symbol[symbol] = contract
        self._by_contract[contract] = symbol
        return contract

    def symbol_of(self, contract: Contract) -> Symbol | None:
        """The LEAN symbol of a contract seen before, else None."""
        return self._by_contract.get(contract)

    def __len__(self) -> int:
        return len(self._by_symbol)
