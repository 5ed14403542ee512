"""Position marks: leg mids, signed deltas from greeks/, validity; batched implied vols."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from config.enums import PricingModel, Right, StrategyKey
from config.instruments import Contract, instrument
from execution.types import ExitReason, Position, PositionLeg, Quote
from greeks import black76_greeks, bsm_greeks
from strategies.exits import ExitEngine
from strategies.marks import MarkPlan, _below_level, legs_iv
from strategies.quotes import quote_exclusions, quote_ok, solve_greeks, year_fraction
from strategies.registry import build_strategies
from strategies.types import LegMark, PositionMark
from tests.strategies.builders import CFG, FakeContext, mark_book, simple_position

NOW = datetime(2025, 6, 6, 11, 0)
EXP = date(2025, 7, 18)


def spread() -> Position:
    return simple_position(StrategyKey.BEAR_TRAP, root="SPY", expiry=EXP,
                           legs=((560.0, "P", 1), (540.0, "P", -1), (500.0, "P", -2)))


def quotes(mids: tuple[float, ...], when: datetime = NOW) -> dict[Contract, Quote | None]:
    p = spread()
    return {leg.contract: Quote(m - 0.05, m + 0.05, when)
            for leg, m in zip(p.legs, mids, strict=True)}


def und(price: float | None = 550.0) -> dict[Contract, float | None]:
    return {leg.contract: price for leg in spread().legs}


def mark_position(p: Position, q: dict[Contract, Quote | None],
                  u: dict[Contract, float | None], now: datetime = NOW) -> PositionMark:
    return mark_book((p,), q, u, now, CFG)[p.position_id]


def leg_iv(contract: Contract, quote: Quote, underlying: float, now: datetime = NOW
           ) -> float | None:
    """Reference: one leg through the array quote checks and the full greeks solve."""
    if contract.right is None or not (math.isfinite(underlying) and underlying > 0):
        return None
    bad, _ = quote_exclusions(np.array([quote.bid]), np.array([quote.ask]),
                              np.array([np.datetime64(quote.time, "s")]), now, CFG.data)
    if bad[0]:
        return None
    model = instrument(contract.root).pricing_model
    g = solve_greeks(model, np.array([quote.mid]), np.array([underlying]),
                     np.array([contract.strike]), np.array([year_fraction(contract.expiry, now)]),
                     CFG.risk_free_rate, np.array([contract.right is Right.CALL]))
    iv = float(g.iv[0])
    return iv if math.isfinite(iv) else None


def test_mark_when_quotes_good_sums_ratio_times_mid_and_signs_deltas() -> None:
    p = spread()

    m = mark_position(p, quotes((18.0, 9.0, 2.0)), und())

    assert m.valid
    assert m.net_mid == pytest.approx(18.0 - 9.0 - 4.0)
    assert all(leg.delta < 0 for leg in m.legs)
    assert abs(m.legs[0].delta) > abs(m.legs[1].delta) > abs(m.legs[2].delta)
    assert m.underlying_price == 550.0 and m.now == NOW


def test_mark_when_a_quote_missing_is_invalid() -> None:
    p = spread()
    q = quotes((18.0, 9.0, 2.0))
    q[p.legs[2].contract] = None

    m = mark_position(p, q, und())

    assert not m.valid and math.isnan(m.net_mid)


def test_mark_when_quotes_stale_is_invalid() -> None:
    stale = quotes((18.0, 9.0, 2.0), NOW - timedelta(minutes=30))

    m = mark_position(spread(), stale, und())

    assert not m.valid


def test_mark_when_iv_unsolvable_delta_nan_and_invalid() -> None:
    m = mark_position(spread(), quotes((1.0, 9.0, 2.0)), und())

    assert not m.valid and math.isnan(m.legs[0].delta)
    assert not math.isnan(m.legs[1].delta)


def test_mark_when_underlying_missing_is_invalid() -> None:
    m = mark_position(spread(), quotes((18.0, 9.0, 2.0)), und(None))

    assert not m.valid


def test_mark_when_far_leg_has_zero_bid_stays_valid() -> None:
    p = spread()
    q = quotes((18.0, 9.0, 2.0))
    q[p.legs[2].contract] = Quote(0.0, 0.06, NOW)

    m = mark_position(p, q, und())

    assert m.valid and m.legs[2].mid == pytest.approx(0.03)


def test_legs_iv_when_quote_good_solves_and_when_bad_leaves_contract_out() -> None:
    p = spread()
    c = p.legs[1].contract

    def one(contract: Contract, quote: Quote, underlying: float) -> float | None:
        return legs_iv([contract], {contract: quote}, {contract: underlying}, NOW, CFG).get(
            contract)

    iv = one(c, Quote(8.95, 9.05, NOW), 550.0)

    assert iv is not None and 0.05 < iv < 1.0
    assert iv == pytest.approx(leg_iv(c, Quote(8.95, 9.05, NOW), 550.0))
    assert one(c, Quote(9.05, 8.95, NOW), 550.0) is None                      # crossed
    assert one(c, Quote(8.95, 9.05, NOW - timedelta(hours=1)), 550.0) is None  # stale
    assert one(c, Quote(8.95, 9.05, NOW), math.nan) is None                    # no underlying
    assert one(p.legs[0].contract, Quote(0.95, 1.05, NOW), 550.0) is None      # no vol fits


def test_mark_positions_when_batched_with_futures_positions_then_equal_to_one_by_one() -> None:
    spy = spread()
    es = simple_position(StrategyKey.LT112, root="ES", expiry=EXP,
                         legs=((5400.0, "P", 1), (5350.0, "P", -1), (4800.0, "P", -2)))
    q = quotes((18.0, 9.0, 2.0)) | {leg.contract: Quote(m - 0.25, m + 0.25, NOW)
                                    for leg, m in zip(es.legs, (60.0, 45.0, 8.0), strict=True)}
    u = und() | {leg.contract: 5500.0 for leg in es.legs}

    batch = mark_book((spy, es), q, u, NOW, CFG)

    for p in (spy, es):
        assert batch[p.position_id] == mark_position(p, q, u)
        assert batch[p.position_id].valid


def test_legs_iv_when_batched_then_equal_to_leg_iv_and_bad_quotes_left_out() -> None:
    p = spread()
    q = quotes((18.0, 9.0, 2.0))
    bad = p.legs[2].contract
    q[bad] = None

    ivs = legs_iv([leg.contract for leg in p.legs], q, und(), NOW, CFG)

    assert bad not in ivs
    for leg in p.legs[:2]:
        quote = q[leg.contract]
        assert quote is not None
        assert ivs[leg.contract] == pytest.approx(leg_iv(leg.contract, quote, 550.0))


def test_mark_positions_when_delta_not_needed_then_nan_deltas_and_valid_from_quotes() -> None:
    p = spread()

    marks = mark_book((p,), quotes((18.0, 9.0, 2.0)), und(), NOW, CFG,
                      delta_level=lambda _pos: None)

    m = marks[p.position_id]
    assert m.valid
    assert all(math.isnan(leg.delta) for leg in m.legs)
    assert m.net_mid == pytest.approx(18.0 - 9.0 - 4.0)


def _reference_marks(positions: tuple[Position, ...], quotes: dict[Contract, Quote | None],
                     underlying: dict[Contract, float | None], now: datetime,
                     need_delta: Callable[[Position], bool]) -> dict[str, PositionMark]:
    """Leg by leg, with one ``solve_greeks`` batch per model, every wanted delta solved: what
    the marks must equal (at level 0; above it, see ``_screened_from``)."""
    legs = [(p, leg) for p in positions for leg in p.legs]
    n = len(legs)
    bid, ask, und = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
    qtime = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    for i, (_, leg) in enumerate(legs):
        q = quotes.get(leg.contract)
        if q is not None:
            bid[i], ask[i], qtime[i] = q.bid, q.ask, np.datetime64(q.time, "s")
        u = underlying.get(leg.contract)
        if u is not None:
            und[i] = u
    bad, _ = quote_exclusions(bid, ask, qtime, now, CFG.data)
    with np.errstate(invalid="ignore"):
        bad |= ~(np.isfinite(und) & (und > 0.0))
    mid = 0.5 * (bid + ask)
    delta = np.full(n, np.nan)
    for model in (PricingModel.BSM, PricingModel.BLACK76):
        idx = [i for i, (p, leg) in enumerate(legs)
               if not bad[i] and need_delta(p) and leg.contract.right is not None
               and instrument(leg.contract.root).pricing_model is model]
        if idx:
            cs = [legs[i][1].contract for i in idx]
            g = solve_greeks(model, mid[idx], und[idx], np.array([c.strike for c in cs]),
                             np.array([year_fraction(c.expiry, now) for c in cs]),
                             CFG.risk_free_rate, np.array([c.right is Right.CALL for c in cs]))
            delta[idx] = g.delta
    for i, (_, leg) in enumerate(legs):
        if leg.contract.right is None and not bad[i]:
            delta[i] = 1.0
    out: dict[str, PositionMark] = {}
    i = 0
    for p in positions:
        rows = range(i, i + len(p.legs))
        i += len(p.legs)
        ok = bool(rows) and not any(bad[j] for j in rows) and (
            not need_delta(p) or all(math.isfinite(delta[j]) for j in rows))
        lms = tuple(LegMark(leg.contract, leg.ratio, float(bid[j]), float(ask[j]),
                            float(delta[j])) for j, leg in zip(rows, p.legs, strict=True))
        net = math.fsum(leg.ratio * float(mid[j]) for j, leg in zip(rows, p.legs, strict=True)) \
            if rows else math.nan
        out[p.position_id] = PositionMark(p.position_id, lms, net,
                                          float(und[rows[0]]) if rows else math.nan, ok, now)
    return out


def _exact(marks: dict[str, PositionMark]) -> dict[str, tuple[object, ...]]:
    """Marks with every float as its repr (so NaN compares equal to NaN)."""
    return {pid: (tuple((lm.contract, lm.ratio, repr(lm.bid), repr(lm.ask), repr(lm.delta))
                        for lm in m.legs), repr(m.net_mid), repr(m.underlying_price), m.valid,
                  m.now)
            for pid, m in marks.items()}


def _book() -> tuple[Position, ...]:
    spy = spread()
    es = simple_position(StrategyKey.LT112, root="ES", expiry=EXP,
                         legs=((5400.0, "P", 1), (5350.0, "P", -1), (4800.0, "P", -2)))
    strangle = simple_position(StrategyKey.FUTURES_STRANGLE, root="ES",
                               expiry=EXP + timedelta(days=28),
                               legs=((5000.0, "P", -1), (6000.0, "C", -1)))
    shares = spy.legs[1].contract  # the same contract in a second position
    twin = simple_position(StrategyKey.LEAP_PUT_LADDER, root="SPY", expiry=EXP,
                           legs=((shares.strike, "P", -3),))
    future = Contract("ES", date(2025, 9, 19), 0.0, None)
    hedge = Position("hedge", StrategyKey.LT112, "ES", "test", (PositionLeg(future, 1),), 1,
                     NOW, 5500.0, 50.0, future.expiry)
    empty = Position("empty", StrategyKey.LT112, "ES", "test", (), 1, NOW, 0.0, 50.0, EXP)
    return spy, es, strangle, twin, hedge, empty


def _random_market(book: tuple[Position, ...], rng: np.random.Generator, now: datetime = NOW
                   ) -> tuple[dict[Contract, Quote | None], dict[Contract, float | None]]:
    quotes: dict[Contract, Quote | None] = {}
    under: dict[Contract, float | None] = {}
    for c in dict.fromkeys(leg.contract for p in book for leg in p.legs):  # fixed order
        spot = 550.0 if c.root == "SPY" else 5500.0
        intrinsic = max(spot - c.strike, 0.0) if c.right is Right.CALL else \
            max(c.strike - spot, 0.0) if c.right is Right.PUT else spot
        mid = intrinsic + float(rng.uniform(-0.002, 0.02)) * spot
        half = float(rng.choice([0.0, 0.01, 0.01, 0.02, 0.05, 3.0])) * max(mid, 0.1)
        when = now - timedelta(minutes=float(rng.choice([0.0, 0.0, 0.5, 2.0, 30.0])))
        kind = rng.integers(0, 30)
        quotes[c] = None if kind == 0 else Quote(
            max(mid - half, 0.0) if kind != 1 else mid + 1.0, mid + half, when)
        under[c] = None if kind == 2 else math.nan if kind == 3 else spot * float(
            rng.uniform(0.97, 1.03))
    return quotes, under


def _screened_from(marks: dict[str, PositionMark], reference: dict[str, PositionMark],
                   level: Callable[[Position], float | None], book: tuple[Position, ...]
                   ) -> dict[str, PositionMark]:
    """``reference`` with the deltas that ``marks`` screened out set to NaN, after checking
    that each of them is below its position's level in the reference."""
    out = dict(reference)
    for p in book:
        got, ref = marks[p.position_id], reference[p.position_id]
        legs = []
        for g, r in zip(got.legs, ref.legs, strict=True):
            if math.isnan(g.delta) and not math.isnan(r.delta):
                lv = level(p)
                assert lv is not None and abs(r.delta) < lv, (p.position_id, r, lv)
                r = r._replace(delta=math.nan)
            legs.append(r)
        out[p.position_id] = ref._replace(legs=tuple(legs))
    return out


def test_mark_plan_when_reused_over_many_markets_then_equal_to_leg_by_leg_reference() -> None:
    book = _book()
    rng = np.random.default_rng(7)
    levels = {StrategyKey.FUTURES_STRANGLE: 0.25, StrategyKey.BEAR_TRAP: 0.3}
    level: Callable[[Position], float | None] = lambda p: levels.get(p.key)  # noqa: E731
    need: Callable[[Position], bool] = lambda p: p.key in levels  # noqa: E731
    plan = MarkPlan(book, level)
    everything = MarkPlan(book)
    screened = 0

    for step in range(40):
        now = NOW + timedelta(minutes=5 * step, seconds=step % 3)
        quotes, under = _random_market(book, rng, now)
        if step % 5 == 0:  # a worthless short leg alone: its value is -0.0, the mark 0.0
            quotes[book[3].legs[0].contract] = Quote(0.0, 0.0, now)
        qs = [quotes.get(c) for c in plan.contracts]
        us = [under.get(c) for c in plan.contracts]
        reference = _reference_marks(book, quotes, under, now, need)
        got = plan.mark(qs, us, now, CFG)

        # Deltas at or above the level are exact; below it they may be screened out (NaN),
        # and validity is the same either way.
        assert _exact(got) == _exact(_screened_from(got, reference, level, book))
        assert _exact(everything.mark(qs, us, now, CFG)) == _exact(
            _reference_marks(book, quotes, under, now, lambda _p: True))
        for p in book:
            if p.key in levels:
                for g, r in zip(got[p.position_id].legs, reference[p.position_id].legs,
                                strict=True):
                    screened += math.isnan(g.delta) and not math.isnan(r.delta)

    assert screened > 0  # the screen took part (its own test below covers it in depth)


def test_mark_plan_same_book_only_for_the_same_position_objects() -> None:
    book = _book()
    plan = MarkPlan(book)

    assert plan.same_book(book) and plan.same_book(list(book))
    assert not plan.same_book(book[:-1])
    assert not plan.same_book((*book[:-1], replace(book[-1])))
    assert plan.contracts == tuple(dict.fromkeys(leg.contract for p in book for leg in p.legs))


def test_quote_ok_when_quotes_vary_then_agrees_with_the_exclusions_mask() -> None:
    rng = np.random.default_rng(3)
    n = 2000
    bid = rng.choice([math.nan, -math.inf, 0.0, 0.01, 0.5, 1.0, 2.0, 10.0, math.inf], n)
    ask = bid + rng.choice([math.nan, -0.5, 0.0, 0.01, 0.05, 1.0, 5.0], n)
    age = rng.choice([0, 30, 299, 300, 301, 900], n)
    when = np.datetime64(NOW, "s") - age.astype("timedelta64[s]")

    bad, counts = quote_exclusions(bid, ask, when, NOW, CFG.data)
    ok = [quote_ok(b, a, s, CFG.data) for b, a, s in zip(bid.tolist(), ask.tolist(),
                                                         age.tolist(), strict=True)]

    assert ok == (~bad).tolist()
    assert len(counts) >= 4 and 0 < bad.sum() < n


def test_legs_iv_when_markets_vary_then_equal_to_solve_greeks_of_the_usable_quotes() -> None:
    book = _book()
    rng = np.random.default_rng(21)
    contracts = [leg.contract for p in book for leg in p.legs]
    opts = [c for c in dict.fromkeys(contracts) if c.right is not None]
    for _ in range(30):
        quotes, under = _random_market(book, rng)
        expected: dict[Contract, float] = {}
        for model in (PricingModel.BSM, PricingModel.BLACK76):
            cs = [c for c in opts if instrument(c.root).pricing_model is model]
            qs = [quotes.get(c) for c in cs]
            bid = np.array([math.nan if q is None else q.bid for q in qs])
            ask = np.array([math.nan if q is None else q.ask for q in qs])
            when = np.array([np.datetime64("NaT") if q is None else np.datetime64(q.time, "s")
                             for q in qs], dtype="datetime64[s]")
            und = np.array([math.nan if under.get(c) is None else under[c] for c in cs],
                           dtype=np.float64)
            bad, _ = quote_exclusions(bid, ask, when, NOW, CFG.data)
            keep = [i for i in range(len(cs)) if not bad[i] and math.isfinite(und[i])
                    and und[i] > 0]
            if keep:
                g = solve_greeks(model, 0.5 * (bid[keep] + ask[keep]), und[keep],
                                 np.array([cs[i].strike for i in keep]),
                                 np.array([year_fraction(cs[i].expiry, NOW) for i in keep]),
                                 CFG.risk_free_rate,
                                 np.array([cs[i].right is Right.CALL for i in keep]))
                expected |= {cs[i]: v for i, v in zip(keep, g.iv.tolist(), strict=True)
                             if math.isfinite(v)}

        got = legs_iv(contracts, quotes, under, NOW, CFG)

        assert got == expected and list(got) == list(expected)


def _screen_cases(model: PricingModel, n: int, seed: int) -> dict[str, np.ndarray]:
    """Options priced by the model itself, so each mid has a known vol and delta."""
    rng = np.random.default_rng(seed)
    und = rng.uniform(50.0, 6000.0, n)
    strike = und * np.exp(rng.uniform(-0.4, 0.4, n))
    t = np.exp(rng.uniform(math.log(1.0 / 365.0), math.log(2.0), n))
    sigma = rng.uniform(0.05, 1.2, n)
    call = rng.random(n) < 0.5
    level = rng.choice([0.0, 0.05, 0.16, 0.25, 0.3, 0.5, 0.7, 0.99, 1.0], n)
    r = CFG.risk_free_rate
    if model is PricingModel.BLACK76:
        g = black76_greeks(und, strike, t, r, sigma, call)
    else:
        g = bsm_greeks(und, strike, t, r, 0.0, sigma, call)
    return {"und": und, "strike": strike, "t": t, "call": call, "level": level,
            "mid": np.asarray(g.price), "delta": np.asarray(g.delta)}


@pytest.mark.parametrize("model", [PricingModel.BLACK76, PricingModel.BSM])
def test_delta_screen_when_it_screens_then_the_full_solve_is_below_the_level(
        model: PricingModel) -> None:
    c = _screen_cases(model, 4000, 11 if model is PricingModel.BLACK76 else 12)
    r = CFG.risk_free_rate

    below = np.array(_below_level(model, c["level"].tolist(), c["mid"].tolist(),
                                  c["und"].tolist(), c["strike"].tolist(), c["t"].tolist(), r,
                                  c["call"].tolist()))
    full = solve_greeks(model, c["mid"], c["und"], c["strike"], c["t"], r, c["call"])
    solved = np.isfinite(full.iv)
    size = np.abs(full.delta)

    # Screened: a vol reproduces the mid and the delta it gives is below the level.
    assert below.any()
    assert solved[below].all()
    assert (size[below] < c["level"][below]).all()
    # At or above the level, and at level 0, never screened.
    assert not below[solved & (size >= c["level"])].any()
    assert not below[c["level"] == 0.0].any()
    # The screen decides nearly everything clearly below the level (the margin is 1e-9 of the
    # mid, so only the mids the full solve cannot price are left to it).
    clear = solved & (size < 0.999 * c["level"]) & (c["mid"] > 1e-6 * c["und"])
    assert below[clear].mean() > 0.99, below[clear].mean()


def test_delta_screen_when_mid_outside_the_no_arbitrage_bounds_then_not_screened() -> None:
    f, k, t, r = 5000.0, 4000.0, 0.25, CFG.risk_free_rate
    disc = math.exp(-r * t)
    intrinsic_call = disc * (f - k)

    def screen(mid: float, call: bool, level: float = 0.99) -> bool:
        return _below_level(PricingModel.BLACK76, [level], [mid], [f], [k], [t], r, [call])[0]

    assert not screen(intrinsic_call, True)            # no time value: no vol
    assert not screen(0.5 * intrinsic_call, True)      # below intrinsic
    assert not screen(disc * f, True)                  # at the upper bound
    assert not screen(0.0, False)                      # a worthless put has no vol
    assert screen(5.0, False, level=0.25)              # a far put with time value
    assert not screen(5.0, False, level=0.0)           # level 0: always solved


def test_strangle_defence_when_a_short_leg_crosses_the_configured_delta_then_it_fires() -> None:
    """End to end: configured level, marks with the screen, the exit engine. The defence fires
    exactly where the leg's delta at the vol that priced its mid reaches the level."""
    strategy = next(s for s in build_strategies(CFG) if s.key is StrategyKey.FUTURES_STRANGLE)
    engine = ExitEngine(CFG)
    fwd, r = 5500.0, CFG.risk_free_rate
    expiry = EXP + timedelta(days=45)
    p = simple_position(StrategyKey.FUTURES_STRANGLE, root="ES", expiry=expiry,
                        legs=((4900.0, "P", -1), (6100.0, "C", -1)),
                        entry_price=-1000.0)  # so large a credit that no stop loss fires
    level = strategy.exit_rules(p).short_delta_exit
    assert level is not None
    plan = MarkPlan((p,), lambda q: strategy.exit_rules(q).short_delta_exit)
    t = year_fraction(expiry, NOW)
    fired = 0
    for vol in np.linspace(0.10, 0.60, 51).tolist():
        g = black76_greeks(np.full(2, fwd), np.array([4900.0, 6100.0]), np.full(2, t), r,
                           np.full(2, vol), np.array([False, True]))
        mids = np.round(np.asarray(g.price), 6).tolist()
        # a tight quote around the model price: the mid is the model price to 1e-6
        q = [Quote(m - 0.01, m + 0.01, NOW) for m in mids]
        m = plan.mark(q, [fwd, fwd], NOW, CFG)[p.position_id]
        d = engine.evaluate(p, m, NOW, 16.0, 1e9, False, strategy, FakeContext(NOW))
        crossed = max(abs(x) for x in np.asarray(g.delta).tolist()) >= level
        assert m.valid
        assert (d is not None and d.reason is ExitReason.DEFENCE) is crossed, (vol, d)
        assert crossed or d is None or d.reason is ExitReason.PROFIT_TARGET
        fired += crossed
    assert 0 < fired < 51
