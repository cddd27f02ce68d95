"""The scale curve: wall and CPU of a whole `daytape run` of the end-to-end workload (bench_e2e) as the
symbols grow (1, 10, 100, 500 x 5 sessions) and as the sessions grow (10 symbols x 1, 5, 20, 60), with
the least-squares line through all the points: CPU (and wall) = fixed + per symbol-day x symbol-days.

The fixed cost is what a run pays whatever it reads (imports, the data digest, the run's start and
seal); the slope is what each symbol-day adds. Both are printed and kept (`scale_fixed_cpu_s`,
`scale_cpu_ms_per_symbol_day`, and the same for wall), so they can be compared run to run. CPU is user
+ system of the run's process: on a shared machine the wall clock counts other processes' turns too.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.bench_e2e import daytape_run, make_store, session_file, symbols_of

#: (symbols, sessions) of each point, and the store each series reads (the first symbols, the first sessions).
FULL = {(500, 5): [(n, 5) for n in (1, 10, 100, 500)], (10, 60): [(10, d) for d in (1, 5, 20, 60)]}
QUICK = {(4, 2): [(1, 2), (4, 2), (4, 1)]}


def least_squares(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line through the points."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    spread = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread if spread else 0.0
    return mean_y - slope * mean_x, slope


def curve(series: dict[tuple[int, int], list[tuple[int, int]]]) -> list[dict[str, Any]]:
    points = []
    with tempfile.TemporaryDirectory(prefix="daytape-bench-") as tmp:
        folder = Path(tmp)
        for store_shape, shapes in series.items():
            store, all_days = make_store(*store_shape)
            for symbol_count, day_count in shapes:
                config = session_file(folder, store, all_days[:day_count], symbols_of(symbol_count), None)
                result = daytape_run(config, folder / f"scale-{symbol_count}x{day_count}.db")
                point = {
                    "symbols": symbol_count,
                    "sessions": day_count,
                    "wall_s": round(result["wall_s"], 3),
                    "cpu_s": round(result["cpu_s"], 3),
                    "cpu_ms_per_symbol_day": round(result["cpu_s"] * 1000 / (symbol_count * day_count), 3),
                }
                print(
                    f"   scale {symbol_count:>4} symbols x {day_count:>3} sessions: wall {point['wall_s']:8.2f} s, "
                    f"cpu {point['cpu_s']:8.2f} s, {point['cpu_ms_per_symbol_day']:8.2f} cpu ms/symbol-day",
                    file=sys.stderr,
                    flush=True,
                )
                points.append(point)
    return points


def fit(points: list[dict[str, Any]]) -> dict[str, float]:
    """The fixed cost (s) and the cost per symbol-day (ms) of CPU and of wall, by least squares."""
    symbol_days = [float(p["symbols"] * p["sessions"]) for p in points]
    cpu_fixed, cpu_slope = least_squares(symbol_days, [p["cpu_s"] for p in points])
    wall_fixed, wall_slope = least_squares(symbol_days, [p["wall_s"] for p in points])
    return {
        "scale_fixed_cpu_s": cpu_fixed,
        "scale_cpu_ms_per_symbol_day": cpu_slope * 1000,
        "scale_fixed_wall_s": wall_fixed,
        "scale_wall_ms_per_symbol_day": wall_slope * 1000,
    }


def run(quick: bool = False) -> dict[str, Any]:
    points = curve(QUICK if quick else FULL)
    figures: dict[str, Any] = {"scale_curve": points, **fit(points)}
    print(
        f"   scale fit (least squares over {len(points)} runs): CPU = {figures['scale_fixed_cpu_s']:.2f} s + "
        f"{figures['scale_cpu_ms_per_symbol_day']:.2f} ms x symbol-days; wall = {figures['scale_fixed_wall_s']:.2f} s "
        f"+ {figures['scale_wall_ms_per_symbol_day']:.2f} ms x symbol-days",
        file=sys.stderr,
        flush=True,
    )
    return figures


if __name__ == "__main__":
    for key, value in run(quick="--quick" in sys.argv).items():
        print(f"{key:<32} {value}")
