"""The report in a real headless Chromium, offline: lanes, markers, a marker's explain chain, the scrubber,
no console errors, no request leaving the file; a screenshot goes to the test log dir."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest

import daytape
from tests.e2e.conftest import daytape as cli
from tests.report.chromium import find_chromium, open_page, pick_symbol
from tests.report.conftest import OCTOBER_LOOKAHEAD, PEEKING_LOOKAHEAD

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="no chromium on PATH (.ci/run installs Debian's chromium with apt-get where it can)",
)

LANES = "[...document.querySelectorAll('#lanes .lane')].map(e => e.dataset.symbol)"
EXPLAIN = "document.querySelector('#explain').innerText"
SHOWN = "document.querySelector('#explain').dataset.request"
CHART_MARKERS = (
    "[...document.querySelectorAll('.chart')].map(c => ({interval: c.dataset.interval,"
    " drawn: c.querySelectorAll('.scatterlayer .trace:last-child path.point').length,"
    " data: c.data.find(t => t.name === 'provisioned').x.length}))"
)
#: Per trace of every chart: the type page.js asked for, the type plotly drew and whether it is shown (plotly
#: draws a trace whose type its bundle lacks as a scatter, silently: no console error).
TRACES = (
    "[...document.querySelectorAll('.chart')].flatMap(c => c.data.map((t, i) =>"
    " [t.type, c._fullData[i].type, c._fullData[i].visible]))"
)
PROOFS = (
    "(() => { const p = document.querySelector('#proofs'); return {verdicts: {...p.dataset},"
    " summary: document.querySelector('#proof-summary').innerText,"
    " warmup: document.querySelector('#warmup-verdict').innerText,"
    " lookahead: document.querySelector('#lookahead-verdict').innerText,"
    " warmup_rows: document.querySelectorAll('#warmup tbody tr').length,"
    " failed_rows: [...document.querySelectorAll('#warmup tbody tr.failed')].map(r => r.dataset.indicator),"
    " moments: [...document.querySelectorAll('#lookahead tbody tr')].map(r => [r.dataset.t,"
    " r.classList.contains('failed')])}; })()"
)
STATE_ROWS = "[...document.querySelectorAll('#state tbody tr')].map(r => [...r.cells].map(c => c.innerText))"


def verified(log_url: str, run_id: str, *flags: str) -> dict:
    """What `daytape verify RUN ... --json` says of the run (exit 0 or 1)."""
    result = cli("verify", run_id, *flags, "--json", "--log", log_url)
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def first_local(utc: str) -> str:
    """A moment as the page prints it: New York wall-clock HH:MM:SS."""
    return dt.datetime.fromisoformat(utc).astimezone(ZoneInfo("America/New_York")).strftime("%H:%M:%S")


def requests_of(log_url: str, run_id: str, date: str):
    with daytape.open_log(log_url) as log:
        return log.run(run_id).day(date).requests()


def scrub_to(first_seq: int) -> str:
    """Move the scrubber to the first step at or after `first_seq`; the value is that step's seq."""
    return (
        "(() => { const r = document.querySelector('#scrubber');"
        " const points = window.daytapeReport.day().checkpoints;"
        f" const i = points.findIndex(p => p.seq >= {first_seq}); r.value = String(i);"
        " r.dispatchEvent(new Event('input')); return points[i].seq; })()"
    )


def test_the_lean_report_in_chromium(october_report, log_dir):
    page, _, log_url, run_id = october_report
    requests = requests_of(log_url, run_id, "2013-10-08")
    scanner = str(requests[(requests.symbol == "IBM") & (requests.source == "scanner")].index[0])
    seen = open_page(
        page,
        [
            ("eval", "lanes", LANES),
            ("eval", "markers", CHART_MARKERS),
            ("click", f'.mark[data-request="{scanner}"]'),
            ("eval", "shown", SHOWN),
            ("eval", "explain", EXPLAIN),
            ("eval", "proofs", PROOFS),
            ("eval", "traces", TRACES),
        ],
    )
    shot = log_dir / "report-lean.png"
    shot.write_bytes(seen.screenshot)
    print(f"the LEAN report opened in {seen.load_seconds:.2f} s; screenshot: {shot}")
    assert seen.errors == []
    assert seen.outside_requests == []
    assert seen.facts["lanes"] == ["AIG", "BAC", "IBM", "SPY"]
    markers = seen.facts["markers"]
    assert [m["interval"] for m in markers] == ["1m", "5m", "15m"]  # of AIG, the first symbol
    assert all(m["drawn"] == m["data"] >= 1 for m in markers), markers
    assert seen.facts["shown"] == scanner
    explain = seen.facts["explain"]
    assert "scanner asked for indicator sma_20_5m of IBM" in explain
    assert "daytape.examples:ListScanner" in explain
    assert "registered sma_20_5m" in explain and "RequestCompleted" in explain
    assert seen.screenshot.startswith(b"\x89PNG")
    # the vendored partial bundle has every trace type the page draws
    traces = seen.facts["traces"]
    assert {asked for asked, _, _ in traces} == {"candlestick", "scatter"}
    assert all(asked == drawn and shown is True for asked, drawn, shown in traces), traces
    # the first day's proofs, as `verify --warmup` and `verify --lookahead --samples 2 --seed 7` find them
    proofs = seen.facts["proofs"]
    warmup, lookahead = verified(log_url, run_id, "--warmup"), verified(log_url, run_id, *OCTOBER_LOOKAHEAD)
    assert warmup["ok"] and lookahead["ok"]
    assert proofs["verdicts"] == {"warmup": "passed", "lookahead": "passed"}
    assert proofs["summary"] == "Proofs of the day: warm-up passed · look-ahead passed"
    assert proofs["warmup"].startswith("passed: of ") and "tolerance 1e-6" in proofs["warmup"]
    assert proofs["warmup_rows"] == len([c for c in warmup["checks"] if c["date"] == "2013-10-08"])
    assert proofs["failed_rows"] == []
    assert proofs["lookahead"].startswith("passed: at 2 moments (seed 7)")
    assert proofs["moments"] == [[m["t"], False] for m in lookahead["moments"] if m["date"] == "2013-10-08"]


def test_a_chart_marker_and_the_scrubber_in_chromium(demo_report, log_dir):
    page, _, log_url, run_id = demo_report
    day = "2023-11-24"
    requests = requests_of(log_url, run_id, day)
    scanner = str(requests[(requests.symbol == "TSLA") & (requests.source == "scanner")].index[0])
    with daytape.open_log(log_url) as log:
        events = log.run(run_id).day(day).events()
    upgrade = str(requests[(requests.symbol == "TSLA") & (requests.source == "strategy")].index[0])
    before_upgrade = int(events[events.request_id == upgrade].index[0]) - 1
    seen = open_page(
        page,
        [
            ("eval", "symbol", pick_symbol("TSLA")),
            ("click", '.chart[data-interval="5m"] .scatterlayer .trace:last-child path.point'),
            ("eval", "shown", SHOWN),
            ("eval", "explain", EXPLAIN),
            ("eval", "scrubbed", scrub_to(before_upgrade)),
            ("eval", "state", STATE_ROWS),
        ],
    )
    (log_dir / "report-demo.png").write_bytes(seen.screenshot)
    assert seen.errors == [] and seen.outside_requests == []
    assert seen.facts["symbol"] == "TSLA"
    assert seen.facts["shown"] == scanner
    assert "scanner asked for indicator sma_20_5m of TSLA" in seen.facts["explain"]
    seq = seen.facts["scrubbed"]
    replayed = json.loads(cli("replay", run_id, "--date", day, "--until", str(seq), "--json", "--log", log_url).stdout)
    rows = {row[0]: row[1] for row in seen.facts["state"]}
    expected = {s: d["state"] for s, d in replayed["symbols"].items()}
    expected.update(dict.fromkeys(replayed["rejected"], "rejected"))
    assert rows == expected
    assert rows["TSLA"] == "adhoc"


def test_a_failing_run_shows_both_proofs_failed_in_chromium(peeking_report, log_dir):
    page, _, log_url, run_id = peeking_report
    seen = open_page(page, [("eval", "proofs", PROOFS)])
    (log_dir / "report-proofs-failed.png").write_bytes(seen.screenshot)
    assert seen.errors == [] and seen.outside_requests == []
    proofs = seen.facts["proofs"]
    warmup, lookahead = verified(log_url, run_id, "--warmup"), verified(log_url, run_id, *PEEKING_LOOKAHEAD)
    assert not warmup["ok"] and not lookahead["ok"]
    assert proofs["verdicts"] == {"warmup": "failed", "lookahead": "failed"}
    assert proofs["summary"] == "Proofs of the day: warm-up failed · look-ahead failed"
    assert proofs["failed_rows"] == ["AAA ema_20_5m", "BBB ema_20_5m"]
    assert proofs["warmup"].startswith("failed: ema_20_5m of AAA moved by ")
    assert proofs["warmup"].endswith("(tolerance 1e-6): its warm-up was too short")
    first = next(m for m in lookahead["moments"] if not m["identical"])
    said = f"failed: at t={first_local(first['t'])} the first plugin call that differed: {first['first_difference']}"
    assert proofs["lookahead"] == said
    assert proofs["moments"] == [[m["t"], not m["identical"]] for m in lookahead["moments"]]
