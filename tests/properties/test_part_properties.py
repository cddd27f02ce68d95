"""Properties of the indicators that tests/marketdata does not already draw at random.

(Derived bars conserving volume and bounding prices, batch and incremental bars agreeing, and batch
against one-symbol incremental indicators from the first bar are hypothesis properties in tests/marketdata;
interval and indicator keys and the session config round-tripping are in tests/specs.)

Here: an incremental form warmed by a batch run over history carries on exactly where the batch stopped,
for any spec, any bars and ANY split point (to 1e-9).
The bars may cross from a regular session into the early close after Thanksgiving 2023, with missing
minutes, flat stretches and zero volumes, so VWAP resets at an open and RSI meets series that do not move.
"""

from __future__ import annotations

from datetime import date

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from marketdata.bars import SessionBars
from marketdata.calendar import get_calendar
from marketdata.indicators import compute, make_indicator
from specs.indicators import IndicatorSpec, IndicatorType

CAL = get_calendar("XNYS")
SESSIONS = (date(2023, 11, 22), date(2023, 11, 24))
TIMELINE = np.concatenate([CAL.minutes(day).view(np.int64) for day in SESSIONS])
TOLERANCE = {"rtol": 1e-9, "atol": 1e-9}


@st.composite
def specs(draw: st.DrawFn) -> IndicatorSpec:
    kind = draw(st.sampled_from(list(IndicatorType)))
    if kind is IndicatorType.MACD:
        fast = draw(st.integers(1, 12))
        return IndicatorSpec(
            type=kind, interval="1m", fast=fast, slow=draw(st.integers(fast + 1, 30)), signal=draw(st.integers(1, 9))
        )
    if kind is IndicatorType.VWAP:
        return IndicatorSpec(type=kind, interval="1m")
    low = 2 if kind is IndicatorType.BOLLINGER else 1
    return IndicatorSpec(type=kind, interval="1m", period=draw(st.integers(low, 30)))


@st.composite
def timelines(draw: st.DrawFn) -> np.ndarray:
    """Clock steps: a window of the two sessions' minutes that may cross from one session into the next."""
    length = draw(st.integers(1, 300))
    start = draw(st.integers(0, len(TIMELINE) - length))
    return TIMELINE[start : start + length]


def random_bars(ts: np.ndarray, seed: int) -> SessionBars:
    """A walk of prices in cents with flat stretches, consistent OHLC, and volumes that are sometimes zero."""
    rng = np.random.default_rng(seed)
    n = len(ts)
    close = 50 + np.cumsum(rng.choice([-0.02, -0.01, 0.0, 0.0, 0.01, 0.02], size=n))
    open_ = close + rng.choice([-0.01, 0.0, 0.01], size=n)
    high = np.maximum(open_, close) + rng.choice([0.0, 0.01, 0.03], size=n)
    low = np.minimum(open_, close) - rng.choice([0.0, 0.01, 0.03], size=n)
    volume = rng.choice([0.0, 100.0, 250.0, 5000.0], size=n)
    return SessionBars.from_arrays(ts, open_, high, low, close, volume, calendar=CAL)


def as_columns(values: list[object], outputs: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per-bar values of an incremental form (floats, or tuples in `outputs` order) as one array per output."""
    rows = np.array([v if isinstance(v, tuple) else (v,) for v in values], dtype=float).reshape(-1, len(outputs))
    return {name: rows[:, i] for i, name in enumerate(outputs)}


def assert_agree(got: dict[str, np.ndarray], batch: dict[str, np.ndarray], what: str) -> None:
    assert set(got) == set(batch), what
    for name in batch:
        np.testing.assert_allclose(got[name], batch[name], err_msg=f"{what}: {name}", **TOLERANCE)


@given(specs(), timelines(), st.integers(0, 2**32 - 1), st.data())
def test_one_symbol_incremental_agrees_with_batch_from_any_split(spec, ts, seed, data):
    bars = random_bars(ts, seed)
    batch = compute(spec, bars, CAL).outputs
    split = data.draw(st.integers(0, len(bars)), label="split")
    indicator = make_indicator(spec, CAL)
    indicator.warm(bars[:split])
    tail = bars[split:]
    values = [
        indicator.update(o, h, lo, c, v, t)
        for o, h, lo, c, v, t in zip(tail.open, tail.high, tail.low, tail.close, tail.volume, tail.ts, strict=True)
    ]
    assert_agree(as_columns(values, spec.outputs), {k: v[split:] for k, v in batch.items()}, spec.key)
    assert indicator.count == len(bars) or spec.type is IndicatorType.VWAP
