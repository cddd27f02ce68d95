"""The export shapes of CONTRACT.md: a session state as JSON (one date) and as CSV rows."""

from __future__ import annotations

import csv
import io
from typing import Any

from specs.events import PartialBar
from specs.status import RequestStatus
from statemachine.state import BarIntervalData, IndicatorData, SessionState, SymbolSessionData

CSV_COLUMNS = (
    "date",
    "symbol",
    "state",
    "meets_session_config_requirements",
    "added_by",
    "auto_provisioned",
    "added_at",
    "upgraded_from_adhoc",
    "intervals",
    "indicators",
    "quality",
    "gaps",
    "historical_rows",
    "historical_quality",
    "interval_quality",
)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _partial_json(bar: PartialBar) -> dict[str, Any]:
    return {"start": _iso(bar.start), "present": bar.present, "expected": bar.expected, "missing": bar.missing}


def _bars_json(bars: BarIntervalData) -> dict[str, Any]:
    out: dict[str, Any] = {
        "derived": bars.derived,
        "base": str(bars.base) if bars.base is not None else None,
        "count": bars.count,
    }
    if not bars.session:
        out["history_only"] = True  # held for its history: no session bars were loaded
    if bars.quality is not None:
        out["quality"] = bars.quality
        out["gaps"] = [{"start": _iso(g.start), "end": _iso(g.end), "missing": g.missing} for g in bars.gaps]
        if bars.expected is not None:
            out["expected"], out["present"], out["complete"] = bars.expected, bars.present, bars.complete
            out["partial"] = [_partial_json(p) for p in bars.partial]
    if bars.flagged:
        out["flagged"] = dict(bars.flagged)
    return out


def _indicator_json(indicator: IndicatorData) -> dict[str, Any]:
    return {
        "name": indicator.name,
        "type": indicator.type,
        "interval": str(indicator.interval),
        "current_value": indicator.current_value,
        "last_updated": _iso(indicator.last_updated),
        "valid": indicator.valid,
    }


def metadata_json(data: SymbolSessionData) -> dict[str, Any]:
    return {
        "meets_session_config_requirements": data.meets_session_config_requirements,
        "added_by": data.added_by,
        "auto_provisioned": data.auto_provisioned,
        "added_at": _iso(data.added_at),
        "upgraded_from_adhoc": data.upgraded_from_adhoc,
    }


def historical_json(data: SymbolSessionData) -> dict[str, Any] | None:
    """The history exports show, with the quality of its base bars once the symbol's quality was calculated."""
    if data.historical is None:
        return None
    h = data.historical
    out: dict[str, Any] = {"sessions": h.sessions, "start": _iso(h.start), "end": _iso(h.end), "rows": h.rows}
    quality = data.quality
    if quality is not None and quality.interval == h.interval and quality.historical_quality is not None:
        out["quality"] = quality.historical_quality
        out["expected"], out["present"], out["gaps"] = (
            quality.historical_expected,
            quality.historical_present,
            quality.historical_gaps,
        )
    return out


def symbol_json(data: SymbolSessionData) -> dict[str, Any]:
    historical = historical_json(data)
    return {
        "symbol": data.symbol,
        "state": data.state,
        "base_interval": str(data.base_interval),
        "metadata": metadata_json(data),
        "bars": {key: _bars_json(bars) for key, bars in sorted(data.bars.items(), key=lambda kv: kv[1].interval)},
        "historical": historical,
        "indicators": {key: _indicator_json(ind) for key, ind in sorted(data.indicators.items())},
    }


def failed_requests(state: SessionState) -> dict[str, str]:
    """The symbols whose last failed request (a step that raised) says why, `request_id: reason`."""
    failed: dict[str, str] = {}
    for record in state.requests.values():
        if record.status == RequestStatus.FAILED and record.symbol:
            failed[record.symbol] = f"{record.request_id}: {record.reason}"
    return dict(sorted(failed.items()))


def state_json(state: SessionState, run_id: str | None = None) -> dict[str, Any]:
    """The export shape of one session date (CONTRACT.md), plus the `rejected` symbols (validation said no)
    and the `failed` ones (a provisioning step raised), each with its reason."""
    return {
        "run_id": run_id,
        "date": _iso(state.session_date),
        "session_state": state.phase,
        "symbols": {symbol: symbol_json(state.symbols[symbol]) for symbol in sorted(state.symbols)},
        "rejected": dict(sorted(state.rejected.items())),
        "failed": failed_requests(state),
    }


def _csv_bool(value: bool) -> str:
    """`true`/`false`, as the JSON export spells them."""
    return "true" if value else "false"


def _interval_quality_cell(data: SymbolSessionData) -> str:
    """`1m=0.9872;5m=0.9231`: each interval's quality, in interval order (the ones with quality)."""
    ordered = sorted(data.bars.items(), key=lambda kv: kv[1].interval)
    return ";".join(f"{key}={bars.quality}" for key, bars in ordered if bars.quality is not None)


def state_csv(state: SessionState) -> str:
    """One row per symbol: date, symbol, state, the five metadata fields, intervals, indicators, quality, gaps,
    history rows (CONTRACT.md's columns), then the history's quality and each interval's quality."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for symbol in sorted(state.symbols):
        data = state.symbols[symbol]
        meta = metadata_json(data)
        quality = data.quality
        writer.writerow(
            [
                _iso(state.session_date),
                symbol,
                data.state,
                _csv_bool(meta["meets_session_config_requirements"]),
                meta["added_by"],
                _csv_bool(meta["auto_provisioned"]),
                meta["added_at"] or "",
                _csv_bool(meta["upgraded_from_adhoc"]),
                ";".join(key for key, _ in sorted(data.bars.items(), key=lambda kv: kv[1].interval)),
                ";".join(sorted(data.indicators)),
                "" if quality is None else quality.quality,
                "" if quality is None else len(quality.gaps),
                data.historical.rows if data.historical is not None else 0,
                "" if quality is None or quality.historical_quality is None else quality.historical_quality,
                _interval_quality_cell(data),
            ]
        )
    return buffer.getvalue()
