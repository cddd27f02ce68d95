"""`python -m benchmarks [--quick] [--only NAME,...]`: every benchmark, peer figures beside ours.

Writes `benchmarks/results.json` with the keys CONTRACT.md names, the
machine (cpu, cores), the interpreter (version, build, a reference speed:
see benchmarks/interpreter.py) and the date. Each benchmark module exposes
`run(quick: bool) -> dict`; the figures are printed as they come.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from benchmarks.interpreter import describe, reference_us
from marketdata.clock import utc_now

MODULES = (
    "benchmarks.bench_bars",
    "benchmarks.bench_indicators",
    "benchmarks.bench_eventlog",
    "benchmarks.bench_history",
    "benchmarks.bench_stream",
    "benchmarks.bench_parallel",
    "benchmarks.bench_scale",
    "benchmarks.bench_startup",
    "benchmarks.bench_report",
    "benchmarks.bench_e2e",
    "benchmarks.bench_feed",
)

#: (our key, peer key or None, ">=" or "<=", the target, its unit as printed after it) for the summary table.
SUMMARY: tuple[tuple[str, str | None, str, float, str], ...] = (
    ("stream_bars_per_s", "backtrader_bars_per_s", ">=", 1_000_000, " bars/s"),
    ("ratio_vs_backtrader", None, ">=", 30, "x backtrader"),
    ("append_events_per_s", "append_events_per_s_postgres", ">=", 200_000, " events/s"),
    ("replay_events_per_s", "replay_events_per_s_postgres", ">=", 300_000, " events/s"),
    ("history_load_ratio_vs_pyarrow", None, "<=", 1.5, "x pyarrow"),
    ("history_peak_mem_ratio", None, "<=", 1.5, "x the raw bytes"),
    ("batch_worst_ratio_vs_talib", None, "<=", 3, "x TA-Lib, each indicator"),
    ("startup_version_ratio_vs_python", None, "<=", 3, "x python -c pass (--version)"),
    ("startup_ratio_vs_python", None, "<=", 3, "x python -c pass (--help)"),
    ("startup_runs_ratio_vs_python", None, "<=", 6, "x python -c pass (runs)"),
    ("replay_cli_100_symbols_s", "startup_python_s", "<=", 0.5, " s (peer: python -c pass)"),
    ("e2e_ratio_vs_nautilus", None, ">=", 10, "x nautilus_trader"),
    ("e2e_ratio_vs_backtrader", None, ">=", 300, "x backtrader"),
    ("provision_cpu_ms_per_symbol_day", None, "<=", 0.5, " CPU ms/symbol-day"),
    ("plugin_read_us", None, "<=", 0.5, " us a read"),
    ("workers2_speedup", None, ">=", 1.7, "x serial"),
    ("log_bytes_per_symbol_day", None, "<=", 3000, " bytes/symbol-day"),
    ("feed_minute_s", None, "<=", 1.0, " s for a minute of 8,000 symbols"),
    ("feed_live_minute_s", "feed_minute_s", "<=", 1.0, " s: received, taped, stepped (peer: received)"),
    ("feed_live_minute_cpu_s", None, "<=", 1.0, " CPU s of that minute (one core)"),
    ("feed_tape_append_events_per_s", "feed_backtest_append_events_per_s", ">=", 200_000, " events/s (peer: backtest)"),
)


def summary_lines(results: dict[str, Any]) -> list[str]:
    """One line per SUMMARY figure the run measured: ours, the peer's, the target and whether it is met
    (not said for a --quick run, whose smaller workloads are not what the targets are set for)."""
    lines = []
    for key, peer, op, bound, unit in SUMMARY:
        if key not in results:
            continue
        value = results[key]
        met = value >= bound if op == ">=" else value <= bound
        verdict = "(quick run)" if results.get("quick") else "met" if met else "NOT MET"
        target = f"{op} {_fmt(bound)}{unit}"
        lines.append(
            f"  {key:<32} {_fmt(value):>14} | {_fmt(results.get(peer)) if peer else '':>14} | {target:<34} {verdict}"
        )
    return lines


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return "-" if value is None else str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small version for CI smoke tests")
    parser.add_argument("--only", default="", help="comma-separated module names, e.g. bench_stream,bench_history")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.json")))
    args = parser.parse_args(argv)
    wanted = {name.strip() for name in args.only.split(",") if name.strip()}

    results: dict[str, Any] = {
        "date": utc_now().isoformat(timespec="seconds"),
        "quick": args.quick,
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        **describe(quick=args.quick),
    }
    for key in ("cpu", "cores", "python_executable", "python_build", "python_reference_us"):
        print(f"   {key:<40} {_fmt(results[key])}", file=sys.stderr, flush=True)
    for name in MODULES:
        if wanted and name.rsplit(".", 1)[1] not in wanted:
            continue
        print(f"== {name}", file=sys.stderr, flush=True)
        module = importlib.import_module(name)
        figures = module.run(quick=args.quick)
        for key, value in figures.items():
            print(f"   {key:<40} {_fmt(value)}", file=sys.stderr, flush=True)
        results.update(figures)
    # Measured again at the end: on a shared machine the CPU's speed can change during a run, and a
    # reference that moved says so.
    results["python_reference_us_end"] = reference_us(quick=args.quick)
    print(f"   {'python_reference_us_end':<40} {_fmt(results['python_reference_us_end'])}", file=sys.stderr)

    print("\nsummary (ours | peer | target, on this machine)")
    print("\n".join(summary_lines(results)))
    Path(args.out).write_text(json.dumps(results, indent=2, default=str) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
