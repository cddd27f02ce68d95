"""How a parallel run hands out its days: one run of consecutive days per worker, every day exactly once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from daytape.backends.worker import day_chunks

DAYS = [date(2024, 2, 1) + timedelta(days=i) for i in range(20)]


@pytest.mark.parametrize(
    ("days", "workers", "sizes"), [(20, 2, [10, 10]), (20, 3, [7, 7, 6]), (3, 8, [1, 1, 1]), (0, 2, [])]
)
def test_each_worker_gets_one_run_of_consecutive_days(days, workers, sizes):
    chunks = day_chunks(DAYS[:days], workers)
    assert [len(c) for c in chunks] == sizes
    assert [d for c in chunks for d in c] == DAYS[:days]
