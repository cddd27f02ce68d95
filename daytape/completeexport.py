"""The complete export (`daytape export --complete`): the summary export plus the numbers behind it.

The summary (CONTRACT.md's shape) says per interval how many bars there were, their quality and gaps, and per
indicator its value at the end. The complete export adds, per interval, `data`: the day's bars themselves
(open time, prices, volume) with the value of each of the symbol's indicators of that interval after each bar.
The log holds digests, not bars, so they are rebuilt from the run's bar store (`DayBook`) and checked against
the log's digests: a store that changed since the run is refused (StoreChanged, exit 1), never shown as the
run's numbers.

The CSV form has one row per bar: date, symbol, interval, the bar, then one column per indicator output of
the day (`sma_20_5m`, `bollinger_20_5m.upper`), empty where that indicator is not of the row's interval.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from typing import Any

from daytape.day import run_store
from daytape.daybook import DayBook, RebuiltSymbol
from daytape.resume import recorded_config
from eventlog.reading import read_events
from eventlog.store import EventStore
from marketdata.bars import SessionBars
from marketdata.calendar import get_calendar
from marketdata.timestamps import utc_datetime
from specs import events as ev
from statemachine.book import IndicatorSeries
from statemachine.export import state_json
from statemachine.state import SessionState

BAR_COLUMNS = ("ts", "open", "high", "low", "close", "volume")


def rebuild_day(store: EventStore, run_id: str, day: dt.date, *, verify: bool = True) -> dict[str, RebuiltSymbol]:
    """Every symbol's bars and indicator series of the day, rebuilt from the run's store as the run read them
    (up to the session's end), for the symbols that had bars loaded."""
    config = recorded_config(store, run_id)
    book = DayBook(run_store(config), get_calendar(config.exchange), day)
    until = store.session_end_seq(run_id, day)
    steps: dict[str, list[Any]] = {}
    for row in read_events(store, run_id, session_date=day, verify=verify):
        if row.symbol and (until is None or row.seq <= until):
            steps.setdefault(row.symbol, []).append(row.event())
    return {
        symbol: book.rebuild(symbol, events)
        for symbol, events in sorted(steps.items())
        if any(isinstance(e, ev.SessionBarsLoaded) for e in events)
    }


def _value(series: IndicatorSeries, output: str, index: int) -> float | None:
    value = float(series.values[output][index])
    return None if math.isnan(value) else value


def _columns(series: IndicatorSeries, key: str) -> dict[str, str]:
    """output name -> column name: the key alone for a one-output indicator, `key.output` otherwise."""
    return {name: key if len(series.values) == 1 else f"{key}.{name}" for name in series.values}


def interval_rows(rebuilt: RebuiltSymbol, interval: str) -> list[dict[str, Any]]:
    """The day's bars of `interval`, each with the values of the indicators of that interval after it."""
    bars: SessionBars = rebuilt.intervals[interval]
    indicators = {
        key: series for key, series in sorted(rebuilt.indicators.items()) if str(series.spec.interval) == interval
    }
    rows = []
    for i in range(len(bars)):
        row: dict[str, Any] = {
            "ts": utc_datetime(int(bars.ts[i])).isoformat(),
            "open": float(bars.open[i]),
            "high": float(bars.high[i]),
            "low": float(bars.low[i]),
            "close": float(bars.close[i]),
            "volume": float(bars.volume[i]),
        }
        for key, series in indicators.items():
            for output, column in _columns(series, key).items():
                row[column] = _value(series, output, series.history_bars + i)
        rows.append(row)
    return rows


def complete_json(state: SessionState, rebuilt: dict[str, RebuiltSymbol], run_id: str | None) -> dict[str, Any]:
    """The summary export with each interval's `data`: its bars and indicator values."""
    document = state_json(state, run_id)
    for symbol, exported in document["symbols"].items():
        numbers = rebuilt.get(symbol)
        for key, bars in exported["bars"].items():
            bars["data"] = interval_rows(numbers, key) if numbers is not None and key in numbers.intervals else []
    return document


def complete_csv(state: SessionState, rebuilt: dict[str, RebuiltSymbol]) -> str:
    """One row per bar of every symbol and interval, with a column per indicator output of the day."""
    day = state.session_date.isoformat() if state.session_date is not None else ""
    tables: list[tuple[str, str, list[dict[str, Any]]]] = []
    outputs: set[str] = set()
    for symbol in sorted(state.symbols):
        numbers = rebuilt.get(symbol)
        if numbers is None:
            continue
        data = state.symbols[symbol]
        for key, _bars in sorted(data.bars.items(), key=lambda kv: kv[1].interval):
            if key in numbers.intervals:
                rows = interval_rows(numbers, key)
                tables.append((symbol, key, rows))
        for key, series in numbers.indicators.items():
            outputs.update(_columns(series, key).values())
    extra = sorted(outputs)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["date", "symbol", "interval", *BAR_COLUMNS, *extra])
    for symbol, interval, rows in tables:
        for row in rows:
            values = ["" if row.get(name) is None else row[name] for name in extra]
            writer.writerow([day, symbol, interval, *(row[name] for name in BAR_COLUMNS), *values])
    return buffer.getvalue()
