"""Vectorised building blocks of the batch indicators: window means and first-order linear recurrences.

Both are cut into small blocks whose work is one matrix product (OpenBLAS runs those near the machine's peak,
where a numpy pass over the data costs about as much as a dozen multiply-adds per value), so a batch makes
few passes over its bars and no Python step per bar.

`window_means` gives the mean of every window of n values: cut into blocks of n, a window is a suffix of one
block plus a prefix of the next, and one product with a fixed n x 2n matrix of weights 1/n gives every
block's suffix and prefix sums. Nothing is carried from block to block, so nothing drifts.

`linear_filter` solves y[i] = decay * y[i-1] + gain * x[i] (EMA, Wilder smoothing): the series is cut into
blocks of 16; within a block, y is the block's inputs times a fixed 16 x 16 matrix of weights
gain * decay^(j-m) (one matrix product for all blocks) plus decay^(j+1) times the value carried in from the
block before. The carried values, one per block, obey the same recurrence with decay^16 and are solved the
same way, recursively. No weight exceeds 1, so nothing grows, and the result matches the sequential
recurrence to a few ulps (~1e-13 relative at worst). `filter_difference` runs two such filters over the same
input and returns their difference (MACD's fast minus slow EMA) from one product.

Non-finite inputs (bad data) fall back to the sequential forms, so a NaN poisons only what follows it.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

import numpy as np

_BLOCK = 16
#: Small matrix products stay on one thread (OpenBLAS threads from 65536 * 4 multiply-adds, and waking its
#: threads costs more than the product here).
_SINGLE_THREAD_MACS = 65536 * 4
_LOOP_BELOW = 64
_NEGLIGIBLE_DECAY = 1e-100  # below it the carried term is far under one ulp, and blocks stay >= 2 long
#: Window means take 2n multiply-adds per value by blocks; above this n the running sum's three passes win.
_WINDOW_BLOCKS_UP_TO = 48
#: Work buffers above this many values are not kept between calls.
_KEEP_BELOW = 1 << 22
#: Slots the kernels use themselves; the indicators' batch functions use slots below these.
_SLOT_SCRATCH = 8
_SLOT_EXTENDED = 9
_SLOT_SUMS = 10
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


def matmul_rows(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> np.ndarray:
    """a @ b into `out`, in row chunks small enough that OpenBLAS keeps each product on one thread (b may be a
    stack of matrices, `out` then the stack of their products)."""
    rows = max(1, _SINGLE_THREAD_MACS // max(1, a.shape[-1] * b.shape[-1]))
    if len(a) <= rows:
        return np.matmul(a, b, out=out)
    for lo in range(0, len(a), rows):
        np.matmul(a[lo : lo + rows], b, out=out[..., lo : lo + rows, :])
    return out


def _finite(values: np.ndarray) -> bool:
    return math.isfinite(float(np.add.reduce(values, axis=None)))


# -- windows ---------------------------------------------------------------------------------------------


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


@lru_cache(maxsize=64)
def _suffix_prefix_weights(n: int) -> np.ndarray:
    """S[0][j, k] = 1/n for j >= k and S[1][j, k] = 1/n for j < k: a block times S[0] is its suffix means (from
    k on), times S[1] its prefix means (before k)."""
    j = np.arange(n)[:, None]
    k = np.arange(n)[None, :]
    weights = np.stack([np.where(j >= k, 1.0 / n, 0.0), np.where(j < k, 1.0 / n, 0.0)])
    weights.setflags(write=False)
    return weights


def window_means(x: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """out[i] = (x[i] + ... + x[i + n - 1]) / n for each of the len(x) - n + 1 windows (len(x) >= n)."""
    x = np.asarray(x, dtype=np.float64)
    size = len(x)
    blocks = size // n
    if n > _WINDOW_BLOCKS_UP_TO or blocks < 2:
        return _running_means(x, n, out)
    weights = _suffix_prefix_weights(n)
    suffixes, prefixes = matmul_rows(
        x[: blocks * n].reshape(blocks, n), weights, work_buffer(2 * blocks * n, _SLOT_SUMS).reshape(2, blocks, n)
    )
    rest = size - blocks * n
    padded = np.zeros(n)
    padded[:rest] = x[blocks * n :]
    last_prefixes = padded @ weights[1][:, : rest + 1]
    if not (_finite(suffixes[:, 0]) and math.isfinite(float(last_prefixes[-1]))):
        return _running_means(x, n, out)
    whole = (blocks - 1) * n
    np.add(suffixes[:-1].reshape(-1), prefixes[1:].reshape(-1), out=out[:whole])
    np.add(suffixes[-1, : rest + 1], last_prefixes, out=out[whole:])
    return out


def _running_means(x: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """The means from running sums: any n, and sequential where bad data must poison only what follows it."""
    sums = window_sums(x, n, work_buffer(len(x), _SLOT_SUMS))
    return np.divide(sums[n - 1 :], n, out=out)


def nan_headed(size: int, first: int) -> np.ndarray:
    """An output array whose first `first` values are NaN and the rest left for the caller to fill (writing NaN
    everywhere first would be one more pass over a fresh array)."""
    out = np.empty(size)
    out[: min(first, size)] = np.nan
    return out


def sequential_sum(x: np.ndarray) -> float:
    """x[0] + x[1] + ... left to right, as a loop adds (np.sum pairs terms up and rounds differently)."""
    return float(np.add.accumulate(np.asarray(x, dtype=np.float64))[-1]) if len(x) else 0.0


# -- first-order recurrences -----------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _weights(decay: float, gain: float) -> np.ndarray:
    """W[m, j] = gain * decay^(j-m) for j >= m, else 0: y[j] = sum_m x[m] W[m, j] within a block started at 0."""
    j = np.arange(_BLOCK)
    lag = j[None, :] - j[:, None]
    weights = np.where(lag >= 0, gain * decay ** np.maximum(lag, 0).astype(np.float64), 0.0)
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=64)
def _last_weights(*filters: tuple[float, float]) -> np.ndarray:
    """The last column of each filter's W, side by side: a block times them is where each filter would end
    the block had it started from 0."""
    weights = np.ascontiguousarray(np.stack([_weights(decay, gain)[:, -1] for decay, gain in filters], axis=1))
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=64)
def _difference_weights(first: tuple[float, float], second: tuple[float, float]) -> np.ndarray:
    """(W1 - W2) over two extra rows decay1^(j+1) and -decay2^(j+1): a block followed by the two values carried
    into it, times this, is the first filter minus the second over the block."""
    powers = np.arange(1, _BLOCK + 1, dtype=np.float64)
    weights = np.concatenate(
        [_weights(*first) - _weights(*second), [first[0] ** powers], [-(second[0] ** powers)]], axis=0
    )
    weights.setflags(write=False)
    return weights


def _loop_filter(x: np.ndarray, decay: float, gain: float, initial: float) -> np.ndarray:
    out = np.empty(len(x))
    y = initial
    for i, value in enumerate(x.tolist()):
        y = decay * y + gain * value
        out[i] = y
    return out


def _check(decay: float, gain: float) -> None:
    if not 0.0 <= decay < 1.0 or not gain > 0.0:
        raise ValueError(f"need 0 <= decay < 1 and gain > 0, got decay {decay}, gain {gain}")


def _carried(ends: np.ndarray, initial: float) -> np.ndarray:
    """The value carried into each block: `initial` into the first, the block before's end into the others."""
    carried = np.empty(len(ends))
    carried[0] = initial
    carried[1:] = ends[:-1]
    return carried


def linear_filter(
    x: np.ndarray,
    decay: float,
    gain: float,
    initial: float,
    out: np.ndarray | None = None,
    overwrite_input: bool = False,
) -> np.ndarray:
    """y[i] = decay * y[i-1] + gain * x[i] for every i, with y[-1] = `initial`; 0 <= decay < 1, gain > 0.

    Written into `out` (length len(x)) when given. With `overwrite_input` the caller's scratch `x` may be
    changed (it saves copying it)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    _check(decay, gain)
    if out is None:
        out = np.empty(n)
    if n <= _LOOP_BELOW:
        out[:] = _loop_filter(x, decay, gain, initial)
        return out
    if decay < _NEGLIGIBLE_DECAY:
        np.multiply(x, gain, out=out)
        out[0] += decay * initial
        return out
    blocks = n // _BLOCK
    whole = blocks * _BLOCK
    inputs = x[:whole].reshape(blocks, _BLOCK)
    # Where each block would end if it started from 0 (a non-finite input shows here: every weight is > 0) ...
    local_ends = matmul_rows(inputs, _last_weights((decay, gain)), np.empty((blocks, 1)))[:, 0]
    if not _finite(local_ends):
        out[:] = _filter_nonfinite(x, decay, gain, initial)
        return out
    # ... and the true value carried into each: the same recurrence, one number per block.
    ends = linear_filter(local_ends, decay**_BLOCK, 1.0, initial, overwrite_input=True)
    # decay^(j+1) * carried = (decay / gain) * carried * W[0, j]: the carry joins the block's first input.
    carried = _carried(ends, initial)
    carried *= decay / gain
    weights = _weights(decay, gain)
    result = out[:whole].reshape(blocks, _BLOCK)
    if overwrite_input:
        inputs[:, 0] += carried
        matmul_rows(inputs, weights, result)
    else:
        rows = _SINGLE_THREAD_MACS // (_BLOCK * _BLOCK)
        scratch = work_buffer(min(rows, blocks) * _BLOCK, _SLOT_SCRATCH).reshape(-1, _BLOCK)
        for lo in range(0, blocks, rows):
            hi = min(lo + rows, blocks)
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
    bad = np.flatnonzero(~np.isfinite(x))
    first = int(bad[0]) if len(bad) else 0
    out = np.empty(len(x))
    out[:first] = linear_filter(x[:first], decay, gain, initial)
    out[first:] = _loop_filter(x[first:], decay, gain, float(out[first - 1]) if first else initial)
    return out


def filter_difference(
    x: np.ndarray, first: tuple[float, float, float], second: tuple[float, float, float], out: np.ndarray
) -> tuple[np.ndarray, float, float]:
    """out = linear_filter(x, *first) - linear_filter(x, *second), each given as (decay, gain, initial), in one
    matrix product over x; returns out and each filter's last value (its initial value when x is empty)."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    (decay1, gain1, initial1), (decay2, gain2, initial2) = first, second
    _check(decay1, gain1)
    _check(decay2, gain2)
    blocks = n // _BLOCK
    if n <= _LOOP_BELOW or min(decay1, decay2) < _NEGLIGIBLE_DECAY:
        return _separate_difference(x, first, second, out)
    whole = blocks * _BLOCK
    inputs = x[:whole].reshape(blocks, _BLOCK)
    local_ends = matmul_rows(inputs, _last_weights((decay1, gain1), (decay2, gain2)), np.empty((blocks, 2)))
    if not _finite(local_ends):
        return _separate_difference(x, first, second, out)
    ends1 = linear_filter(local_ends[:, 0], decay1**_BLOCK, 1.0, initial1, overwrite_input=True)
    ends2 = linear_filter(local_ends[:, 1], decay2**_BLOCK, 1.0, initial2, overwrite_input=True)
    extended = work_buffer(blocks * (_BLOCK + 2), _SLOT_EXTENDED).reshape(blocks, _BLOCK + 2)
    extended[:, :_BLOCK] = inputs
    extended[:, _BLOCK] = _carried(ends1, initial1)
    extended[:, _BLOCK + 1] = _carried(ends2, initial2)
    weights = _difference_weights((decay1, gain1), (decay2, gain2))
    matmul_rows(extended, weights, out[:whole].reshape(blocks, _BLOCK))
    y1, y2 = float(ends1[-1]), float(ends2[-1])
    for i, value in enumerate(x[whole:].tolist(), start=whole):
        y1 = decay1 * y1 + gain1 * value
        y2 = decay2 * y2 + gain2 * value
        out[i] = y1 - y2
    return out, y1, y2


def _separate_difference(
    x: np.ndarray, first: tuple[float, float, float], second: tuple[float, float, float], out: np.ndarray
) -> tuple[np.ndarray, float, float]:
    y1 = linear_filter(x, *first)
    y2 = linear_filter(x, *second)
    np.subtract(y1, y2, out=out)
    return out, float(y1[-1]) if len(x) else first[2], float(y2[-1]) if len(x) else second[2]
