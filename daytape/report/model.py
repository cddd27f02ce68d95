"""What the report shows, gathered from a run through the Python API into one JSON-able document.

Times are the exchange's wall-clock time as milliseconds since 1970-01-01 read as if it were UTC, so the
page's charts (which draw dates in UTC) show New York time without a time-zone library in the browser.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from daytape.api import Day, Run
from specs.intervals import Interval

#: Indicators drawn on their own scale (right axis) rather than over the prices.
OSCILLATORS = ("rsi", "macd", "atr")
#: Requests whose outcome the report lists as not provisioned.
NOT_PROVISIONED = ("rejected", "failed")


class Clock:
    """Turns UTC moments into the exchange's wall-clock milliseconds (see the module docstring)."""

    def __init__(self, tz: str) -> None:
        self.tz = tz

    def ms(self, moment: Any) -> int | None:
        if moment is None or (not isinstance(moment, dt.datetime) and pd.isna(moment)):
            return None
        stamp = pd.Timestamp(moment)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
        local = stamp.tz_convert(self.tz).tz_localize(None)
        return int(local.value // 1_000_000)

    def ms_index(self, index: pd.DatetimeIndex) -> list[int]:
        local = index.tz_convert(self.tz).tz_localize(None)
        return [int(v) for v in local.asi8 // 1_000_000]


def _column(values: Iterable[Any]) -> list[float | None]:
    """A column for JSON: six decimals (plenty on a chart), NaN as None."""
    rounded = np.round(np.asarray(values, dtype=np.float64), 6).tolist()
    return [None if v != v else v for v in rounded]


@dataclass(frozen=True)
class Proofs:
    """Which proofs the report carries: the warm-up one always (it reuses the bars the charts rebuild), the
    look-ahead one when `lookahead` (it re-runs each day up to `samples` moments, twice)."""

    tolerance: float = 1e-6
    lookahead: bool = False
    samples: int = 3
    seed: int = 0


def run_document(run: Run, dates: Iterable[dt.date] | None = None, proofs: Proofs | None = None) -> dict[str, Any]:
    """The report's data for `run` (every day, or the given session dates), with the `proofs` asked for
    (by default the warm-up proof at its default tolerance, no look-ahead proof)."""
    clock = Clock(str(run.calendar.tz))
    chosen = list(run.days) if dates is None else [run.day(d) for d in dates]
    proofs = proofs or Proofs()
    manifest = run.manifest
    return {
        "run": {
            "run_id": run.run_id,
            "name": manifest["name"],
            "status": manifest["status"],
            "started_at": manifest["started_at"].isoformat(),
            "finished_at": manifest["finished_at"].isoformat() if manifest["finished_at"] else None,
            "config": manifest["config"],
            "config_hash": manifest["config_hash"],
            "data_digest": manifest["data_digest"],
            "code_version": manifest["code_version"],
            "seed": manifest["seed"],
            "seal": manifest.get("seal"),
            "exchange_tz": clock.tz,
        },
        "days": [day_document(day, clock, float(run.config.warmup_multiplier), proofs) for day in chosen],
    }


def day_document(day: Day, clock: Clock, warmup_multiplier: float, proofs: Proofs | None = None) -> dict[str, Any]:
    events = day.events()
    requests = day.requests()
    ended = day.export()
    state = day.state()
    chains = _chains(events)
    return {
        "date": day.date.isoformat(),
        "open": clock.ms(state.open),
        "close": clock.ms(state.close),
        "early_close": state.early_close,
        "session_state": ended["session_state"],
        "lanes": _lanes(events, requests, clock),
        "requests": _requests(requests, clock),
        "explain": chains,
        "quality": _quality(ended, clock),
        "charts": _charts(day, events, requests, ended, clock, warmup_multiplier),
        "checkpoints": _checkpoints(day, events, clock),
        "proofs": _proofs(day, clock, proofs or Proofs()),
    }


def _finite(value: float | None) -> float | str | None:
    """A difference for JSON: a number, or "inf" where one history gave a value and the other none."""
    return value if value is None or math.isfinite(value) else "inf"


def _proofs(day: Day, clock: Clock, proofs: Proofs) -> dict[str, Any]:
    """The day's warm-up proof (per indicator registration: the largest difference at the first session bar
    with 2x and 4x the history, against the tolerance) and, when asked, its look-ahead proof (per sampled
    moment: identical, or the first plugin call that differed), from `Day.verify_warmup` and
    `Day.verify_lookahead` as plain data."""
    warm = day.verify_warmup(proofs.tolerance).as_dict()
    warmup = {
        "ok": warm["ok"],
        "tolerance": warm["tolerance"],
        "factors": warm["factors"],
        "checks": [
            {
                "symbol": check["symbol"],
                "indicator": check["indicator"],
                "history_sessions": check["history_sessions"],
                "history_bars": check["history_bars"],
                "longer": [{**x, "rel_diff": _finite(x["rel_diff"])} for x in check["longer"]],
                "max_rel_diff": _finite(check["max_rel_diff"]),
                "ok": check["max_rel_diff"] <= warm["tolerance"],
            }
            for check in warm["checks"]
        ],
    }
    lookahead = None
    if proofs.lookahead:
        ahead = day.verify_lookahead(proofs.samples, proofs.seed).as_dict()
        lookahead = {
            "ok": ahead["ok"],
            "samples": ahead["samples"],
            "seed": ahead["seed"],
            "plugins": ahead["plugins"],
            "moments": [
                {
                    "t": clock.ms(dt.datetime.fromisoformat(moment["t"])),
                    "t_utc": moment["t"],
                    "calls_compared": moment["calls_compared"],
                    "identical": moment["identical"],
                    "first_difference": moment["first_difference"],
                }
                for moment in ahead["moments"]
            ],
        }
    return {"warmup": warmup, "lookahead": lookahead}


def _chains(events: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Each request's events (request → plan → validation → steps → outcome), as `explain` lists them."""
    chains: dict[str, list[dict[str, Any]]] = {}
    asked = events[events.request_id.notna()]
    for seq, rid, kind, summary in zip(asked.index, asked.request_id, asked.kind, asked.summary, strict=True):
        chains.setdefault(str(rid), []).append({"seq": int(seq), "kind": kind, "summary": summary})
    return chains


def _requests(requests: pd.DataFrame, clock: Clock) -> list[dict[str, Any]]:
    return [
        {
            "request_id": str(rid),
            "symbol": row.symbol,
            "source": row.source,
            "plugin": None if pd.isna(row.plugin) else row.plugin,
            "description": row.description,
            "t": clock.ms(row.sim_time),
            "outcome": row.outcome,
            "reason": row.reason,
        }
        for rid, row in requests.iterrows()
    ]


def _lanes(events: pd.DataFrame, requests: pd.DataFrame, clock: Clock) -> list[dict[str, Any]]:
    """Per symbol: its lifecycle as segments (adhoc, full) with who made each, and a mark per request."""
    lanes: dict[str, dict[str, Any]] = {}

    def lane(symbol: str) -> dict[str, Any]:
        return lanes.setdefault(symbol, {"symbol": symbol, "segments": [], "marks": [], "torn_down": None})

    lifecycle = events[events.symbol.notna() & events.kind.isin(["SymbolCreated", "SymbolUpgraded", "SymbolTornDown"])]
    for seq, row in lifecycle.iterrows():
        kind = row.kind
        entry = lane(str(row.symbol))
        t = clock.ms(row.sim_time)
        request = requests.loc[row.request_id] if row.request_id in requests.index else None
        if entry["segments"] and entry["segments"][-1]["end"] is None:
            entry["segments"][-1]["end"] = t
        if kind == "SymbolTornDown":
            entry["torn_down"] = {"t": t, "seq": int(seq)}  # type: ignore[call-overload]
            continue
        entry["segments"].append(
            {
                "state": row.payload.get("mode", "full"),
                "start": t,
                "end": None,
                "request_id": row.request_id,
                "source": row.payload.get("added_by"),
                "plugin": None if request is None or pd.isna(request.plugin) else request.plugin,
            }
        )
    for rid, request in requests.iterrows():
        lane(str(request.symbol))["marks"].append(
            {
                "request_id": str(rid),
                "t": clock.ms(request.sim_time),
                "outcome": request.outcome,
                "label": f"{request.description} -> {request.outcome}",
            }
        )
    return [lanes[s] for s in sorted(lanes)]


def _gaps(gaps: list[dict[str, Any]], interval: str, clock: Clock) -> list[dict[str, Any]]:
    """Gaps as spans of wall-clock ms covering the missing bars (a gap names their open times)."""
    width = Interval(interval).seconds * 1000
    spans = []
    for gap in gaps:
        start, end = clock.ms(gap["start"]), clock.ms(gap["end"])
        spans.append({"start": start, "end": None if end is None else end + width, "missing": gap["missing"]})
    return spans


def _quality(ended: dict[str, Any], clock: Clock) -> list[dict[str, Any]]:
    rows = []
    for symbol, data in ended["symbols"].items():
        for interval, bars in data["bars"].items():
            if "quality" in bars or bars.get("flagged"):
                rows.append(
                    {
                        "symbol": symbol,
                        "interval": interval,
                        "count": bars["count"],
                        "quality": bars.get("quality"),
                        "gaps": _gaps(bars.get("gaps", []), interval, clock),
                        "flagged": bars.get("flagged", {}),
                    }
                )
    return rows


#: A symbol's step events as the charts need them: (kind, request_id, payload).
Steps = list[tuple[str, str | None, dict[str, Any]]]


def _warmup_bars(steps: Steps, interval: str, multiplier: float) -> int:
    """How many history bars to draw before the open: the longest warm-up the analysis asked for there."""
    longest = 0
    for kind, _, payload in steps:
        if kind == "IndicatorRegistered" and payload["indicator"]["interval"] == interval:
            longest = max(longest, math.ceil(payload["warmup_bars"] * multiplier))
    return longest


def _charts(
    day: Day,
    events: pd.DataFrame,
    requests: pd.DataFrame,
    ended: dict[str, Any],
    clock: Clock,
    multiplier: float,
) -> dict[str, dict[str, Any]]:
    asked = {
        str(rid): (clock.ms(t), description)
        for rid, t, description in zip(requests.index, requests.sim_time, requests.description, strict=True)
    }
    by_symbol: dict[str, Steps] = {}
    mine = events[events.symbol.notna()]
    for symbol, kind, rid, payload in zip(mine.symbol, mine.kind, mine.request_id, mine.payload, strict=True):
        by_symbol.setdefault(str(symbol), []).append((kind, rid, payload))
    charts: dict[str, dict[str, Any]] = {}
    for symbol in sorted(by_symbol):
        steps = by_symbol[symbol]
        intervals = list(dict.fromkeys(p["interval"] for kind, _, p in steps if kind == "SessionBarsLoaded"))
        if not intervals:
            continue
        gaps = []
        for key, data in (ended["symbols"].get(symbol, {}).get("bars") or {}).items():
            gaps.extend(_gaps(data.get("gaps", []), key, clock))
        charts[symbol] = {
            interval: _chart(day, steps, asked, symbol, interval, clock, multiplier) | {"gaps": gaps}
            for interval in intervals
        }
    return charts


def _chart(
    day: Day,
    steps: Steps,
    asked: dict[str, tuple[int | None, str]],
    symbol: str,
    interval: str,
    clock: Clock,
    multiplier: float,
) -> dict[str, Any]:
    warm = _warmup_bars(steps, interval, multiplier)
    bars = day.bars(symbol, interval, history=True)
    values = day.indicators(symbol, interval=interval, history=True).reindex(bars.index)
    history = int(bars.history.sum())
    keep = slice(max(0, history - warm), None)
    bars, values = bars.iloc[keep], values.iloc[keep]
    marks = [
        {"request_id": rid, "t": asked[rid][0], "label": asked[rid][1]} for rid in _requests_touching(steps, interval)
    ]
    return {
        "t": clock.ms_index(pd.DatetimeIndex(bars.index)),
        "open": _column(bars.open),
        "high": _column(bars.high),
        "low": _column(bars.low),
        "close": _column(bars.close),
        "history": min(history, warm),
        "width": Interval(interval).seconds * 1000,
        "indicators": {
            name: {"values": _column(values[name]), "oscillator": name.split("_", 1)[0] in OSCILLATORS}
            for name in values.columns
        },
        "marks": marks,
    }


def _requests_touching(steps: Steps, interval: str) -> list[str]:
    """The requests that added this interval of the symbol or registered an indicator on it."""
    found: list[str] = []
    for kind, request_id, payload in steps:
        if kind not in ("IntervalAdded", "IndicatorRegistered"):
            continue
        touched = payload.get("interval") or payload.get("indicator", {}).get("interval")
        if touched == interval and request_id not in found:
            found.append(str(request_id))
    return found


def _checkpoints(day: Day, events: pd.DataFrame, clock: Clock) -> list[dict[str, Any]]:
    """The state after the last event of each simulated moment (and at SessionEnded, the state a day's
    export shows), as `replay --until SEQ` rebuilds it."""
    points: list[dict[str, Any]] = []
    moments = events.sim_time.ffill()
    boundary = (moments != moments.shift(-1)).to_numpy() | (events.kind == "SessionEnded").to_numpy()
    for seq in events.index[boundary]:
        document = day.export(at=int(seq))
        points.append(
            {
                "seq": int(seq),
                "t": clock.ms(moments.loc[seq]),
                "kind": events.loc[seq, "kind"],
                "session_state": document["session_state"],
                "symbols": {
                    symbol: {
                        "state": data["state"],
                        "added_by": data["metadata"]["added_by"],
                        "intervals": list(data["bars"]),
                        "indicators": list(data["indicators"]),
                    }
                    for symbol, data in document["symbols"].items()
                },
                "rejected": document["rejected"],
            }
        )
    return points
