"""`python -m benchmarks [--quick] [--only NAME,...]`: every benchmark, peer figures beside ours.

Writes `benchmarks/results.json` with the keys CONTRACT.md names, the
machine (cpu, cores), the interpreter (version, build, a reference speed:
see benchmarks/interpreter.py) and the date. Each benchmark module exposes
`run(quick: bool) -> dict`; the figures are printed as they come.

A module listed in MODULES that this tree does not have is reported missing (`missing_modules`), not an
error: some come with other work. A figure more than one module measures is taken from the first of
PREFERRED[key] that measured it (the module that owns it), and `figure_sources` says which one gave it.
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
    "benchmarks.bench_logsize",
    "benchmarks.bench_history",
    "benchmarks.bench_stream",
    "benchmarks.bench_parallel",
    "benchmarks.bench_scale",
    "benchmarks.bench_startup",
    "benchmarks.bench_runstart",
    "benchmarks.bench_report",
    "benchmarks.bench_provision",
    "benchmarks.bench_e2e",
    "benchmarks.bench_scale_curve",
    "benchmarks.bench_feed",
)

#: The issue-21 figures, and the modules that measure each, the one that owns it first.
PREFERRED: dict[str, tuple[str, ...]] = {
    "e2e_bars_per_s": ("bench_e2e",),
    "e2e_ratio_vs_nautilus": ("bench_e2e",),
    "e2e_ratio_vs_backtrader": ("bench_e2e",),
    "provision_cpu_ms_per_symbol_day": ("bench_provision", "bench_e2e"),
    "plugin_read_us": ("bench_e2e",),
    "startup_ratio_vs_python": ("bench_startup",),
    "workers2_speedup": ("bench_e2e",),
    "log_bytes_per_symbol_day": ("bench_eventlog", "bench_e2e"),
}

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
    ("runstart_big_store_s", "runstart_whole_store_digest_big_s", "<=", 0.1, " s (peer: whole-store digest)"),
    ("runstart_ratio_big_vs_small", None, "<=", 2, "x a small store's run start"),
    ("e2e_ratio_vs_nautilus", None, ">=", 10, "x nautilus_trader"),
    ("e2e_ratio_vs_backtrader", None, ">=", 300, "x backtrader"),
    ("provision_cpu_ms_per_symbol_day", "provision_uncached_cpu_ms_per_symbol_day", "<=", 0.5, " CPU ms/symbol-day"),
    ("plugin_read_us", None, "<=", 0.5, " us a read"),
    ("workers2_speedup", None, ">=", 1.7, "x serial (wall, as loaded)"),
    ("workers2_cpu_bound_speedup", None, ">=", 1.7, "x serial (CPU-bound estimate)"),
    ("log_bytes_per_symbol_day", None, "<=", 3000, " bytes/symbol-day"),
    ("feed_minute_s", None, "<=", 1.0, " s for a minute of 8,000 symbols"),
    ("feed_live_minute_s", "feed_minute_s", "<=", 1.0, " s: received, taped, stepped (peer: received)"),
    ("feed_live_minute_cpu_s", None, "<=", 1.0, " CPU s of that minute (one core)"),
    ("feed_tape_append_events_per_s", "feed_backtest_append_events_per_s", ">=", 200_000, " events/s (peer: backtest)"),
)


def summary_lines(results: dict[str, Any]) -> list[str]:
    """One line per SUMMARY figure: ours, the peer's, the target and whether it is met (not said for a
    --quick run, whose smaller workloads are not what the targets are set for). An issue-21 figure no
    module measured says so; other figures the run did not measure are left out (`--only`)."""
    lines = []
    for key, peer, op, bound, unit in SUMMARY:
        if not isinstance(results.get(key), int | float):
            if key in PREFERRED and not results.get("only"):
                target = f"{op} {_fmt(bound)}{unit}"
                why = results.get(key.replace("_ratio_vs_", "_"))  # a missing peer's reason
                lines.append(f"  {key:<32} {'-':>14} | {'':>14} | {target:<34} not measured{f': {why}' if why else ''}")
            continue
        value = results[key]
        met = value >= bound if op == ">=" else value <= bound
        verdict = "(quick run)" if results.get("quick") else "met" if met else "NOT MET"
        target = f"{op} {_fmt(bound)}{unit}"
        lines.append(
            f"  {key:<32} {_fmt(value):>14} | {_fmt(results.get(peer)) if peer else '':>14} | {target:<34} {verdict}"
        )
    return lines


def _import(name: str) -> Any:
    """The module, or None when this tree does not have it (an import error inside it still raises)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            return None
        raise


def preferred_figures(by_module: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Each PREFERRED figure from the first of its modules that measured it, and `figure_sources`."""
    chosen: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, modules in PREFERRED.items():
        for module in modules:
            if key in by_module.get(module, {}):
                chosen[key] = by_module[module][key]
                sources[key] = module
                break
    return {**chosen, "figure_sources": sources}


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
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
    results["only"] = sorted(wanted)
    by_module: dict[str, dict[str, Any]] = {}
    for name in MODULES:
        short = name.rsplit(".", 1)[1]
        if wanted and short not in wanted:
            continue
        print(f"== {name}", file=sys.stderr, flush=True)
        module = _import(name)
        if module is None:
            print(f"   missing: this tree has no {name}", file=sys.stderr, flush=True)
            results.setdefault("missing_modules", []).append(short)
            continue
        figures = module.run(quick=args.quick)
        for key, value in figures.items():
            print(f"   {key:<40} {_fmt(value)}", file=sys.stderr, flush=True)
        results.update(figures)
        by_module[short] = figures
    results.update(preferred_figures(by_module))
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
