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
from tests.report.conftest import OCTOBER_LOOKAHEAD, PEEKING_DAY, PEEKING_LOOKAHEAD


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


def verify_json(log_url: str, run_id: str, *flags: str) -> tuple[int, dict]:
    result = cli("verify", run_id, *flags, "--json", "--log", log_url)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def shown_warmup_checks(day: dict) -> list[tuple]:
    return [
        (c["symbol"], c["indicator"], c["history_sessions"], c["history_bars"], c["max_rel_diff"], c["ok"])
        for c in day["proofs"]["warmup"]["checks"]
    ]


def verified_warmup_checks(report: dict, date: str) -> list[tuple]:
    return [
        (c["symbol"], c["indicator"], c["history_sessions"], c["history_bars"], c["max_rel_diff"],
         c["max_rel_diff"] <= report["tolerance"])
        for c in report["checks"]
        if c["date"] == date
    ]  # fmt: skip


def test_the_proofs_of_each_day_are_verifys(october_report):
    page, _, log_url, run_id = october_report
    data = page_data(page)
    _, warmup = verify_json(log_url, run_id, "--warmup")
    _, lookahead = verify_json(log_url, run_id, *OCTOBER_LOOKAHEAD)
    assert warmup["ok"] and lookahead["ok"]
    for day in data["days"]:
        proofs = day["proofs"]
        assert proofs["warmup"]["ok"] and proofs["warmup"]["tolerance"] == 1e-6
        assert proofs["warmup"]["factors"] == [2, 4]
        assert shown_warmup_checks(day) == verified_warmup_checks(warmup, day["date"])
        assert proofs["lookahead"]["ok"] and proofs["lookahead"]["samples"] == 2 and proofs["lookahead"]["seed"] == 7
        assert proofs["lookahead"]["plugins"] == lookahead["plugins"]
        moments = [m for m in lookahead["moments"] if m["date"] == day["date"]]
        assert [(m["t_utc"], m["calls_compared"], m["identical"]) for m in proofs["lookahead"]["moments"]] == [
            (m["t"], m["calls_compared"], m["identical"]) for m in moments
        ]
        assert len(moments) == 2
    compared = [c for d in data["days"] for c in d["proofs"]["warmup"]["checks"] if c["max_rel_diff"] is not None]
    assert compared and any(x["rel_diff"] is not None for c in compared for x in c["longer"])


def test_a_run_that_fails_both_proofs_shows_by_how_much_and_where(peeking_report):
    page, _, log_url, run_id = peeking_report
    (day,) = page_data(page)["days"]
    assert day["date"] == PEEKING_DAY.isoformat()
    code, warmup = verify_json(log_url, run_id, "--warmup")
    assert code == 1
    shown = day["proofs"]["warmup"]
    assert not shown["ok"] and shown_warmup_checks(day) == verified_warmup_checks(warmup, day["date"])
    assert {c["indicator"] for c in shown["checks"]} == {"ema_20_5m"}
    assert not any(c["ok"] for c in shown["checks"])  # AAA's, and BBB's (the strategy added it)
    assert max(c["max_rel_diff"] for c in shown["checks"]) == warmup["indicators"]["ema_20_5m"]["max_rel_diff"] > 1e-6
    code, lookahead = verify_json(log_url, run_id, *PEEKING_LOOKAHEAD)
    assert code == 1
    ahead = day["proofs"]["lookahead"]
    assert not ahead["ok"]
    assert [(m["t_utc"], m["identical"], m["first_difference"]) for m in ahead["moments"]] == [
        (m["t"], m["identical"], m["first_difference"]) for m in lookahead["moments"]
    ]
    # it reads at 10:00 New York (14:00 UTC in March after the clocks change) a bar closing 5 hours later
    differing = [m for m in ahead["moments"] if not m["identical"]]
    assert differing and all("BackDoorPeeker.on_step at 2024-03-12T14:00:00+00:00" in m["first_difference"]
                             for m in differing)  # fmt: skip


def test_without_lookahead_the_page_has_the_warm_up_proof_only(demo_report):
    page, _, log_url, run_id = demo_report
    (day,) = page_data(page)["days"]
    _, warmup = verify_json(log_url, run_id, "--warmup")
    assert day["proofs"]["lookahead"] is None
    assert shown_warmup_checks(day) == verified_warmup_checks(warmup, day["date"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuchrun", "--out", "{tmp}/r.html"], "nosuchrun"),
        (["{run}", "--date", "2023-13-01", "--out", "{tmp}/r.html"], "--date"),
        (["{run}", "--date", "2023-11-23", "--out", "{tmp}/r.html"], "has no session 2023-11-23"),
        (["{run}", "--out", "{tmp}/no/such/folder/r.html"], "no such folder"),
        (["{run}", "--samples", "2", "--out", "{tmp}/r.html"], "--samples: goes with --lookahead"),
        (["{run}", "--seed", "2", "--out", "{tmp}/r.html"], "--seed: goes with --lookahead"),
        (["{run}", "--lookahead", "--samples", "0", "--out", "{tmp}/r.html"], "--samples: must be at least 1"),
        (["{run}", "--tolerance", "-1", "--out", "{tmp}/r.html"], "--tolerance: must be a number at least 0"),
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
