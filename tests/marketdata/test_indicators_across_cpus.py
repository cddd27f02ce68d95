"""The batch indicators write the same bits whichever kernels the CPU gets from OpenBLAS and from numpy.

numpy's OpenBLAS is built with DYNAMIC_ARCH: it picks its matrix kernels by CPU, and the kernels add their
products in different orders. numpy itself picks SIMD loops by CPU, and some of them (np.exp, np.power on
AVX-512) round differently. Runs recorded on different machines are compared event for event, so no indicator
value may depend on either. This machine is made to use other CPUs' kernels (OPENBLAS_CORETYPE, and
NPY_DISABLE_CPU_FEATURES for numpy's loops), and the batch indicators run in subprocesses under each must give
identical bytes. A matrix product and np.exp run alongside show that the kernels really differ here.
"""

from __future__ import annotations

import importlib
import os
import platform
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
#: SSE2 kernels without FMA, and AVX2 kernels with FMA: both run on any CPU with avx2 and fma.
CORETYPES = ("Nehalem", "Haswell")
PRODUCT, EXP = "matrix product", "np.exp"

#: Bars from integer steps (no transcendental function, so the inputs are the same bits everywhere); a short
#: series and a long one, as the kernels take different paths by length.
SCRIPT = """
import sys
import numpy as np
from marketdata.bars import SessionBars
from marketdata.indicators import compute_columns

KEYS = ["sma_20_1m", "ema_20_1m", "rsi_14_1m", "atr_14_1m", "macd_12_26_9_1m", "bollinger_20_1m"]
arrays = {}
for size in (2000, 20000):
    rng = np.random.default_rng(20240607)
    close = 100.0 + np.cumsum(rng.integers(-40, 41, size)) / 128
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) + rng.integers(0, 20, size) / 256
    low = np.minimum(open_, close) - rng.integers(0, 20, size) / 256
    ts = 1_700_000_000_000_000_000 + np.arange(size, dtype=np.int64) * 60_000_000_000
    bars = SessionBars.from_arrays(ts, open_, high, low, close, np.full(size, 100.0))
    for name, values in compute_columns(KEYS, bars).items():
        arrays[f"{name} over {size} bars"] = values
probe = np.random.default_rng(7).random((64, 64))
arrays["matrix product"] = probe @ probe
arrays["np.exp"] = np.exp(probe * 10)
np.savez(sys.argv[1], **arrays)
"""


def _cpu_flags() -> set[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return set()
    for line in text.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def _why_coretypes_do_not_apply() -> str | None:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return f"OPENBLAS_CORETYPE names x86-64 kernels; this machine is {platform.machine()}"
    missing = {"avx2", "fma"} - _cpu_flags()
    if missing:
        return f"the {CORETYPES[1]} kernels need the CPU flags avx2 and fma; missing (or unreadable): {sorted(missing)}"
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    if "openblas" not in str(blas.get("name", "")).lower():
        return f"numpy is not backed by OpenBLAS (its BLAS: {blas.get('name', 'unknown')})"
    if "DYNAMIC_ARCH" not in str(blas.get("openblas configuration", "")):
        return "numpy's OpenBLAS is not built with DYNAMIC_ARCH, so OPENBLAS_CORETYPE has no effect"
    return None


def _simd_targets() -> list[str]:
    """numpy's dispatched SIMD targets this CPU runs (disabling them all leaves numpy's baseline loops)."""
    try:
        umath = importlib.import_module("numpy._core._multiarray_umath")
    except ImportError:  # numpy 1.x
        umath = importlib.import_module("numpy.core._multiarray_umath")
    features = getattr(umath, "__cpu_features__", {})
    return [target for target in getattr(umath, "__cpu_dispatch__", []) if features.get(target)]


def _run(settings: dict[str, str], out: Path) -> dict[str, np.ndarray]:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", **settings}
    subprocess.run([sys.executable, "-c", SCRIPT, str(out)], cwd=ROOT, env=env, check=True, capture_output=True)
    with np.load(out) as arrays:
        return {name: arrays[name] for name in arrays.files}


def _first_difference(a: np.ndarray, b: np.ndarray) -> str:
    if a.shape != b.shape:
        return f"shapes {a.shape} and {b.shape}"
    differ = np.flatnonzero(a.view(np.uint64) != b.view(np.uint64))
    i = int(differ[0])
    return f"{len(differ)} values differ, the first at {i}: {float(a[i])!r} and {float(b[i])!r}"


def _assert_same_indicators(first: dict[str, np.ndarray], second: dict[str, np.ndarray], what: str) -> None:
    indicators = sorted(set(first) - {PRODUCT, EXP})
    assert indicators == sorted(set(second) - {PRODUCT, EXP})
    differing = [
        f"{name}: {_first_difference(first[name], second[name])}"
        for name in indicators
        if first[name].tobytes() != second[name].tobytes()
    ]
    assert not differing, f"{what} give different values:\n" + "\n".join(differing)


def test_batch_indicators_do_not_depend_on_the_blas_kernel(tmp_path):
    reason = _why_coretypes_do_not_apply()
    if reason:
        pytest.skip(reason)
    first, second = (_run({"OPENBLAS_CORETYPE": core}, tmp_path / f"{core}.npz") for core in CORETYPES)
    if first[PRODUCT].tobytes() == second[PRODUCT].tobytes():
        pytest.skip(f"OPENBLAS_CORETYPE={CORETYPES[0]} and {CORETYPES[1]} gave the same matrix product here")
    _assert_same_indicators(first, second, f"the {' and '.join(CORETYPES)} BLAS kernels")


def test_batch_indicators_do_not_depend_on_numpy_simd_loops(tmp_path):
    targets = _simd_targets()
    if not targets:
        pytest.skip("numpy runs no dispatched SIMD loops on this CPU (or does not say which)")
    dispatched = _run({}, tmp_path / "dispatched.npz")
    baseline = _run({"NPY_DISABLE_CPU_FEATURES": " ".join(targets)}, tmp_path / "baseline.npz")
    if dispatched[EXP].tobytes() == baseline[EXP].tobytes():
        pytest.skip(f"np.exp gives the same bits with and without numpy's {', '.join(targets)} loops here")
    _assert_same_indicators(dispatched, baseline, f"numpy's {', '.join(targets)} loops and its baseline loops")
