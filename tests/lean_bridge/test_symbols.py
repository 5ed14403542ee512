"""Contract <-> LEAN Symbol book."""

from __future__ import annotations

from datetime import date, datetime

from config.enums import Right
from config.instruments import Contract
from lean_bridge.symbols import NO_EXPIRY, SymbolBook
from tests.lean_bridge.fakes import (
    ENUMS,
    OptionRight,
    SecurityType,
    canonical_future,
    equity,
    future,
    index,
    option,
)

EXPIRY = datetime(2026, 3, 20)


def test_root_of_when_futures_option_then_underlying_future_ticker() -> None:
    es = future("ES", EXPIRY)
    # LEAN names some futures options differently from their future (CL options are "LO").
    fop = option(es, "EXX", SecurityType.FUTURE_OPTION, EXPIRY, 5000.0, OptionRight.PUT)

    assert SymbolBook(ENUMS).root_of(fop) == "ES"


def test_root_of_when_index_option_then_own_ticker() -> None:
    spxw = option(index("SPX"), "SPXW", SecurityType.INDEX_OPTION, EXPIRY, 5000.0,
                  OptionRight.CALL)

    assert SymbolBook(ENUMS).root_of(spxw) == "SPXW"


def test_root_of_when_ticker_not_catalogued_then_none() -> None:
    assert SymbolBook(ENUMS).root_of(equity("TSLA")) is None


def test_contract_of_when_put_option_then_fields_from_identifier() -> None:
    spy_put = option(equity("SPY"), "SPY", SecurityType.OPTION, EXPIRY, 450.0, OptionRight.PUT)

    contract = SymbolBook(ENUMS).contract_of(spy_put)

    assert contract == Contract("SPY", date(2026, 3, 20), 450.0, Right.PUT)


def test_contract_of_when_future_then_underlying_contract_with_expiry() -> None:
    contract = SymbolBook(ENUMS).contract_of(future("CL", EXPIRY))

    assert contract == Contract("CL", date(2026, 3, 20), 0.0, None)


def test_contract_of_when_equity_then_no_expiry_date() -> None:
    contract = SymbolBook(ENUMS).contract_of(equity("QQQ"))

    assert contract == Contract("QQQ", NO_EXPIRY, 0.0, None)


def test_contract_of_when_unknown_root_then_none_and_not_learned() -> None:
    book = SymbolBook(ENUMS)

    assert book.contract_of(canonical_future("ZZ")) is None
    assert len(book) == 0


def test_symbol_of_when_contract_seen_then_same_symbol_back() -> None:
    book = SymbolBook(ENUMS)
    call = option(index("SPX"), "SPXW", SecurityType.INDEX_OPTION, EXPIRY, 5100.0,
                  OptionRight.CALL)
    contract = book.contract_of(call)

    assert contract is not None
    assert book.symbol_of(contract) is call


def test_symbol_of_when_contract_never_seen_then_none() -> None:
    book = SymbolBook(ENUMS)

    assert book.symbol_of(Contract("SPY", date(2026, 3, 20), 450.0, Right.PUT)) is None


def test_contract_of_when_root_given_then_used_without_lookup() -> None:
    book = SymbolBook(ENUMS)
    fop = option(future("ES", EXPIRY), "ES", SecurityType.FUTURE_OPTION, EXPIRY, 5000.0,
                 OptionRight.CALL)

    contract = book.contract_of(fop, "ES")

    assert contract == Contract("ES", date(2026, 3, 20), 5000.0, Right.CALL)
