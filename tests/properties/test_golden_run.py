"""The golden run: a small fixed session on the real LEAN data whose events are pinned by digest.

SPY, AIG and BAC in full over 2013-10-08..2013-10-10 (1m + 5m + 15m, one trailing session, sma_20_5m and
rsi_14_1m), with the example plugins: ListScanner asks for IBM's sma_20_5m at 10:00 (IBM arrives ad hoc)
and UpgradeStrategy asks for IBM in full at 11:00 (IBM is upgraded). `daytape.runner.run_session` writes
it to a SQLite log.

The digest is sha256 over every stream's (date, seq, kind, canonical payload) in order, the payload in
eventlog.hashing's canonical form; run ids and recorded times are not in it, and the store's folder, which
validation results name, is written as `<store>`. Any change in behaviour (an event more or less, a changed
payload, another order) changes the digest, and must be explained on the issue before it is re-pinned:

    DAYTAPE_REPIN_GOLDEN=1 .venv/bin/pytest tests/properties/test_golden_run.py

rewrites tests/properties/golden.json (the digest, the counts per stream and kind, and a short hash per
event, so that a failure names the first event that differs).
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

GOLDEN_FILE = Path(__file__).with_name("golden.json")
REPIN_VARIABLE = "DAYTAPE_REPIN_GOLDEN"
REPIN_COMMAND = f"{REPIN_VARIABLE}=1 .venv/bin/pytest tests/properties/test_golden_run.py"
CONFIG_SYMBOLS = ["SPY", "AIG", "BAC"]
SCANNED = "IBM"
SMA_20_5M = {"type": "sma", "period": 20, "interval": "5m"}
RSI_14_1M = {"type": "rsi", "period": 14, "interval": "1m"}


@dataclass(frozen=True)
class GoldenRun:
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


@pytest.fixture(scope="module")
def golden_run(lean_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoldenRun]:
    folder = tmp_path_factory.mktemp("golden")
    store_root = folder / "bars"
    import_lean(lean_root, BarStore(store_root, get_calendar("XNYS")), symbols=[*CONFIG_SYMBOLS, SCANNED])
    log = open_store(f"sqlite:///{folder / 'golden.db'}")
    try:
        yield GoldenRun(log, run_session(log, golden_config(store_root), RunOptions()), store_root)
    finally:
        log.close()


def event_trail(run: GoldenRun) -> Trail:
    rows = run.log.fetch(
        "SELECT session_date, seq, kind, payload_json FROM events WHERE run_id = ? ORDER BY session_date, seq",
        (run.result.run_id,),
    )
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
    if os.environ.get(REPIN_VARIABLE):
        GOLDEN_FILE.write_text(json.dumps(trail.as_json(), indent=1) + "\n")
        return
    if not GOLDEN_FILE.exists():
        pytest.fail(f"{GOLDEN_FILE} is missing; pin the golden run with: {REPIN_COMMAND}")
    pinned = json.loads(GOLDEN_FILE.read_text())
    if trail.digest != pinned["digest"]:
        pytest.fail(describe_change(trail, pinned), pytrace=False)


def test_the_golden_run_is_clean_and_provisions_what_it_was_asked(golden_run: GoldenRun) -> None:
    calendar = get_calendar("XNYS")
    result = golden_run.result
    assert result.status == "completed"
    assert [s.date for s in result.sessions] == [date(2013, 10, 8), date(2013, 10, 9), date(2013, 10, 10)]
    report = audit_run(golden_run.log, result.run_id)
    assert report.ok and report.events == len(event_trail(golden_run).events)
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
