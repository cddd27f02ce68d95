"""Vectorised building blocks of the batch indicators: window means and first-order linear recurrences.

Runs recorded on different machines are compared bit for bit, so every value here is built from element-wise
IEEE additions, multiplications and divisions (and sequential np.add.accumulate) in an order this code fixes,
which give the same bits on every CPU. Nothing goes through BLAS (numpy's OpenBLAS picks its matrix kernel by
CPU, and the kernels add products in different orders) or a transcendental ufunc such as np.power or np.exp
(their SIMD versions differ by an ulp between CPUs): the powers of a decay are worked out in integer
arithmetic. A numpy call costs about as much as a few thousand values of a pass, so the kernels make a few
passes over long vectors and no Python step per bar.

`window_means` sums every window afresh by doubling its width: adding the sums to themselves shifted gives
the windows of 2, 4, 8, ... values, and adding the next value one more where n's binary digit is 1 (n = 20:
2, 4, 5, 10, 20), about log2(n) passes. Nothing is carried from window to window, so nothing drifts.

`linear_filter` solves y[i] = decay * y[i-1] + gain * x[i]. A long series is cut into blocks of 8, laid out
as 8 rows (row j holds the j-th input of every block), so one step of the recurrence is one vector operation
across all blocks. A first sweep gives where each block would end had it started from 0; the true block ends
obey the same recurrence with decay^8, solved by doubling (y[i] += decay^k * y[i-k] for k = 1, 2, 4, ...,
stopping once the inputs not yet reached weigh under 2^-64 together); a second sweep runs each block from the
end of the block before it with the same operations as a loop, so within a block the rounding is the loop's.
A shorter series is solved by doubling directly. Either way the result is within a few ulps of the
sequential recurrence (~1e-14 relative for a decay as slow as 0.999). `filter_difference` runs two filters
over the same input and returns their difference (MACD's fast minus slow EMA), and can smooth that with a
third (the signal line): bit for bit what the filters give on their own, with the layout work shared.

Non-finite inputs (bad data) fall back to the sequential forms, so a NaN poisons only what follows it.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

import numpy as np

_BLOCK = 8
_LOOP_BELOW = 64
#: From this length a recurrence is solved by blocks; below it by doubling (up to log2(n) passes of n values).
_BLOCKS_FROM = 8192
_NEGLIGIBLE_DECAY = 1e-100  # below it the carried term is far under one ulp of the input's
#: Doubling stops once the inputs it has not reached weigh less than this together.
_TRUNCATE_BELOW = 2.0**-64
#: Work buffers above this many values are not kept between calls.
_KEEP_BELOW = 1 << 22
#: Slots the kernels use themselves; the indicators' batch functions use slots below these.
_SLOT_ROWS = 8
_SLOT_SECOND_ROWS = 9
_SLOT_SUMS = 10
_SLOT_MORE_SUMS = 11
_buffers = threading.local()

#: A first-order filter as filter_difference takes it: (decay, gain, initial).
Filter = tuple[float, float, float]


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


def window_means(x: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """out[i] = (x[i] + ... + x[i + n - 1]) / n for each of the len(x) - n + 1 windows (len(x) >= n)."""
    x = np.asarray(x, dtype=np.float64)
    size = len(x)
    # The widths the sums go through: n's binary digits after the leading 1, high to low, each double the
    # width, and a 1 then adds the next value (n = 20 = 0b10100: 2, 4, 5, 10, 20).
    widths, width = [], 1
    for digit in bin(n)[3:]:
        width *= 2
        widths.append(width)
        if digit == "1":
            width += 1
            widths.append(width)
    sums, width = x, 1
    for k, grown in enumerate(widths):
        # Each step writes the other buffer (a sum may not overwrite what it still reads), the last one `out`.
        last = k == len(widths) - 1
        target = out if last else work_buffer(size - grown + 1, (_SLOT_SUMS, _SLOT_MORE_SUMS)[k % 2])
        added = sums[width:] if grown == 2 * width else x[width:]
        sums = np.add(sums[: size - grown + 1], added, out=target)
        width = grown
    if not _finite(sums):
        return _running_means(x, n, out)
    return np.divide(sums, n, out=out)


def _running_means(x: np.ndarray, n: int, out: np.ndarray) -> np.ndarray:
    """The means from running sums, sequential as bad data needs: a NaN poisons only what follows it."""
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


def _check(decay: float, gain: float) -> None:
    if not 0.0 <= decay < 1.0 or not gain > 0.0:
        raise ValueError(f"need 0 <= decay < 1 and gain > 0, got decay {decay}, gain {gain}")


@lru_cache(maxsize=256)
def _power(base: float, exponent: int) -> float:
    """base^exponent to the nearest double, in integer arithmetic: the same bits on every machine (unlike
    pow()), and no error compounding as repeated products of doubles have. Every product keeps 128 bits, so
    the one rounding is at the end."""
    numerator, denominator = base.as_integer_ratio()
    mantissa, scale = numerator, 1 - denominator.bit_length()  # base = mantissa * 2**scale
    result, result_scale = 1, 0
    while exponent:
        if exponent & 1:
            result, result_scale = _keep_128_bits(result * mantissa, result_scale + scale)
        exponent >>= 1
        if exponent:
            mantissa, scale = _keep_128_bits(mantissa * mantissa, 2 * scale)
    return math.ldexp(float(result), result_scale)


def _keep_128_bits(mantissa: int, scale: int) -> tuple[int, int]:
    cut = max(mantissa.bit_length() - 128, 0)
    return mantissa >> cut, scale + cut


def _loop_filter(x: np.ndarray, decay: float, gain: float, initial: float, out: np.ndarray) -> np.ndarray:
    y = initial
    for i, value in enumerate(x.tolist()):
        y = decay * y + gain * value
        out[i] = y
    return out


def linear_filter(
    x: np.ndarray, decay: float, gain: float, initial: float, out: np.ndarray | None = None
) -> np.ndarray:
    """y[i] = decay * y[i-1] + gain * x[i] for every i, with y[-1] = `initial`; 0 <= decay < 1, gain > 0.

    Written into `out` (length len(x), which may be `x` itself) when given."""
    x = np.asarray(x, dtype=np.float64)
    n = len(x)
    _check(decay, gain)
    if out is None:
        out = np.empty(n)
    if n <= _LOOP_BELOW:
        return _loop_filter(x, decay, gain, initial, out)
    if decay < _NEGLIGIBLE_DECAY:
        np.multiply(x, gain, out=out)
        out[0] += decay * initial
        return out
    if n < _BLOCKS_FROM:
        if not _finite(x):
            return _filter_nonfinite(x, decay, gain, initial, out)
        np.multiply(x, gain, out=out)
        out[0] += decay * initial
        return _doubling(out, decay, 1)
    rows = _block_rows(x, gain, _SLOT_ROWS)
    if not _solve_rows(rows, decay, initial):
        return _filter_nonfinite(x, decay, gain, initial, out)
    return _unblock(rows, x, decay, gain, out)


def _unblock(rows: np.ndarray, x: np.ndarray, decay: float, gain: float, out: np.ndarray) -> np.ndarray:
    """The solved rows back in series order into `out`, and the values after the whole blocks by the loop."""
    whole = rows.size
    np.copyto(out[:whole].reshape(-1, _BLOCK), rows.T)
    _loop_filter(x[whole:], decay, gain, float(rows[-1, -1]), out[whole:])
    return out


def _doubling(y: np.ndarray, decay: float, stride: int) -> np.ndarray:
    """Solve in place the recurrence whose inputs are y: y[i] becomes decay^stride * (new y[i-1]) + y[i], from
    i = 1 on. By doubling: after the step with shift k, y[i] is the recurrence over the 2k inputs up to i (each
    step reads the values from before it, through a copy), until _shift_powers says the rest is negligible."""
    n = len(y)
    scratch = np.empty(n)
    shift = 1
    for power in _shift_powers(decay, stride):
        if shift >= n:
            break
        step = np.multiply(y[:-shift], power, out=scratch[: n - shift])
        np.add(y[shift:], step, out=y[shift:])
        shift *= 2
    return y


@lru_cache(maxsize=64)
def _shift_powers(decay: float, stride: int) -> tuple[float, ...]:
    """The factors of the doubling steps, decay^(stride * k) for k = 1, 2, 4, ..., each rounded once from
    decay. They stop where the inputs still left out weigh under 2^-64 together: far below the rounding of the
    recurrence itself (which no order of operations avoids), so a fast decay takes a few steps, not log2(n)."""
    factor = _power(decay, stride)
    powers: list[float] = []
    while len(powers) < 64:
        power = _power(decay, stride << len(powers))
        if power < _TRUNCATE_BELOW * (1.0 - factor):
            break
        powers.append(power)
    return tuple(powers)


def _block_rows(x: np.ndarray, gain: float, slot: int) -> np.ndarray:
    """gain * x over its whole blocks, as _BLOCK rows: row j holds the j-th value of every block."""
    blocks = len(x) // _BLOCK
    whole = blocks * _BLOCK
    rows = work_buffer(whole, slot).reshape(_BLOCK, blocks)
    return np.multiply(x[:whole].reshape(blocks, _BLOCK).T, gain, out=rows)


def _solve_rows(rows: np.ndarray, decay: float, initial: float) -> bool:
    """Run the recurrence through the blocks in place: rows of gain * x in, rows of y out (y[-1] = initial).

    False when a non-finite value shows (the rows are spoilt then): blocks would smear a NaN over the values
    before it."""
    row_list = list(rows)
    factor = np.array(decay)  # a 0-d array: numpy takes it faster than a Python float
    ends = np.multiply(row_list[0], factor)
    for row in row_list[1:-1]:
        np.add(ends, row, out=ends)
        np.multiply(ends, factor, out=ends)
    np.add(ends, row_list[-1], out=ends)
    # ends[b] is where block b would end had it started from 0 (non-finite if any of its inputs is) ...
    if not _finite(ends):
        return False
    # ... and the true ends obey the same recurrence over blocks, with decay^_BLOCK.
    ends[0] += _power(decay, _BLOCK) * initial
    _doubling(ends, decay, _BLOCK)
    # Each block starts from the true end of the block before it (`initial` for the first).
    step = np.empty(len(ends))
    step[0] = decay * initial
    np.multiply(ends[:-1], factor, out=step[1:])
    for row in row_list[:-1]:
        np.add(row, step, out=row)  # y = decay * y + gain * x, as the loop rounds it
        np.multiply(row, factor, out=step)
    np.add(row_list[-1], step, out=row_list[-1])
    return True


def _filter_nonfinite(x: np.ndarray, decay: float, gain: float, initial: float, out: np.ndarray) -> np.ndarray:
    """Bad data: from the first non-finite input on, the recurrence runs as a plain loop (exactly the
    sequential result)."""
    bad = np.flatnonzero(~np.isfinite(x))
    first = int(bad[0]) if len(bad) else 0
    linear_filter(x[:first], decay, gain, initial, out[:first])
    _loop_filter(x[first:], decay, gain, float(out[first - 1]) if first else initial, out[first:])
    return out


def filter_difference(
    x: np.ndarray,
    first: Filter,
    second: Filter,
    out: np.ndarray,
    smoothing: tuple[Filter, np.ndarray] | None = None,
) -> tuple[np.ndarray, float, float]:
    """out = linear_filter(x, *first) - linear_filter(x, *second), each given as (decay, gain, initial), bit for
    bit; returns out and each filter's last value (its initial value when x is empty).

    Given `smoothing` = (a filter, its output array), also that output = linear_filter(out, *filter), bit for
    bit (MACD's signal line), run where the difference's blocks already lie instead of laying them out again."""
    x = np.asarray(x, dtype=np.float64)
    (decay1, gain1, _), (decay2, gain2, _) = first, second
    _check(decay1, gain1)
    _check(decay2, gain2)
    solved = _difference_rows(x, first, second) if len(x) >= _BLOCKS_FROM else None
    if solved is None:
        _, y1, y2 = _separate_difference(x, first, second, out)
        rows = None
    else:
        rows, y1, y2 = solved
        whole = rows.size
        np.copyto(out[:whole].reshape(-1, _BLOCK), rows.T)
        for i, value in enumerate(x[whole:].tolist(), start=whole):
            y1 = decay1 * y1 + gain1 * value
            y2 = decay2 * y2 + gain2 * value
            out[i] = y1 - y2
    if smoothing is not None:
        (decay, gain, initial), smoothed = smoothing
        _check(decay, gain)
        scaled = None if rows is None or decay < _NEGLIGIBLE_DECAY else _scaled(rows, gain)
        if scaled is not None and _solve_rows(scaled, decay, initial):
            _unblock(scaled, out, decay, gain, smoothed)
        else:
            linear_filter(out, decay, gain, initial, out=smoothed)
    return out, y1, y2


def _difference_rows(x: np.ndarray, first: Filter, second: Filter) -> tuple[np.ndarray, float, float] | None:
    """The block rows of the first filter minus the second, and each one's value at the end of the last block;
    None where linear_filter would not use blocks."""
    (decay1, gain1, initial1), (decay2, gain2, initial2) = first, second
    if min(decay1, decay2) < _NEGLIGIBLE_DECAY:
        return None
    # One pass lays the blocks out (times 1.0: a copy), two cheap ones scale them: the same products as
    # _block_rows, so the same bits as the two filters on their own.
    inputs = _block_rows(x, 1.0, _SLOT_SECOND_ROWS)
    rows1 = _scaled(inputs, gain1)
    rows2 = np.multiply(inputs, gain2, out=inputs)
    if not (_solve_rows(rows1, decay1, initial1) and _solve_rows(rows2, decay2, initial2)):
        return None
    y1, y2 = float(rows1[-1, -1]), float(rows2[-1, -1])
    return np.subtract(rows1, rows2, out=rows2), y1, y2  # in the second buffer: _scaled may take the first


def _scaled(rows: np.ndarray, gain: float) -> np.ndarray:
    """gain * rows, in the first rows' work buffer (`rows` must not live there)."""
    return np.multiply(rows, gain, out=work_buffer(rows.size, _SLOT_ROWS).reshape(rows.shape))


def _separate_difference(
    x: np.ndarray, first: Filter, second: Filter, out: np.ndarray
) -> tuple[np.ndarray, float, float]:
    y1 = linear_filter(x, *first)
    y2 = linear_filter(x, *second)
    np.subtract(y1, y2, out=out)
    return out, float(y1[-1]) if len(x) else first[2], float(y2[-1]) if len(x) else second[2]
