"""CI's smoke run of the benchmarks: `python -m benchmarks --quick` runs every benchmark and writes the
keys CONTRACT.md names. It checks that the figures exist, never how fast they are."""

import json
import re
import subprocess
import sys

from benchmarks.__main__ import summary_lines
from tests.conftest import REPO_ROOT

CONTRACT_KEYS = (
    "stream_bars_per_s",
    "backtrader_bars_per_s",
    "ratio_vs_backtrader",
    "append_events_per_s",
    "replay_events_per_s",
    "history_load_ratio_vs_pyarrow",
    "history_peak_mem_ratio",
)


def test_quick_benchmarks_write_every_contract_key(tmp_path):
    out = tmp_path / "results.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    figures = json.loads(out.read_text())
    for key in CONTRACT_KEYS:
        assert isinstance(figures[key], int | float) and figures[key] > 0, key
    for key in ("cpu", "cores", "python", "python_executable", "python_build", "date"):
        assert figures[key]
    for key in ("python_reference_us", "python_reference_us_end"):
        assert set(figures[key]) == {"json_loads", "python_objects"}
        assert all(value > 0 for value in figures[key].values())
    assert figures["workers2_same_events"] is True and figures["parallel_workers2_same_events"] is True
    for key in (
        "e2e_bars_per_s",
        "provision_cpu_ms_per_symbol_day",
        "plugin_read_us",
        "workers2_speedup",
        "log_bytes_per_symbol_day",
        "feed_minute_s",
        "feed_frames_per_s",
        "feed_live_minute_s",
        "feed_live_minute_cpu_s",
        "feed_tape_append_events_per_s",
        "feed_backtest_append_events_per_s",
    ):
        assert isinstance(figures[key], int | float) and figures[key] > 0, key
    for workers in (1, 2, 4):
        assert figures[f"scale_days_per_s_workers{workers}"] > 0
    assert figures["scale_same_events"] is True
    if figures.get("scale_pg_skipped") is None:
        assert figures["scale_pg_events_per_s_workers4"] > 0 and figures["scale_pg_events"] > 0
    assert figures["e2e_nautilus"].startswith("not run") and figures["e2e_backtrader"].startswith("not run")
    assert [(p["symbols"], p["sessions"]) for p in figures["scale_curve"]] == [(1, 2), (4, 2), (4, 1)]
    for key in ("startup_ratio_vs_python", "startup_runs_ratio_vs_python", "replay_cli_100_symbols_s"):
        assert figures[key] > 0, key
    assert "summary (ours | peer | target, on this machine)" in result.stdout
    assert re.search(r"^  batch_worst_ratio_vs_talib .* \(quick run\)$", result.stdout, re.MULTILINE)


def test_the_summary_says_which_targets_this_machine_meets() -> None:
    lines = summary_lines(
        {
            "replay_events_per_s": 260_388.4,
            "replay_events_per_s_postgres": 232_502.0,
            "append_events_per_s": 250_107.0,
            "batch_worst_ratio_vs_talib": 4.31,
            "history_peak_mem_ratio": 1.5,
        }
    )
    by_key = {line.split()[0]: line for line in lines}
    assert set(by_key) == {
        "append_events_per_s",
        "replay_events_per_s",
        "history_peak_mem_ratio",
        "batch_worst_ratio_vs_talib",
    }
    assert by_key["append_events_per_s"].endswith(" met")
    assert "260,388 |" in by_key["replay_events_per_s"] and "232,502" in by_key["replay_events_per_s"]
    assert by_key["replay_events_per_s"].endswith("NOT MET")
    assert by_key["history_peak_mem_ratio"].endswith(" met")  # the bound itself meets it
    assert ">= 300,000 events/s" in by_key["replay_events_per_s"]
    assert by_key["batch_worst_ratio_vs_talib"].endswith("NOT MET")
    assert all(line.endswith("(quick run)") for line in summary_lines({"quick": True, "append_events_per_s": 1.0}))
