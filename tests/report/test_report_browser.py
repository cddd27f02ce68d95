"""The report in a real headless Chromium, offline: lanes, markers, a marker's explain chain, the scrubber,
no console errors, no request leaving the file; a screenshot goes to the test log dir."""

from __future__ import annotations

import json

import pytest

import daytape
from tests.e2e.conftest import daytape as cli
from tests.report.chromium import find_chromium, open_page, pick_symbol

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
STATE_ROWS = "[...document.querySelectorAll('#state tbody tr')].map(r => [...r.cells].map(c => c.innerText))"


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
