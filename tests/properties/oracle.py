"""The property tests' oracle: small, slow and obviously correct, written from the definitions.

Nothing here calls the code the tests check. Sessions and their bar counts come from the calendar's open
and close alone (an early close is just a shorter session); a day's 1m bars are the store's file read with
pandas; derived bars are a pandas resample anchored at the session open, the last one cut at the close;
the indicators are plain loops over the textbook (TA-Lib) definitions of CONTRACT.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from marketdata.calendar import TradingCalendar
from specs.indicators import IndicatorSpec

NAN = float("nan")
PRICES = ("open", "high", "low", "close")


def session_minutes(calendar: TradingCalendar, day: date) -> int:
    """Minutes from the calendar's open to its close: 390 on a regular XNYS day, 210 on an early close."""
    return int((calendar.close(day) - calendar.open(day)) // timedelta(minutes=1))


def bars_in_session(calendar: TradingCalendar, day: date, minutes: int) -> int:
    """Bars of `minutes` from the open, the last one cut at the close."""
    return math.ceil(session_minutes(calendar, day) / minutes)


def sessions_for_bars(calendar: TradingCalendar, day: date, minutes: int, bars: int) -> list[date]:
    """The fewest sessions before `day` holding `bars` bars of `minutes`, walking back one session at a time."""
    found: list[date] = []
    held = 0
    session = day
    while held < bars:
        session = calendar.previous_session(session)
        found.insert(0, session)
        held += bars_in_session(calendar, session, minutes)
    return found


def minutes_of(interval: str) -> int:
    count, unit = int(interval[:-1]), interval[-1]
    return count * {"m": 1, "h": 60}[unit]


@cache
def day_minutes(path: Path, open_: datetime, close: datetime) -> pd.DataFrame:
    """The regular-session 1m bars of one store file (pandas), one per minute, sorted; empty if no file."""
    if not path.exists():
        return pd.DataFrame(columns=["open", "high", "low", "close", "volume"], dtype=float)
    frame = pd.read_parquet(path)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame = frame.set_index("ts").sort_index()
    frame = frame[~frame.index.duplicated(keep="last")]
    frame = frame.dropna()
    inside = (frame.index >= pd.Timestamp(open_)) & (frame.index < pd.Timestamp(close))
    return frame.loc[inside, ["open", "high", "low", "close", "volume"]].astype(float)


@cache
def session_bars(path: Path, calendar: TradingCalendar, day: date, interval: str) -> pd.DataFrame:
    """The session's bars of `interval`, with `bar_close`: 1m bars as stored, longer ones resampled from them
        in bins anchored at the open (empty bins dropped), every close cut at the session close. Cached: callers
    must not change it."""
    open_, close = calendar.open(day), calendar.close(day)
    minutes = day_minutes(path, open_, close)
    length = minutes_of(interval)
    if length == 1:
        bars = minutes.copy()
    else:
        bars = (
            minutes.resample(f"{length}min", origin=pd.Timestamp(open_), label="left", closed="left")
            .agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
            .dropna(subset=["open"])
        )
    ends = bars.index + pd.Timedelta(minutes=length)
    bars["bar_close"] = np.minimum(ends, pd.Timestamp(close)) if len(bars) else ends
    bars["session"] = day
    return bars


# --- indicators: one loop each ------------------------------------------------------------------------


def sma(close: Sequence[float], n: int) -> list[float]:
    return [sum(close[i - n + 1 : i + 1]) / n if i >= n - 1 else NAN for i in range(len(close))]


def ema(values: Sequence[float], n: int, first: int = 0) -> list[float]:
    """Seeded with the mean of the `n` values from `first`, then e += 2/(n+1) * (x - e)."""
    out = [NAN] * len(values)
    alpha = 2 / (n + 1)
    start = first + n - 1
    if start >= len(values):
        return out
    out[start] = sum(values[first : start + 1]) / n
    for i in range(start + 1, len(values)):
        out[i] = out[i - 1] + alpha * (values[i] - out[i - 1])
    return out


def rsi(close: Sequence[float], n: int) -> list[float]:
    out = [NAN] * len(close)
    if len(close) <= n:
        return out
    changes = [close[i] - close[i - 1] for i in range(1, len(close))]
    gain = sum(max(c, 0.0) for c in changes[:n]) / n
    loss = sum(max(-c, 0.0) for c in changes[:n]) / n
    for i in range(n, len(close)):
        if i > n:
            change = changes[i - 1]
            gain = (gain * (n - 1) + max(change, 0.0)) / n
            loss = (loss * (n - 1) + max(-change, 0.0)) / n
        out[i] = 100 * gain / (gain + loss) if gain + loss else 0.0
    return out


def atr(high: Sequence[float], low: Sequence[float], close: Sequence[float], n: int) -> list[float]:
    out = [NAN] * len(close)
    if len(close) <= n:
        return out
    true_range = [NAN] + [
        max(high[i] - low[i], abs(high[i] - close[i - 1]), abs(low[i] - close[i - 1])) for i in range(1, len(close))
    ]
    out[n] = sum(true_range[1 : n + 1]) / n
    for i in range(n + 1, len(close)):
        out[i] = (out[i - 1] * (n - 1) + true_range[i]) / n
    return out


def bollinger(close: Sequence[float], n: int) -> dict[str, list[float]]:
    upper, middle, lower = [NAN] * len(close), [NAN] * len(close), [NAN] * len(close)
    for i in range(n - 1, len(close)):
        window = close[i - n + 1 : i + 1]
        mean = sum(window) / n
        deviation = math.sqrt(sum((x - mean) ** 2 for x in window) / n)
        upper[i], middle[i], lower[i] = mean + 2 * deviation, mean, mean - 2 * deviation
    return {"upper": upper, "middle": middle, "lower": lower}


def macd(close: Sequence[float], fast: int, slow: int, signal: int) -> dict[str, list[float]]:
    """As TA-Lib: both EMAs first defined at bar slow-1 (the fast one seeded on the `fast` bars ending there);
    the signal is the EMA of the MACD line; every output starts once the signal does."""
    slow_line = ema(close, slow)
    fast_line = ema(close, fast, first=slow - fast)
    line = [f - s for f, s in zip(fast_line, slow_line, strict=True)]
    signal_line = [NAN] * len(close)
    if len(close) >= slow:
        signal_line[slow - 1 :] = ema(line[slow - 1 :], signal)
    start = slow - 1 + signal - 1
    out = {"macd": line, "signal": signal_line, "hist": [m - s for m, s in zip(line, signal_line, strict=True)]}
    return {name: [v if i >= start else NAN for i, v in enumerate(values)] for name, values in out.items()}


def vwap(bars: pd.DataFrame) -> list[float]:
    """Cumulative typical-price x volume over cumulative volume, reset at each session open."""
    out: list[float] = []
    session, weighted, volume = None, 0.0, 0.0
    for row in bars.itertuples():
        if row.session != session:
            session, weighted, volume = row.session, 0.0, 0.0
        weighted += (row.high + row.low + row.close) / 3 * row.volume
        volume += row.volume
        out.append(weighted / volume if volume else NAN)
    return out


def indicator(spec: IndicatorSpec, bars: pd.DataFrame) -> dict[str, list[float]]:
    """Every output of `spec` over `bars` (history and day together), NaN where undefined."""
    close = bars["close"].tolist()
    kind = str(spec.type)
    if kind == "sma":
        return {"value": sma(close, spec.period)}  # type: ignore[arg-type]
    if kind == "ema":
        return {"value": ema(close, spec.period)}  # type: ignore[arg-type]
    if kind == "rsi":
        return {"value": rsi(close, spec.period)}  # type: ignore[arg-type]
    if kind == "atr":
        return {"value": atr(bars["high"].tolist(), bars["low"].tolist(), close, spec.period)}  # type: ignore[arg-type]
    if kind == "bollinger":
        return bollinger(close, spec.period)  # type: ignore[arg-type]
    if kind == "macd":
        return macd(close, spec.fast, spec.slow, spec.signal)  # type: ignore[arg-type]
    if kind == "vwap":
        return {"value": vwap(bars)}
    raise ValueError(f"the oracle has no {kind}")


def value_at(outputs: dict[str, list[float]], index: int) -> float | dict[str, float] | None:
    """The view's shape of the value after bar `index`: None before any bar or while undefined."""
    if index < 0:
        return None
    values = {name: column[index] for name, column in outputs.items()}
    if any(math.isnan(v) for v in values.values()):
        return None
    return next(iter(values.values())) if len(values) == 1 else values


def quality_at(path: Path, calendar: TradingCalendar, day: date, now: datetime) -> dict[str, object]:
    """The session's 1m quality as of `now`, minute by minute: the minutes due by then (whose close is at or
    before `now`), how many have a bar, quality (1.0 while none is due) and the gaps as (start, end, missing)."""
    open_, close = calendar.open(day), calendar.close(day)
    have = set(day_minutes(path, open_, close).index)
    due = []
    minute = open_
    while minute < close and minute + timedelta(minutes=1) <= now:
        due.append(minute)
        minute += timedelta(minutes=1)
    gaps: list[tuple[datetime, datetime, int]] = []
    for minute in due:
        if pd.Timestamp(minute) in have:
            continue
        if gaps and gaps[-1][1] == minute - timedelta(minutes=1):
            gaps[-1] = (gaps[-1][0], minute, gaps[-1][2] + 1)
        else:
            gaps.append((minute, minute, 1))
    present = sum(1 for minute in due if pd.Timestamp(minute) in have)
    return {
        "expected": len(due),
        "present": present,
        "quality": present / len(due) if due else 1.0,
        "gaps": gaps,
    }
