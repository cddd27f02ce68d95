"""What a run's data digest covers: the bar store files the run reads, named from its config and the calendar.

A run's manifest records `data_digest` (`marketdata.store.files_digest` over each file's relative path and
the sha256 of its bytes) and `data_scope`, which says what the digest covers:

- `run` (runs since the digest was scoped): the files of each config symbol, for each base interval its
  full symbol carries, over the run's sessions and the warm-up history before them (the longer of
  `trailing_days` and each config indicator's warm-up, as the analysis plans it for each day). A file that
  does not exist is covered as absent, so a day filled in later changes the digest too. The scope keeps
  each file's short digest, so a check can name the file that changed. Files a scanner or strategy reads
  for the symbols it adds mid-run cannot be named before the run: each load event of the log carries the
  digest of the bars it loaded, which `verify` compares by re-running and `--resume` by reading those
  bars again for the finished days (`check_added_loads`).
- `store` (older runs; `data_scope` empty): every file of the store.

The cost of a run start is thus the files of the config symbols' days, whatever the store holds; `verify`
and `--resume` read the recorded scope and hash the same files again, nothing else.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import PurePosixPath

from daytape.daybook import DayBook, StoreChanged
from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.errors import CalendarError, MarketDataError
from marketdata.sources.storecache import StoreCache
from marketdata.store import BarStore, StoreLocationError, files_digest
from specs.config import SessionConfig
from specs.events import EventBase
from specs.intervals import Interval
from statemachine.analysis import warmup_history
from statemachine.errors import AnalysisError

#: The scope's name in `data_scope` (`eventlog.store.scope_summary` calls a run without one's `store`).
RUN_SCOPE = "run"
#: Hex digits of each file's sha256 kept in the scope: enough to name a changed file (the digest proves it).
SHORT = 16


def _short(content: bytes | None) -> str | None:
    return None if content is None else content.hex()[:SHORT]


@dataclass(frozen=True)
class DataScope:
    """A run's data digest and what it covers: `files` maps each covered file (relative to the store's
    root) to the sha256 of its bytes, None for one that does not exist."""

    digest: str
    files: dict[str, bytes | None]

    def as_json(self) -> str:
        """What the manifest's `data_scope` column holds: the scope and each file's short digest."""
        entries = {path: _short(content) for path, content in self.files.items()}
        return json.dumps({"scope": RUN_SCOPE, "files": entries}, separators=(",", ":"))


def history_start(config: SessionConfig, calendar: TradingCalendar, base: Interval, days: list[dt.date]) -> dt.date:
    """The first session a config symbol's `base` history reaches back to on any of `days`. A history that
    reaches before the calendar fails its day in the run, which then reads none of it."""
    first = days[0]
    for day in days:
        try:
            starts = calendar.previous_sessions(day, config.trailing_days)[:1]
            for spec in config.indicators:
                if spec.interval.base == base:
                    start = warmup_history(spec, config.warmup_multiplier, calendar, day).start
                    starts += [start] if start is not None else []
        except (CalendarError, AnalysisError):
            continue
        first = min([first, *starts])
    return first


def run_paths(config: SessionConfig, store: BarStore, calendar: TradingCalendar, days: list[dt.date]) -> list[str]:
    """The files (relative to the store's root) the config symbols read over `days` and their warm-up, in the
    order `BarStore.digest` takes a store's files."""
    if not days:
        return []
    paths: set[str] = set()
    bases = sorted({interval.base for interval in config.full_intervals()})
    for base in bases:
        sessions = calendar.sessions(history_start(config, calendar, base, days), days[-1])
        for symbol in config.symbols:
            paths.update(store.relative(store.day_file(symbol, base, day)) for day in sessions)
    return sorted(paths, key=lambda path: PurePosixPath(path).parts)


def digest_paths(store: BarStore, paths: list[str]) -> DataScope:
    files = dict(zip(paths, store.file_digests(paths), strict=True))
    return DataScope(files_digest(files.items()), files)


def run_scope(config: SessionConfig, calendar: TradingCalendar, days: list[dt.date]) -> DataScope:
    """The data scope of a new run of `config` over `days`: its files' digests, read now."""
    store = BarStore(config.store, calendar)
    return digest_paths(store, run_paths(config, store, calendar, days))


@dataclass(frozen=True)
class DataCheck:
    """How the store's data differs from what a run recorded (`change`, None when it does not), and the
    digests just taken when they are what a new run of the recorded config would take (`scope`), so that
    `verify`'s re-run records them rather than read the files again."""

    change: str | None
    scope: DataScope | None = None


def check_data(config: SessionConfig, data_digest: str | None, data_scope: str | None) -> DataCheck:
    """Whether the files a run's digest covers are what they were: those its recorded scope names, or the
    whole store for a run that scoped none. `change` says how they differ in a few words (`its data digest
    differs: 1m/symbol=SPY/2013-10-08.parquet changed`); a store that cannot be read now has changed."""
    if data_digest is None:
        return DataCheck(None)
    try:
        store = BarStore(config.store)
        store.check()
        if data_scope is None:
            return DataCheck(None if store.digest() == data_digest else "its data digest differs")
        recorded: dict[str, str | None] = json.loads(data_scope)["files"]
        now = digest_paths(store, list(recorded))
    except StoreLocationError as exc:
        return DataCheck(f"it cannot be read now: {exc}")
    calendar = get_calendar(config.exchange)
    same_paths = list(recorded) == run_paths(config, store, calendar, calendar.sessions(config.start, config.end))
    reusable = now if same_paths else None
    if now.digest == data_digest:
        return DataCheck(None, reusable)
    return DataCheck(f"its data digest differs{_changed_files(recorded, now.files)}", reusable)


def _changed_files(recorded: dict[str, str | None], now: dict[str, bytes | None]) -> str:
    changed = [path for path, content in now.items() if _short(content) != recorded[path]]
    if not changed:
        return ""
    first = changed[0]
    what = "appeared" if recorded[first] is None else "is gone" if now[first] is None else "changed"
    more = f" (and {len(changed) - 1} more file{'s' if len(changed) > 2 else ''})" if len(changed) > 1 else ""
    return f": {first} {what}{more}"


#: The events whose bar digests prove what a symbol loaded (`daytape.daybook.DayBook` checks them).
LOAD_KINDS = ("HistoricalLoaded", "SessionBarsLoaded", "SymbolStreamed")


def check_added_loads(config: SessionConfig, loads: dict[dt.date, list[EventBase]]) -> str | None:
    """What the files outside the scope say now, for the bars a run's plugins loaded: each day's LOAD_KINDS
    events (in seq order) of the symbols the config does not list, read again from the store and checked
    against their digests; the first difference in a few words, None when every load is as it was."""
    calendar = get_calendar(config.exchange)
    cache = StoreCache(BarStore(config.store, calendar), calendar)
    listed = set(config.symbols)
    for day, events in sorted(loads.items()):
        by_symbol: dict[str, list[EventBase]] = {}
        for event in events:
            if event.symbol is not None and event.symbol not in listed:
                by_symbol.setdefault(event.symbol, []).append(event)
        for symbol, symbol_events in sorted(by_symbol.items()):
            try:
                DayBook(cache, calendar, day).rebuild(symbol, symbol_events)
            except (StoreChanged, MarketDataError) as exc:
                return f"on {day}, {exc}"
    return None
