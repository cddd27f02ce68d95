"""`daytape report` writes one self-contained page whose data says what the log says (no browser needed)."""

from __future__ import annotations

import base64
import gzip
import json
import re

import pytest

import daytape
from tests.conftest import REPO_ROOT
from tests.e2e.conftest import daytape as cli


def page_data(page) -> dict:
    """The page's data put back together: the run, each day, each day's charts by symbol."""
    text = page.read_text(encoding="utf-8")
    found = {
        ident: json.loads(body.replace("<\\/", "</"))
        for ident, body in re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>', text, re.S)
    }
    for ident, body in re.findall(r'<script type="application/gzip" id="([^"]+)">(.*?)</script>', text, re.S):
        found[ident] = json.loads(gzip.decompress(base64.b64decode(body)))
    document = found["daytape-data"]
    for index, day in enumerate(document["days"]):
        day.update(found[f"day-{index}"])
        day["charts"] = {symbol: found[f"chart-{index}-{symbol}"] for symbol in day.pop("chart_symbols")}
    return document


def test_the_page_loads_nothing_from_elsewhere(october_report):
    page, said, _, _ = october_report
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)\s*=", text, re.I)
    assert "@import" not in text
    size = page.stat().st_size
    assert f"({size / 1e6:.1f} MB, 3 session days)" in said


def test_one_lane_per_symbol_with_who_made_it(october_report):
    page, _, log_url, run_id = october_report
    data = page_data(page)
    with daytape.open_log(log_url) as log:
        run = log.run(run_id)
        for day, shown in zip(run.days, data["days"], strict=True):
            requests = day.requests()
            assert [lane["symbol"] for lane in shown["lanes"]] == sorted(set(requests.symbol))
            ibm = next(lane for lane in shown["lanes"] if lane["symbol"] == "IBM")
            assert [(s["state"], s["source"], s["plugin"]) for s in ibm["segments"]] == [
                ("adhoc", "scanner", "daytape.examples:ListScanner"),
                ("full", "strategy", "daytape.examples:UpgradeStrategy"),
            ]
            assert ibm["torn_down"] is not None
            assert {m["request_id"] for m in ibm["marks"]} == set(requests[requests.symbol == "IBM"].index)


def test_the_explain_chain_of_each_request_is_explains(october_report):
    page, _, log_url, run_id = october_report
    data = page_data(page)
    shown = data["days"][1]
    explained = json.loads(cli("explain", run_id, "IBM", "--date", shown["date"], "--json", "--log", log_url).stdout)
    for request in explained["requests"]:
        chain = shown["explain"][request["request_id"]]
        assert [(e["seq"], e["kind"], e["summary"]) for e in chain] == [
            (e["seq"], e["kind"], e["summary"]) for e in request["events"]
        ]


def test_charts_hold_the_day_and_its_warm_up(october_report):
    page, _, log_url, run_id = october_report
    data = page_data(page)
    day = data["days"][0]
    spy = day["charts"]["SPY"]
    assert set(spy) == {"1m", "5m", "15m"}
    with daytape.open_log(log_url) as log:
        bars = log.run(run_id).day(day["date"]).bars("SPY", "5m")
    five = spy["5m"]
    assert five["close"][five["history"] :] == [round(v, 6) for v in bars.close]
    assert five["history"] == 40  # sma_20_5m: 20 bars x warm-up multiplier 2
    assert set(five["indicators"]) == {"sma_20_5m"} and not five["indicators"]["sma_20_5m"]["oscillator"]
    assert spy["1m"]["indicators"]["rsi_14_1m"]["oscillator"]
    assert five["marks"] and all(m["request_id"] in day["explain"] for m in five["marks"])


def test_the_scrubber_steps_are_replay_until(october_report):
    page, _, log_url, run_id = october_report
    day = page_data(page)["days"][0]
    assert any(p["kind"] == "SessionEnded" for p in day["checkpoints"])
    for point in day["checkpoints"][:: max(1, len(day["checkpoints"]) // 4)]:
        replayed = json.loads(
            cli(
                "replay", run_id, "--date", day["date"], "--until", str(point["seq"]), "--json", "--log", log_url
            ).stdout
        )
        assert {s: d["state"] for s, d in point["symbols"].items()} == {
            s: d["state"] for s, d in replayed["symbols"].items()
        }
        assert point["rejected"] == replayed["rejected"]


def test_the_manifest_is_the_runs(october_report):
    page, _, log_url, _run_id = october_report
    run = page_data(page)["run"]
    listed = json.loads(cli("runs", "--json", "--log", log_url).stdout)[0]
    for key in ("run_id", "name", "status", "config_hash", "data_digest", "code_version", "seed"):
        assert run[key] == listed[key], key
    assert run["config"]["symbols"] == ["SPY", "AIG", "BAC"]


def test_the_demo_report_shows_the_rejection_the_gap_and_the_early_close(demo_report):
    page, said, _, _ = demo_report
    assert "1 session days" in said
    (day,) = page_data(page)["days"]
    assert day["date"] == "2023-11-24" and day["early_close"]
    rejected = [r for r in day["requests"] if r["outcome"] == "rejected"]
    assert [(r["symbol"], r["reason"]) for r in rejected] == [("NOSUCH", "NOSUCH: no 1m bars in the store")]
    spy = next(q for q in day["quality"] if q["symbol"] == "SPY" and q["interval"] == "1m")
    assert spy["count"] == 209 and [g["missing"] for g in spy["gaps"]] == [1]
    assert spy["gaps"][0]["end"] - spy["gaps"][0]["start"] == 60_000
    assert day["charts"]["SPY"]["1m"]["gaps"] == spy["gaps"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuchrun", "--out", "{tmp}/r.html"], "nosuchrun"),
        (["{run}", "--date", "2023-13-01", "--out", "{tmp}/r.html"], "--date"),
        (["{run}", "--date", "2023-11-23", "--out", "{tmp}/r.html"], "has no session 2023-11-23"),
        (["{run}", "--out", "{tmp}/no/such/folder/r.html"], "no such folder"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(demo_report, tmp_path, args, message):
    _, _, log_url, run_id = demo_report
    filled = [a.format(tmp=tmp_path, run=run_id) for a in args]
    result = cli("report", *filled, "--log", log_url)
    assert result.returncode == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_the_readme_first_backtest_ends_with_the_report_and_its_screenshot():
    readme = (REPO_ROOT / "README.md").read_text()
    section = readme.split("## Run your first backtest on real data", 1)[1].split("\n## ", 1)[0]
    commands = section.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert commands[-1].startswith(".venv/bin/daytape report RUN")
    assert section.rstrip().endswith("(docs/report.png)")
    assert (REPO_ROOT / "docs" / "report.png").read_bytes().startswith(b"\x89PNG")
