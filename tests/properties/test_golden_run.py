"""The golden runs: small fixed sessions on the real LEAN data whose events are pinned by digest.

- `oct-2013`: SPY, AIG and BAC in full over 2013-10-08..2013-10-10 (1m + 5m + 15m, one trailing session,
  sma_20_5m and rsi_14_1m), with the example plugins: ListScanner asks for IBM's sma_20_5m at 10:00 (IBM
  arrives ad hoc) and UpgradeStrategy asks for IBM in full at 11:00 (IBM is upgraded).
- `dec-2015`: GOOG in full over Christmas Eve 2015 (an early close, 13:00 New York) and the session after
  it, 2015-12-28, with 1m + 5m + 15m + 1h and all seven indicators; FOXA is asked for (an EMA at 10:00, in
  full at 11:00) and is in the store on the 24th only, so it is rejected on the 28th.

`daytape.runner.run_session` writes each to a SQLite log.

The digest is sha256 over every stream's (date, seq, kind, canonical payload) in order, the payload in
eventlog.hashing's canonical form; run ids and recorded times are not in it, and the store's folder, which
validation results name, is written as `<store>`. Any change in behaviour (an event more or less, a changed
payload, another order) changes the digest, and must be explained on the issue before it is re-pinned:

    DAYTAPE_REPIN_GOLDEN=1 .venv/bin/pytest tests/properties/test_golden_run.py

rewrites tests/properties/golden.json (per run: the digest, the counts per stream and kind, and a short
hash per event, so that a failure names the first event that differs).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from daytape.runner import RunOptions, RunResult, run_session
from eventlog.audit import audit_run
from eventlog.hashing import canonical_json
from eventlog.replay import read_payload, replay_day
from eventlog.store import EventStore, open_store
from marketdata.calendar import get_calendar
from marketdata.importers import import_lean
from marketdata.store import BarStore
from specs.config import SessionConfig
from specs.indicators import IndicatorSpec

GOLDEN_FILE = Path(__file__).with_name("golden.json")
REPIN_VARIABLE = "DAYTAPE_REPIN_GOLDEN"
REPIN_COMMAND = f"{REPIN_VARIABLE}=1 .venv/bin/pytest tests/properties/test_golden_run.py"
CONFIG_SYMBOLS = ["SPY", "AIG", "BAC"]
SCANNED = "IBM"
SMA_20_5M = {"type": "sma", "period": 20, "interval": "5m"}
RSI_14_1M = {"type": "rsi", "period": 14, "interval": "1m"}
EARLY_CLOSE, AFTER_CHRISTMAS = date(2015, 12, 24), date(2015, 12, 28)
#: One of each of the seven indicators, with warm-ups the one or two stored sessions before each day cover.
SEVEN_INDICATORS = ("sma_10_5m", "ema_4_15m", "rsi_14_1m", "atr_3_5m", "bollinger_3_1h", "macd_3_6_2_5m", "vwap_1h")


@dataclass(frozen=True)
class GoldenRun:
    name: str
    log: EventStore
    result: RunResult
    store_root: Path


@dataclass(frozen=True)
class Trail:
    """The run's events as the digest sees them."""

    digest: str
    streams: dict[str, int]
    kinds: dict[str, int]
    events: list[str]  # "date seq kind hash12" per event, in order

    def as_json(self) -> dict[str, Any]:
        return {"digest": self.digest, "streams": self.streams, "kinds": self.kinds, "events": self.events}


def golden_config(store_root: Path) -> SessionConfig:
    """The `oct-2013` run."""
    return SessionConfig.model_validate(
        {
            "name": "golden-lean-oct-2013",
            "start": "2013-10-08",
            "end": "2013-10-10",
            "store": str(store_root),
            "symbols": CONFIG_SYMBOLS,
            "streams": ["1m"],
            "derived": ["5m", "15m"],
            "historical": {"enabled": True, "trailing_days": 1},
            "indicators": [SMA_20_5M, RSI_14_1M],
            "warmup_multiplier": 2.0,
            "scanner": {
                "class": "daytape.examples:ListScanner",
                "params": {"symbols": [SCANNED], "at": "10:00", "indicator": SMA_20_5M},
            },
            "strategy": {"class": "daytape.examples:UpgradeStrategy", "params": {"symbols": [SCANNED], "at": "11:00"}},
        }
    )


def early_close_config(store_root: Path) -> SessionConfig:
    """The `dec-2015` run."""
    return SessionConfig.model_validate(
        {
            "name": "golden-lean-dec-2015",
            "start": EARLY_CLOSE,
            "end": AFTER_CHRISTMAS,
            "store": str(store_root),
            "symbols": ["GOOG"],
            "streams": ["1m"],
            "derived": ["5m", "15m", "1h"],
            "historical": {"enabled": True, "trailing_days": 1},
            "indicators": [IndicatorSpec.parse_key(key).model_dump(exclude_none=True) for key in SEVEN_INDICATORS],
            "warmup_multiplier": 2.0,
            "scanner": {
                "class": "daytape.examples:ListScanner",
                "params": {
                    "symbols": ["FOXA"],
                    "at": "10:00",
                    "indicator": {"type": "ema", "period": 4, "interval": "15m"},
                },
            },
            "strategy": {"class": "daytape.examples:UpgradeStrategy", "params": {"symbols": ["FOXA"], "at": "11:00"}},
        }
    )


GOLDEN_CONFIGS = {"oct-2013": golden_config, "dec-2015": early_close_config}


@pytest.fixture(scope="module")
def golden_store(lean_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    store_root = tmp_path_factory.mktemp("golden") / "bars"
    symbols = [*CONFIG_SYMBOLS, SCANNED, "GOOG", "FOXA"]
    import_lean(lean_root, BarStore(store_root, get_calendar("XNYS")), symbols=symbols)
    return store_root


@pytest.fixture(scope="module", params=sorted(GOLDEN_CONFIGS))
def golden_run(
    request: pytest.FixtureRequest, golden_store: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GoldenRun]:
    folder = tmp_path_factory.mktemp(f"golden-{request.param}")
    log = open_store(f"sqlite:///{folder / 'golden.db'}")
    try:
        config = GOLDEN_CONFIGS[request.param](golden_store)
        yield GoldenRun(request.param, log, run_session(log, config, RunOptions()), golden_store)
    finally:
        log.close()


def event_trail(run: GoldenRun) -> Trail:
    rows = [(row.session_date, row.seq, row.kind, row.payload_json) for row in run.log.events(run.result.run_id)]
    digest = hashlib.sha256()
    streams: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    events = []
    for session_date, seq, kind, payload in rows:
        day = str(session_date)
        text = canonical_json(read_payload(payload)).replace(str(run.store_root), "<store>")
        line = f"{day}\t{seq}\t{kind}\t{text}\n".encode()
        digest.update(line)
        streams[day] += 1
        kinds[kind] += 1
        events.append(f"{day} {seq} {kind} {hashlib.sha256(line).hexdigest()[:12]}")
    return Trail(digest.hexdigest(), dict(sorted(streams.items())), dict(sorted(kinds.items())), events)


def describe_change(trail: Trail, pinned: dict[str, Any]) -> str:
    """What differs from the pinned run: the first event, the counts, and how to re-pin once explained."""
    old, new = pinned["events"], trail.events
    first = next((i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b), min(len(old), len(new)))
    lines = [
        f"the golden run's events changed: digest {trail.digest[:16]}..., pinned {pinned['digest'][:16]}...",
        f"first difference at event {first + 1}: pinned {old[first] if first < len(old) else '(none)'}, "
        f"now {new[first] if first < len(new) else '(none)'}",
    ]
    if trail.streams != pinned["streams"]:
        lines.append(f"events per stream: pinned {pinned['streams']}, now {trail.streams}")
    kinds = sorted(set(trail.kinds) | set(pinned["kinds"]))
    changed = {k: (pinned["kinds"].get(k, 0), trail.kinds.get(k, 0)) for k in kinds}
    changed = {k: v for k, v in changed.items() if v[0] != v[1]}
    if changed:
        lines.append(f"events per kind (pinned, now): {changed}")
    lines.append(
        "Any change in behaviour changes this digest. Explain the change on the issue, then re-pin with: "
        + REPIN_COMMAND
    )
    return "\n".join(lines)


def test_the_golden_run_writes_the_pinned_events(golden_run: GoldenRun) -> None:
    trail = event_trail(golden_run)
    pinned_runs = json.loads(GOLDEN_FILE.read_text()) if GOLDEN_FILE.exists() else {}
    if os.environ.get(REPIN_VARIABLE):
        pinned_runs[golden_run.name] = trail.as_json()
        GOLDEN_FILE.write_text(json.dumps(dict(sorted(pinned_runs.items())), indent=1) + "\n")
        return
    if golden_run.name not in pinned_runs:
        pytest.fail(f"{GOLDEN_FILE} has no {golden_run.name} run; pin the golden runs with: {REPIN_COMMAND}")
    pinned = pinned_runs[golden_run.name]
    if trail.digest != pinned["digest"]:
        pytest.fail(f"{golden_run.name}: {describe_change(trail, pinned)}", pytrace=False)


def test_the_golden_run_is_clean_and_provisions_what_it_was_asked(golden_run: GoldenRun) -> None:
    calendar = get_calendar("XNYS")
    result = golden_run.result
    report = audit_run(golden_run.log, result.run_id)
    assert result.status == "completed"
    assert report.ok and report.events == len(event_trail(golden_run).events)
    if golden_run.name == "dec-2015":
        check_the_early_close_run(golden_run)
        return
    assert [s.date for s in result.sessions] == [date(2013, 10, 8), date(2013, 10, 9), date(2013, 10, 10)]
    for session in result.sessions:
        assert session.status == "ended" and session.symbols == sorted([*CONFIG_SYMBOLS, SCANNED])
        state = replay_day(golden_run.log, result.run_id, session.date)
        for symbol in CONFIG_SYMBOLS:
            data = state.symbols[symbol]
            assert (data.state, data.added_by, data.upgraded_from_adhoc) == ("full", "config", False)
        scanned = state.symbols[SCANNED]
        assert (scanned.state, scanned.added_by, scanned.auto_provisioned, scanned.upgraded_from_adhoc) == (
            "full",
            "strategy",
            True,
            True,
        )
        assert scanned.added_at == calendar.open(session.date) + timedelta(minutes=30)
        assert set(scanned.bars) == {"1m", "5m", "15m"} and set(scanned.indicators) == {"sma_20_5m", "rsi_14_1m"}
        assert scanned.quality is not None and scanned.historical is not None


def check_the_early_close_run(run: GoldenRun) -> None:
    """Christmas Eve ends at 13:00: 210 minutes, 4 hourly bars (the last one 12:30-13:00), every indicator
    warm; FOXA is upgraded there and rejected on the 28th, when the store has no bars of it."""
    calendar = get_calendar("XNYS")
    result = run.result
    assert [(s.date, s.status) for s in result.sessions] == [(EARLY_CLOSE, "ended"), (AFTER_CHRISTMAS, "ended")]
    assert calendar.is_early_close(EARLY_CLOSE) and not calendar.is_early_close(AFTER_CHRISTMAS)
    assert result.sessions[0].symbols == ["FOXA", "GOOG"] and result.sessions[1].symbols == ["GOOG"]
    assert result.sessions[1].rejected == {"FOXA": "FOXA: no 1m bars in the store for the session 2015-12-28"}
    for day, minutes, hours in ((EARLY_CLOSE, 210, 4), (AFTER_CHRISTMAS, 390, 7)):
        state = replay_day(run.log, result.run_id, day)
        goog = state.symbols["GOOG"]
        assert goog.quality is not None and goog.quality.expected == minutes
        assert {key: bars.count for key, bars in goog.bars.items() if key != "1m"} == {
            "5m": -(-minutes // 5),
            "15m": -(-minutes // 15),
            "1h": hours,
        }
        assert sorted(goog.indicators) == sorted(SEVEN_INDICATORS)
        assert all(indicator.valid for indicator in goog.indicators.values())
        assert {i.last_updated for i in goog.indicators.values()} == {calendar.close(day)}
    foxa = replay_day(run.log, result.run_id, EARLY_CLOSE).symbols["FOXA"]
    assert (foxa.state, foxa.added_by, foxa.upgraded_from_adhoc) == ("full", "strategy", True)
