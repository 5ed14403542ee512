"""Hypothesis strategies for option batches over the domain the library is specified on."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

ONE_DAY = 1.0 / 365.0


@dataclass(frozen=True, slots=True)
class Batch:
    """A batch of options: underlying (spot or forward), strike, t, r, q, sigma, is_call."""

    und: FloatArray
    strike: FloatArray
    t: FloatArray
    r: FloatArray
    q: FloatArray
    sigma: FloatArray
    is_call: BoolArray


def _uniform(lo: float, hi: float, n: int) -> st.SearchStrategy[FloatArray]:
    return hnp.arrays(np.float64, n, elements=st.floats(lo, hi, allow_subnormal=False))


@st.composite
def batches(
    draw: st.DrawFn,
    max_size: int = 12,
    sigma: tuple[float, float] = (0.05, 2.0),
    t: tuple[float, float] = (ONE_DAY, 3.0),
    moneyness: tuple[float, float] = (0.5, 2.0),
) -> Batch:
    """Log-uniform moneyness K/S, t and sigma; spot 1..10000; r -1 %..10 %; q 0..6 %."""
    n = draw(st.integers(1, max_size))
    und = np.exp(draw(_uniform(0.0, math.log(10_000.0), n)))
    m = np.exp(draw(_uniform(math.log(moneyness[0]), math.log(moneyness[1]), n)))
    tt = np.exp(draw(_uniform(math.log(t[0]), math.log(t[1]), n)))
    sg = np.exp(draw(_uniform(math.log(sigma[0]), math.log(sigma[1]), n)))
    r = draw(_uniform(-0.01, 0.10, n))
    q = draw(_uniform(0.0, 0.06, n))
    calls = draw(hnp.arrays(np.bool_, n))
    return Batch(und, und * m, np.clip(tt, t[0], t[1]), r, q, sg, calls)


def random_batch(n: int, seed: int) -> Batch:
    """A large seeded batch over the same domain (for multi-chunk / multi-thread paths)."""
    rng = np.random.default_rng(seed)
    und = np.exp(rng.uniform(0.0, math.log(10_000.0), n))
    m = np.exp(rng.uniform(math.log(0.5), math.log(2.0), n))
    tt = np.exp(rng.uniform(math.log(ONE_DAY), math.log(3.0), n))
    sg = np.exp(rng.uniform(math.log(0.05), math.log(2.0), n))
    return Batch(
        und,
        und * m,
        tt,
        rng.uniform(-0.01, 0.10, n),
        rng.uniform(0.0, 0.06, n),
        sg,
        rng.random(n) < 0.5,
    )
