"""The batch kernels against plain loops: window means by doubling, filters by doubling and by blocks, the
difference of two filters and its smoothing bit for bit against the filters on their own, and bad data."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketdata.indicators import kernels
from marketdata.indicators.kernels import filter_difference, linear_filter, window_means

#: Lengths around each path of the filters: the loop, doubling, blocks (with and without a tail).
SIZES = [0, 1, 15, 64, 65, 1000, kernels._BLOCKS_FROM - 1, kernels._BLOCKS_FROM, kernels._BLOCKS_FROM + 5, 40_003]


def loop_means(x: list[float], n: int) -> list[float]:
    return [sum(x[i : i + n]) / n for i in range(len(x) - n + 1)]


def loop_filter(x: list[float], decay: float, gain: float, initial: float) -> list[float]:
    out, y = [], initial
    for value in x:
        y = decay * y + gain * value
        out.append(y)
    return out


def prices(size: int, seed: int = 0) -> np.ndarray:
    return 100 + np.cumsum(np.random.default_rng(seed).normal(0, 0.1, size))


@given(st.lists(st.floats(1.0, 1e4), min_size=1, max_size=400), st.integers(1, 60))
def test_window_means_are_the_means_of_every_window(values, n):
    if n > len(values):
        n = len(values)
    x = np.array(values)
    out = window_means(x, n, np.empty(len(x) - n + 1))
    np.testing.assert_allclose(out, loop_means(values, n), rtol=1e-13)


@pytest.mark.parametrize("n", [1, 2, 3, 20, 64, 390, 1000])
def test_window_means_of_long_windows(n):
    x = prices(5000, n)
    out = window_means(x, n, np.empty(len(x) - n + 1))
    np.testing.assert_allclose(out, loop_means(list(x), n), rtol=1e-13)


def test_window_means_of_a_flat_series_and_with_bad_data():
    flat = window_means(np.full(100, 123.45), 20, np.empty(81))
    np.testing.assert_allclose(flat, 123.45, rtol=1e-15)
    x = np.arange(1.0, 101.0)
    x[60] = np.nan
    out = window_means(x, 10, np.empty(91))
    assert not np.isnan(out[:51]).any() and np.isnan(out[51:]).all()  # as a running sum: from the NaN on


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("decay", [0.0, 0.5, 19 / 21, 13 / 14, 0.999])
def test_linear_filter_is_the_loop_on_every_path(size, decay):
    x = prices(size, size)
    gain = 1.0 - decay if decay else 1.0
    expected = loop_filter(list(x), decay, gain, 99.0)
    np.testing.assert_allclose(linear_filter(x, decay, gain, 99.0), expected, rtol=2e-14)
    np.testing.assert_allclose(linear_filter(x, decay, gain, 99.0, out=x), expected, rtol=2e-14)  # in place


@pytest.mark.parametrize("size", SIZES)
def test_filter_difference_is_the_two_filters_subtracted_bit_for_bit(size):
    x = prices(size, size)
    fast, slow = (1 - 2 / 13, 2 / 13, 99.0), (1 - 2 / 27, 2 / 27, 101.0)
    out, last_fast, last_slow = filter_difference(x, fast, slow, np.empty(size))
    expected_fast, expected_slow = linear_filter(x, *fast), linear_filter(x, *slow)
    np.testing.assert_array_equal(out, expected_fast - expected_slow)
    assert (last_fast, last_slow) == ((expected_fast[-1], expected_slow[-1]) if size else (99.0, 101.0))
    loop_difference = np.subtract(loop_filter(list(x), *fast), loop_filter(list(x), *slow))
    np.testing.assert_allclose(out, loop_difference, rtol=0, atol=1e-11)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("signal", [(0.8, 0.2, 0.5), (0.0, 1.0, 0.5)])
def test_the_smoothed_difference_is_the_filter_of_the_difference_bit_for_bit(size, signal):
    x = prices(size, size)
    smoothed = np.empty(size)
    out, _, _ = filter_difference(x, (0.85, 0.15, 99.0), (0.93, 0.07, 101.0), np.empty(size), (signal, smoothed))
    np.testing.assert_array_equal(smoothed, linear_filter(out, *signal))


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # inf - inf
@pytest.mark.parametrize("size", [200, 3 * kernels._BLOCKS_FROM])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_a_bad_value_poisons_only_what_follows_it(size, bad):
    x = prices(size)
    at = size * 3 // 4
    x[at] = bad
    clean = np.isfinite
    y = linear_filter(x, 0.9, 0.1, 100.0)
    assert clean(y[:at]).all() and not clean(y[at:]).any()
    smoothed = np.empty(size)
    out, _, _ = filter_difference(x, (0.5, 0.5, 0.0), (0.9, 0.1, 0.0), np.empty(size), ((0.8, 0.2, 0.0), smoothed))
    assert clean(out[:at]).all() and not clean(out[at:]).any()
    assert clean(smoothed[:at]).all() and not clean(smoothed[at:]).any()
    np.testing.assert_allclose(y[:at], loop_filter(list(x[:at]), 0.9, 0.1, 100.0), rtol=2e-14)


@given(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 5000))
def test_powers_of_a_decay_are_rounded_once(base, exponent):
    assert kernels._power(base, exponent) == float(Fraction(base) ** exponent)
