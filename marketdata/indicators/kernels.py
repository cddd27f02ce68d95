"""Vectorised building blocks of the batch indicators: window sums and first-order linear recurrences.

`window_sums` reproduces, operation for operation, the running sum an incremental indicator keeps (add the new
value, subtract the one leaving the window), so batch and incremental window indicators agree bit for bit.

`linear_filter` solves y[i] = decay * y[i-1] + gain * x[i] (EMA, Wilder smoothing) without a Python loop:
the series is cut into blocks of 16; within a block, y is the block's inputs times a fixed 16 x 16 matrix of
weights gain * decay^(j-m) (one matrix product for all blocks) plus decay^(j+1) times the value carried in
from the block before. The carried values, one per block, obey the same recurrence with decay^16 and are
solved the same way, recursively. No weight exceeds 1, so nothing grows, and the result matches the
sequential recurrence to a few ulps (~1e-13 relative at worst).
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

import numpy as np

_BLOCK = 16
#: Small matrix products stay on one thread (OpenBLAS threads from 65536 * 4 multiply-adds, and waking its
#: threads costs more than the product here): rows per product of a 16 x 16 matrix.
_SINGLE_THREAD_MACS = 65536 * 4
_CHUNK = _SINGLE_THREAD_MACS // (_BLOCK * _BLOCK)
_LOOP_BELOW = 64
#: Work buffers above this many values are not kept between calls.
_KEEP_BELOW = 1 << 22
_buffers = threading.local()


def work_buffer(size: int, slot: int) -> np.ndarray:
    """A float64 scratch array of `size` values, reused between calls (per thread and slot).

    A fresh large array costs a page fault per 4 KiB on first touch, which on a virtual machine is as much as
    a whole numpy pass over it; temporaries that never leave a batch function live here instead. The
    contents are garbage, and the array is only valid until the next call asking for the same slot."""
    if size > _KEEP_BELOW:
        return np.empty(size)
    pool = getattr(_buffers, "pool", None)
    if pool is None:
        pool = _buffers.pool = {}
    buffer = pool.get(slot)
    if buffer is None or len(buffer) < size:
        buffer = pool[slot] = np.empty(max(size, 1024))
    return buffer[:size]
_NEGLIGIBLE_DECAY = 1e-100  # below it the carried term is far under one ulp, and blocks stay >= 2 long


def window_sums(x: np.ndarray, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """Running sums as an incremental window keeps them: s[i] = x[0] + ... + x[i] while i < n, then
    s[i] = s[i-1] + (x[i] - x[i-n]). np.add.accumulate is sequential, so the rounding is the same as a loop's.
    Written into `out` when given (it must not be `x`)."""
    x = np.asarray(x, dtype=np.float64)
    size = len(x)
    if out is None:
        out = np.empty(size)
    np.add.accumulate(x[:n], out=out[: min(n, size)])
    if size > n:
        np.subtract(x[n:], x[:-n], out=out[n:])
        np.add.accumulate(out[n - 1 :], out=out[n - 1 :])
    return out


def nan_headed(size: int, first: int) -> np.ndarray:
    """An output array whose first `first` values are NaN and the rest left for the caller to fill (writing NaN
    everywhere first would be one more pass over a fresh array)."""
    out = np.empty(size)
    out[: min(first, size)] = np.nan
    return out


def sequential_sum(x: np.ndarray) -> float:
    """x[0] + x[1] + ... left to right, as a loop adds (np.sum pairs terms up and rounds differently)."""
    return float(np.add.accumulate(np.asarray(x, dtype=np.float64))[-1]) if len(x) else 0.0


@lru_cache(maxsize=64)
def _weights(decay: float, gain: float) -> np.ndarray:
    """W[m, j] = gain * decay^(j-m) for j >= m, else 0: y[j] = sum_m x[m] W[m, j] within a block started at 0."""
    j = np.arange(_BLOCK)
    lag = j[None, :] - j[:, None]
    weights = np.where(lag >= 0, gain * decay ** np.maximum(lag, 0).astype(np.float64), 0.0)
    weights.setflags(write=False)
    return weights


def _loop_filter(x: np.ndarray, decay: float, gain: float, initial: float) -> np.ndarray:
    out = np.empty(len(x))
    y = initial
    for i, value in enumerate(x.tolist()):
        y = decay * y + gain * value
        out[i] = y
    return out


def linear_filter(
    x: np.ndarray, decay: float, gain: float, initial: float, out: np.ndarray | None = None
) -> np.ndarray:
    """y[i] = decay * y[i-1] + gain * x[i] for every i, with y[-1] = `initial`; 0 <= decay < 1, gain > 0.

    Written into `out` (length len(x)) when given."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    if not 0.0 <= decay < 1.0 or not gain > 0.0:
        raise ValueError(f"need 0 <= decay < 1 and gain > 0, got decay {decay}, gain {gain}")
    if out is None:
        out = np.empty(n)
    if n <= _LOOP_BELOW:
        out[:] = _loop_filter(x, decay, gain, initial)
        return out
    if decay < _NEGLIGIBLE_DECAY:
        np.multiply(x, gain, out=out)
        out[0] += decay * initial
        return out
    if not math.isfinite(float(np.sum(x))):
        out[:] = _filter_nonfinite(x, decay, gain, initial)
        return out
    weights = _weights(decay, gain)
    blocks = n // _BLOCK
    whole = blocks * _BLOCK
    inputs = x[:whole].reshape(blocks, _BLOCK)
    # Where each block would end if it started from 0 ...
    last_weights = np.ascontiguousarray(weights[:, -1:])
    local_ends = np.empty((blocks, 1))
    for lo in range(0, blocks, _CHUNK):
        np.matmul(inputs[lo : lo + _CHUNK], last_weights, out=local_ends[lo : lo + _CHUNK])
    # ... and the true value carried into each: the same recurrence, one number per block.
    ends = linear_filter(local_ends[:, 0], decay**_BLOCK, 1.0, initial)
    carried = np.empty(blocks)
    carried[0] = initial
    carried[1:] = ends[:-1]
    # decay^(j+1) * carried = (decay / gain) * carried * W[0, j]: the carry joins the block's first input.
    carried *= decay / gain
    result = out[:whole].reshape(blocks, _BLOCK)
    scratch = np.empty((min(_CHUNK, blocks), _BLOCK))
    for lo in range(0, blocks, _CHUNK):
        hi = min(lo + _CHUNK, blocks)
        chunk = scratch[: hi - lo]
        chunk[:] = inputs[lo:hi]
        chunk[:, 0] += carried[lo:hi]
        np.matmul(chunk, weights, out=result[lo:hi])
    if whole < n:
        out[whole:] = _loop_filter(x[whole:], decay, gain, float(ends[-1]))
    return out


def _filter_nonfinite(x: np.ndarray, decay: float, gain: float, initial: float) -> np.ndarray:
    """Bad data: blocks would smear a NaN over the values before it, so from the first non-finite input on the
    recurrence runs as a plain loop (exactly the sequential result)."""
    first = int(np.flatnonzero(~np.isfinite(x))[0])
    out = np.empty(len(x))
    out[:first] = linear_filter(x[:first], decay, gain, initial)
    out[first:] = _loop_filter(x[first:], decay, gain, float(out[first - 1]) if first else initial)
    return out
