"""The batch kernels against plain loops: window means by blocks, the difference of two filters in one
product, and a filter that may overwrite its scratch input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketdata.indicators.kernels import filter_difference, linear_filter, window_means


def loop_means(x: list[float], n: int) -> list[float]:
    return [sum(x[i : i + n]) / n for i in range(len(x) - n + 1)]


def loop_filter(x: list[float], decay: float, gain: float, initial: float) -> list[float]:
    out, y = [], initial
    for value in x:
        y = decay * y + gain * value
        out.append(y)
    return out


@given(st.lists(st.floats(1.0, 1e4), min_size=1, max_size=400), st.integers(1, 60))
def test_window_means_are_the_means_of_every_window(values, n):
    if n > len(values):
        n = len(values)
    x = np.array(values)
    out = window_means(x, n, np.empty(len(x) - n + 1))
    np.testing.assert_allclose(out, loop_means(values, n), rtol=1e-13)


def test_window_means_of_a_flat_series_and_with_bad_data():
    flat = window_means(np.full(100, 123.45), 20, np.empty(81))
    np.testing.assert_allclose(flat, 123.45, rtol=1e-15)
    x = np.arange(1.0, 101.0)
    x[60] = np.nan
    out = window_means(x, 10, np.empty(91))
    assert not np.isnan(out[:51]).any() and np.isnan(out[51:]).all()  # as a running sum: from the NaN on


@pytest.mark.parametrize("size", [0, 1, 15, 64, 65, 1000, 4099])
def test_filter_difference_is_the_two_filters_subtracted(size):
    x = 100 + np.cumsum(np.random.default_rng(size).normal(0, 0.1, size))
    fast, slow = (1 - 2 / 13, 2 / 13, 99.0), (1 - 2 / 27, 2 / 27, 101.0)
    out, last_fast, last_slow = filter_difference(x, fast, slow, np.empty(size))
    expected_fast, expected_slow = loop_filter(list(x), *fast), loop_filter(list(x), *slow)
    np.testing.assert_allclose(out, np.subtract(expected_fast, expected_slow), rtol=0, atol=1e-11)
    assert last_fast == pytest.approx(expected_fast[-1] if size else 99.0, rel=1e-13)
    assert last_slow == pytest.approx(expected_slow[-1] if size else 101.0, rel=1e-13)


def test_filter_difference_with_a_nan_poisons_only_what_follows_it():
    x = np.arange(200, dtype=np.float64)
    x[150] = np.nan
    out, _, _ = filter_difference(x, (0.5, 0.5, 0.0), (0.9, 0.1, 0.0), np.empty(200))
    assert not np.isnan(out[:150]).any() and np.isnan(out[150:]).all()


def test_a_filter_that_may_overwrite_its_input_gives_the_same_values():
    x = np.random.default_rng(3).normal(50, 5, 5000)
    expected = linear_filter(x, 13 / 14, 1 / 14, 50.0)
    scratch = x.copy()
    np.testing.assert_array_equal(linear_filter(scratch, 13 / 14, 1 / 14, 50.0, overwrite_input=True), expected)
