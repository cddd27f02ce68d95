"""CI's smoke run of the benchmarks: `python -m benchmarks --quick` runs every benchmark and writes the
keys CONTRACT.md names. It checks that the figures exist, never how fast they are."""

import json
import subprocess
import sys

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
    assert figures["workers2_same_events"] is True
    assert "summary (ours | peer | target)" in result.stdout
