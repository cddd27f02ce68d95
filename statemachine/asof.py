"""The session state as a plugin may see it at a moment: every day figure as of then.

The state's figures are as of the event that set them (a symbol loaded at the open holds 0 bars and no
quality to speak of until the day ends, when SymbolStreamed records the whole day). A plugin at time t sees
instead what the closed bars say at t: per interval the bars closed and the bad rows among them, the quality
of the slots due by t with their gaps (of the base interval and of every interval derived from it, with the
derived bars built from only part of their base bars), and each indicator's value at its last closed bar.
All of it comes from the book's arrays, cut at t, so no figure depends on a bar that has not closed.
"""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import replace

from marketdata.calendar import TradingCalendar
from marketdata.quality import session_quality_at
from specs import events as ev
from statemachine.book import Book, SymbolBook
from statemachine.intervalquality import derived_quality
from statemachine.state import SessionState, SymbolSessionData


def state_as_of(state: SessionState, book: Book, calendar: TradingCalendar, t: dt.datetime) -> SessionState:
    """A copy of `state` whose symbols' day figures are as of `t`; `state` is left as it is."""
    twin = copy.copy(state)
    twin.symbols = {}
    for name, data in state.symbols.items():
        entry = book.get(name)
        if entry is None or state.session_date is None:
            twin.symbols[name] = data
        else:
            twin.symbols[name] = _symbol_as_of(data, entry, calendar, state.session_date, t)
    return twin


def _symbol_as_of(
    data: SymbolSessionData, entry: SymbolBook, calendar: TradingCalendar, day: dt.date, t: dt.datetime
) -> SymbolSessionData:
    twin = data.clone()
    counts = entry.closed_counts(t)
    for key, bars in twin.bars.items():
        if key in counts:
            bars.count = counts[key]
            bars.digest = None
            bars.flagged = entry.flagged_by(key, t)
    quality = twin.quality
    if quality is not None and str(quality.interval) in entry.session_ts:
        key = str(quality.interval)
        report = session_quality_at(entry.session_ts[key], calendar, day, t, quality.interval)
        gaps = [ev.Gap(start=g.start, end=g.end, missing=g.missing) for g in report.gaps]
        twin.quality = replace(
            quality,
            expected=report.expected,
            present=report.present,
            quality=report.quality,
            gaps=gaps,
            outside_session=report.outside_session,
        )
        if key in twin.bars:
            bars = twin.bars[key]
            bars.quality, bars.gaps, bars.partial = report.quality, list(gaps), []
            bars.expected, bars.present, bars.complete = report.expected, report.present, report.present
        for name, figures in derived_quality(entry, calendar, day, quality.interval, t).items():
            bars = twin.bars[name]
            bars.quality, bars.gaps, bars.partial = figures.quality, list(figures.gaps), list(figures.partial)
            bars.expected, bars.present, bars.complete = figures.expected, figures.present, figures.complete
    for key, indicator in twin.indicators.items():
        series = entry.indicators.get(key)
        if series is not None:
            index = entry.indicator_index(key, t)
            indicator.current_value = series.value_at(index)
            indicator.last_updated = series.time_at(index)
            indicator.valid = series.valid_at(index)
    return twin
