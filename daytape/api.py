"""daytape from Python: run a session file, open a log, and read its runs and days as pandas DataFrames.

    >>> import daytape
    >>> run = daytape.run("session.yaml")                         # doctest: +SKIP
    >>> day = run.days[-1]                                        # doctest: +SKIP
    >>> day.bars("SPY", "5m").join(day.indicators("SPY", interval="5m"))  # doctest: +SKIP

Everything here reads; nothing writes to a log except `run`, which makes a new run as `daytape run` does.
It is built on the readers the CLI uses (eventlog's reading, replay, explain, audit and diff; daytape's
runner and verify), so a DataFrame says what the matching command prints. Bars and indicator values are
not in the log (it holds digests of them): `Day.bars` and `Day.indicators` rebuild them from the run's
bar store through `daytape.daybook`, checked against those digests.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from daytape.day import run_store
from daytape.daybook import DayBook, RebuiltSymbol
from daytape.errors import UserError
from daytape.logurl import resolve_log_url
from daytape.resume import recorded_config
from daytape.runner import RunOptions, run_session
from daytape.verify import Verification, verify_run
from eventlog.audit import AuditReport, audit_run
from eventlog.diff import DiffReport, diff_runs
from eventlog.explain import OUTCOMES, Explanation, explain, summarize
from eventlog.reading import RunInfo, StoredEvent, dates, get_run, list_runs, read_events, resolve_run_id
from eventlog.replay import parse_until, replay_day
from eventlog.store import EventStore, open_store, scope_summary
from marketdata.calendar import TradingCalendar, get_calendar
from marketdata.sources.storecache import StoreCache
from specs import events as ev
from specs.config import SessionConfig
from specs.intervals import Interval
from statemachine.export import metadata_json, state_json
from statemachine.state import SessionState

if TYPE_CHECKING:
    from daytape.lookahead import LookaheadReport
    from daytape.warmup import WarmupReport

__all__ = ["Day", "Log", "Run", "open_log", "run"]

#: Keyword arguments of `run` that choose how the days run rather than what the session is (`executor`
#: names the run backend, as the CLI's `--executor` does).
RUN_OPTIONS = ("workers", "executor", "scheduler")

Moment = int | str | dt.datetime | None


_UTC = pd.DatetimeTZDtype("ns", "UTC")


def _utc_index(ns: np.ndarray, name: str | None) -> pd.DatetimeIndex:
    """Nanoseconds since the epoch as a UTC index (a view of them, not a parse: a tenth of `to_datetime`'s time)."""
    return pd.DatetimeIndex(np.asarray(ns, dtype="int64").view("M8[ns]"), dtype=_UTC, name=name)


def _session_config(config_or_path: SessionConfig | Mapping[str, Any] | str | Path) -> SessionConfig:
    if isinstance(config_or_path, SessionConfig):
        return config_or_path
    if isinstance(config_or_path, Mapping):
        try:
            return SessionConfig.model_validate(dict(config_or_path))
        except ValueError as exc:
            raise UserError(f"session config: {exc}") from None
    from daytape.configfile import load_session_file
    from daytape.preflight import anchor_paths

    return anchor_paths(load_session_file(config_or_path), Path(config_or_path))


def run(config_or_path: SessionConfig | Mapping[str, Any] | str | Path, **overrides: Any) -> Run:
    """Run the sessions of a session file (or a `SessionConfig`, or a dict of one), as `daytape run` does.

    `overrides` replace fields of the session (`start`, `end`, `log`, `symbols`, ...); `workers`,
    `executor` and `scheduler` choose how the days run. The log is the `log` override, else
    $DAYTAPE_LOG_URL, else the session's `log`, else `sqlite:///daytape.db`. A run whose days failed is
    returned all the same: look at `Run.status`.
    """
    options = _run_options({key: overrides.pop(key) for key in RUN_OPTIONS if key in overrides})
    config = _session_config(config_or_path)
    explicit_log = overrides.get("log")
    if overrides:
        try:
            config = SessionConfig.model_validate({**config.model_dump(), **overrides})
        except ValueError as exc:
            raise UserError(f"session config: {exc}") from None
    url = explicit_log or resolve_log_url(None, config.log)
    log = Log(url, create=True)
    result = run_session(log.store, config, options)
    return log.run(result.run_id)


def _run_options(options: dict[str, Any]) -> RunOptions:
    """`RunOptions` from the API's keywords (`executor` is the backend's name, as on the command line)."""
    if "executor" in options:
        options = {**options, "backend": options["executor"]}
        del options["executor"]
    return RunOptions(**options)


def open_log(url: str | None = None, *, verify: bool = True) -> Log:
    """The event log at `url` (else $DAYTAPE_LOG_URL, else `sqlite:///daytape.db`), for reading.

    Every stream its runs and days read is verified first (hash chain, contiguous seq, the recorded end)
    and a tampered one raises `eventlog.errors.TamperedStream` naming the stream, seq and why, as the CLI's
    readers refuse it; `verify=False` skips the check (a forged stream then reads as written)."""
    return Log(resolve_log_url(url), verify=verify)


class Log:
    """An event log, open for reading (use it as a context manager, or `close()` it). With `verify` (the
    default) every stream read through it is verified first (`TamperedStream` when it fails)."""

    def __init__(self, url: str, *, create: bool = False, verify: bool = True) -> None:
        self.url = url
        self.verify = verify
        self.store: EventStore = open_store(url, create=create, read_only=not create)

    def __enter__(self) -> Log:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    def __repr__(self) -> str:
        return f"Log({self.url!r})"

    def runs(self) -> pd.DataFrame:
        """One row per run, oldest first: the keys of `daytape runs --json`."""
        columns = ["run_id", "name", "status", "started_at", "finished_at", "sessions"]
        rows = [info.summary() for info in list_runs(self.store)]
        frame = pd.DataFrame(rows, columns=columns + [c for c in (rows[0] if rows else {}) if c not in columns])
        for name in ("started_at", "finished_at"):
            frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
        return frame

    def run(self, prefix: str, *, store: str | Path | None = None) -> Run:
        """The run with this id, or the one run whose id starts with `prefix`. `store` reads its bars from
        that folder instead of the one the run recorded (a store that moved; its bars are still checked
        against the log's digests)."""
        return Run(self, resolve_run_id(self.store, prefix), store=store)


class Run:
    """One run of a log: its manifest, its days, and the checks `audit`, `verify` and `diff`."""

    def __init__(self, log: Log, run_id: str, *, store: str | Path | None = None) -> None:
        self.log = log
        self.run_id = run_id
        self._store_override = None if store is None else str(Path(store).resolve())

    def __repr__(self) -> str:
        return f"Run({self.run_id!r}, status={self.info.status!r}, days={len(self.days)})"

    @property
    def info(self) -> RunInfo:
        return get_run(self.log.store, self.run_id)

    @property
    def status(self) -> str:
        return self.info.status

    @property
    def manifest(self) -> dict[str, Any]:
        """What the run was made from: name, config, its hash, the data digest and its scope, code version,
        seed (and the seal, when the log keeps one)."""
        info = self.info
        manifest = {
            "run_id": info.run_id,
            "name": info.name,
            "status": info.status,
            "started_at": info.started_at,
            "finished_at": info.finished_at,
            "config": json.loads(info.config_json),
            "config_hash": info.config_hash,
            "data_digest": info.data_digest,
            "data_scope": scope_summary(info.data_scope),
            "code_version": info.code_version,
            "seed": info.seed,
        }
        seal = getattr(info, "seal", None)
        if seal is not None:
            manifest["seal"] = seal
        return manifest

    @cached_property
    def config(self) -> SessionConfig:
        """The session config the run recorded (what `verify` re-runs), with the store given to `Log.run`."""
        config = recorded_config(self.log.store, self.run_id)
        if self._store_override is not None:
            config = config.model_copy(update={"store": self._store_override})
        return config

    @cached_property
    def calendar(self) -> TradingCalendar:
        return get_calendar(self.config.exchange)

    @cached_property
    def bar_cache(self) -> StoreCache:
        """The run's bar store, read through one cache for all its days, as the run read it."""
        return run_store(self.config)

    @cached_property
    def days(self) -> list[Day]:
        """The session days the log has a stream for, in date order."""
        return [Day(self, d) for d in dates(self.log.store, self.run_id)]

    def day(self, date: str | dt.date) -> Day:
        """The day of this session date."""
        wanted = dt.date.fromisoformat(date) if isinstance(date, str) else date
        for day in self.days:
            if day.date == wanted:
                return day
        known = ", ".join(d.date.isoformat() for d in self.days) or "none"
        raise UserError(f"run {self.run_id} has no session {wanted.isoformat()} (it has: {known})")

    def audit(self) -> AuditReport:
        """`daytape audit`: the hash chains, seq contiguity, envelopes and transitions; `.ok` when clean."""
        return audit_run(self.log.store, self.run_id)

    def verify(self, **options: Any) -> Verification:
        """`daytape verify`: re-run the recorded config on the same data; `.deterministic` when the same.
        `options` are `RunOptions` fields (`workers`, `executor`)."""
        return verify_run(self.log.store, self.run_id, _run_options(options))

    def verify_warmup(self, tolerance: float = 1e-6) -> WarmupReport:
        """`daytape verify --warmup`: every indicator recomputed over 2x and 4x its history; `.ok` when no
        first session value moved by more than `tolerance` (relative); `.per_indicator()` says by how much."""
        from daytape.warmup import check_warmup

        return check_warmup(self, tolerance)

    def verify_lookahead(self, samples: int = 3, seed: int = 0) -> LookaheadReport:
        """`daytape verify --lookahead`: each day re-run up to `samples` seeded moments t with every bar after t
        removed (in a temporary copy of the store); `.ok` when every plugin call and every value the view
        offered up to t was the same, else `.first` names the first plugin call that differed."""
        from daytape.lookahead import check_lookahead

        return check_lookahead(self.config, self.run_id, [day.date for day in self.days], samples, seed)

    def diff(self, other: Run | str) -> DiffReport:
        """`daytape diff`: the first divergent event between this run and `other` (a Run, of any log, or an
        id in this log); `.same` when none."""
        if isinstance(other, str):
            return diff_runs(self.log.store, self.run_id, other, verify=self.log.verify)
        verify = self.log.verify and other.log.verify
        return diff_runs(self.log.store, self.run_id, other.run_id, store_b=other.log.store, verify=verify)


class Day:
    """One session day of a run: its events, requests, state at any point, and the numbers behind it."""

    def __init__(self, run: Run, date: dt.date) -> None:
        self.run = run
        self.date = date
        self._rebuilt: dict[str, RebuiltSymbol] = {}

    def __repr__(self) -> str:
        return f"Day({self.run.run_id!r}, {self.date.isoformat()})"

    @property
    def _store(self) -> EventStore:
        return self.run.log.store

    @property
    def _verify(self) -> bool:
        return self.run.log.verify

    @cached_property
    def stored_events(self) -> list[tuple[StoredEvent, ev.EventBase]]:
        """The day's stored rows with their parsed events, in seq order."""
        return [
            (row, row.event())
            for row in read_events(self._store, self.run.run_id, session_date=self.date, verify=self._verify)
        ]

    @cached_property
    def end_seq(self) -> int | None:
        """The seq of the day's SessionEnded (None when the session never ended)."""
        return self._store.session_end_seq(self.run.run_id, self.date)

    def events(self) -> pd.DataFrame:
        """One row per event, indexed by seq: kind, symbol, request_id, sim_time, a one-line summary and the
        payload as a dict."""
        rows = [
            {
                "seq": row.seq,
                "kind": row.kind,
                "symbol": row.symbol,
                "request_id": row.request_id,
                "sim_time": row.sim_time,
                "summary": summarize(event),
                "payload": event.model_dump(mode="json"),
            }
            for row, event in self.stored_events
        ]
        frame = pd.DataFrame(rows, columns=["seq", "kind", "symbol", "request_id", "sim_time", "summary", "payload"])
        frame["sim_time"] = pd.to_datetime(frame["sim_time"], utc=True)
        return frame.set_index("seq")

    def requests(self) -> pd.DataFrame:
        """One row per request, indexed by request_id: who asked (source, plugin), for what, when, the
        planned steps, and how it ended (completed, skipped, rejected, failed) with the reason."""
        found: dict[str, dict[str, Any]] = {}
        for _row, event in self.stored_events:
            rid = event.request_id
            if rid is None:
                continue
            if isinstance(event, ev.RequestReceived):
                found[rid] = {
                    "request_id": rid,
                    "symbol": event.symbol,
                    "source": event.source.value,
                    "plugin": event.plugin,
                    "operation": event.operation.value,
                    "interval": str(event.interval) if event.interval is not None else None,
                    "indicator": event.indicator.key if event.indicator is not None else None,
                    "description": event.description,
                    "sim_time": event.sim_time,
                    "steps": [],
                    "outcome": "received",
                    "reason": "",
                }
            elif rid in found and isinstance(event, ev.RequestPlanned):
                found[rid]["steps"] = list(event.steps)
            elif rid in found and event.kind in OUTCOMES and event.kind != "SymbolValidated":
                found[rid]["outcome"] = OUTCOMES[event.kind]
                found[rid]["reason"] = getattr(event, "reason", "") or getattr(event, "error", "") or ""
        columns = [
            "request_id", "symbol", "source", "plugin", "operation", "interval", "indicator",
            "description", "sim_time", "steps", "outcome", "reason",
        ]  # fmt: skip
        frame = pd.DataFrame(list(found.values()), columns=columns)
        frame["sim_time"] = pd.to_datetime(frame["sim_time"], utc=True)
        return frame.set_index("request_id")

    def state(self, at: Moment = None) -> SessionState:
        """The session state as `daytape replay --until` rebuilds it: after seq `at` (an int), at simulated
        time `at` (a datetime, or ISO 8601 text), or by default when the session ended."""
        if at is None:
            return replay_day(self._store, self.run.run_id, self.date, verify=self._verify)
        point = parse_until(at) if isinstance(at, str) else at
        if isinstance(point, bool) or not isinstance(point, int | dt.datetime):
            raise UserError(f"at={at!r}: expected a seq (int), a datetime or ISO 8601 text")
        if isinstance(point, int):
            if point < 1:
                raise UserError(f"at={at!r}: a seq starts at 1")
            return replay_day(self._store, self.run.run_id, self.date, until_seq=point, verify=self._verify)
        moment = point if point.tzinfo is not None else point.replace(tzinfo=dt.UTC)
        return replay_day(self._store, self.run.run_id, self.date, until_time=moment, verify=self._verify)

    def export(self, at: Moment = None) -> dict[str, Any]:
        """The state at `at` (see `state`) in the export shape of `daytape replay --json`."""
        state = self.state(at)
        document = state_json(state, self.run.run_id)
        document["date"] = self.date.isoformat()
        document["events_applied"] = state.events_applied
        return document

    def symbols(self, at: Moment = None) -> pd.DataFrame:
        """One row per symbol in the state at `at` (see `state`), indexed by symbol: its lifecycle state, the
        five metadata fields, intervals, indicators, quality, gaps, history rows, the history's quality and each
        interval's quality as `{interval: quality}` (the CSV export's columns)."""
        state = self.state(at)
        rows = []
        for symbol in sorted(state.symbols):
            data = state.symbols[symbol]
            quality = data.quality
            rows.append(
                {
                    "symbol": symbol,
                    "state": data.state,
                    "base_interval": str(data.base_interval),
                    **metadata_json(data),
                    "added_at": data.added_at,
                    "intervals": [key for key, _ in sorted(data.bars.items(), key=lambda kv: kv[1].interval)],
                    "indicators": sorted(data.indicators),
                    "quality": None if quality is None else quality.quality,
                    "gaps": None if quality is None else len(quality.gaps),
                    "historical_rows": data.historical.rows if data.historical is not None else 0,
                    "historical_quality": None if quality is None else quality.historical_quality,
                    "interval_quality": {
                        key: bars.quality for key, bars in data.bars.items() if bars.quality is not None
                    },
                }
            )
        columns = [
            "symbol", "state", "base_interval", "meets_session_config_requirements", "added_by",
            "auto_provisioned", "added_at", "upgraded_from_adhoc", "intervals", "indicators", "quality", "gaps",
            "historical_rows", "historical_quality", "interval_quality",
        ]  # fmt: skip
        frame = pd.DataFrame(rows, columns=columns)
        frame["added_at"] = pd.to_datetime(frame["added_at"], utc=True)
        return frame.set_index("symbol")

    def explain(self, symbol: str, interval: str | None = None, indicator: str | None = None) -> Explanation:
        """`daytape explain`: the requests and events that made the symbol (or its interval or indicator)."""
        if interval and indicator:
            raise UserError("explain: give interval or indicator, not both")
        return explain(
            self._store,
            self.run.run_id,
            symbol.upper(),
            session_date=self.date,
            interval=interval,
            indicator=indicator,
            verify=self._verify,
        )

    # -- the proofs, for this day ----------------------------------------------------------------------

    def verify_warmup(self, tolerance: float = 1e-6) -> WarmupReport:
        """`daytape verify --warmup` for this day only: each indicator registered today recomputed over 2x
        and 4x its history; `.ok`, `.per_indicator()`, and `.as_dict()` (plain data, the `--json` shape)."""
        from daytape.warmup import WarmupReport, check_day

        report = WarmupReport(self.run.run_id, tolerance)
        report.checks.extend(check_day(self))
        return report

    def verify_lookahead(self, samples: int = 3, seed: int = 0) -> LookaheadReport:
        """`daytape verify --lookahead` for this day only: the same seeded moments the run's check draws for
        it; `.ok`, `.first`, and `.as_dict()` (plain data, the `--json` shape)."""
        from daytape.lookahead import check_lookahead

        return check_lookahead(self.run.config, self.run.run_id, [self.date], samples, seed)

    # -- the numbers -----------------------------------------------------------------------------------

    def rebuilt(self, symbol: str) -> RebuiltSymbol:
        """The symbol's bars, history and indicator series, rebuilt from the store and checked against the
        log's digests (StoreChanged when the store no longer holds them)."""
        symbol = symbol.upper()
        if symbol not in self._rebuilt:
            until = self.end_seq
            steps = [
                event
                for row, event in self.stored_events
                if row.symbol == symbol and (until is None or row.seq <= until)
            ]
            if not any(isinstance(e, ev.SessionBarsLoaded | ev.HistoricalLoaded) for e in steps):
                raise UserError(f"{symbol} had no bars loaded on {self.date.isoformat()} in run {self.run.run_id}")
            book = DayBook(self.run.bar_cache, self.run.calendar, self.date)
            self._rebuilt[symbol] = book.rebuild(symbol, steps)
        return self._rebuilt[symbol]

    def bars(self, symbol: str, interval: str, *, history: bool = False) -> pd.DataFrame:
        """The day's regular-session bars of `interval`, indexed by bar close time (UTC): open_time, open,
        high, low, close, volume. `history=True` puts the history the run loaded before them, with a
        `history` column that says which rows are history (only history for an interval held for its history)."""
        book = self.rebuilt(symbol)
        key = str(Interval(interval))
        history_only = key not in book.intervals and history and str(Interval(key).base) in book.histories
        if key not in book.intervals and not history_only:
            held = ", ".join(book.intervals) or "none"
            raise UserError(f"{symbol.upper()} had no {key} bars on {self.date.isoformat()} (it had: {held})")
        if not history:
            return _bars_frame([book.intervals[key]])
        # an indicator of this interval that warmed up over the sessions held now (none joined since) warmed up
        # over exactly this history: no need to read it again
        loaded = book.histories.get(str(Interval(key).base))
        sessions_now = loaded[0] if loaded is not None else ()
        warmed = [
            book.warmups[k]
            for k, series in book.indicators.items()
            if str(series.spec.interval) == key and book.warmup_sessions.get(k) == sessions_now
        ]
        if warmed:
            past = warmed[0]
        else:
            rebuilder = DayBook(self.run.bar_cache, self.run.calendar, self.date)
            past = rebuilder.history_of(symbol.upper(), book, Interval(key))
        if history_only:  # held for its history only (add_bar's scope "history"): no session bars
            return _bars_frame([past], history=len(past))
        return _bars_frame([past, book.intervals[key]], history=len(past))

    def indicators(self, symbol: str, *, interval: str | None = None, history: bool = False) -> pd.DataFrame:
        """The values of the symbol's indicators after each bar of the day, indexed by bar close time (UTC),
        one column per indicator output (`sma_20_5m`, `bollinger_20_5m.upper`); indicators of different
        intervals are NaN where their interval has no bar closing. `interval` keeps one interval's;
        `history=True` adds the warm-up values before the open."""
        book = self.rebuilt(symbol)
        frames = []
        for key, series in sorted(book.indicators.items()):
            if interval is not None and str(series.spec.interval) != str(Interval(interval)):
                continue
            first = 0 if history else series.history_bars
            names = {name: key if len(series.values) == 1 else f"{key}.{name}" for name in series.values}
            frames.append(
                pd.DataFrame(
                    {names[name]: column[first:] for name, column in series.values.items()},
                    index=_utc_index(series.closes[first:], "close_time"),
                )
            )
        if not frames:
            return pd.DataFrame(index=_utc_index(np.empty(0, dtype="int64"), "close_time"))
        return pd.concat(frames, axis=1, sort=True)


def _bars_frame(parts: list[Any], history: int | None = None) -> pd.DataFrame:
    """Bars (one or more blocks, in time order) as one frame; with `history`, a `history` column that is
    True for the first `history` rows. Built from the arrays at once: a frame per block and a concat cost
    more than the numbers."""

    def column(name: str) -> np.ndarray:
        arrays = [np.asarray(getattr(part, name)) for part in parts]
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    close = column("bar_close")
    columns: dict[str, Any] = {
        "open_time": _utc_index(column("ts"), None),
        **{name: column(name) for name in ("open", "high", "low", "close", "volume")},
    }
    if history is not None:
        columns["history"] = np.arange(len(close)) < history
    return pd.DataFrame(columns, index=_utc_index(close, "close_time"))
