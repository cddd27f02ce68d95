"""`LiveSeries` on LEAN minute bars: fed a day's base bars one at a time (pre- and post-market included), it
closes exactly the batch path's derived bars, and its indicators, warmed by the batch over the days before,
give the batch's values over history and day after every bar (to the bit where test_indicators says so)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from marketdata.bars import SessionBars
from marketdata.calendar import get_calendar
from marketdata.derive import derive_bars, derive_sessions
from marketdata.incremental import LiveSeries
from marketdata.indicators import IndicatorError, compute
from specs.indicators import IndicatorSpec
from tests.marketdata.lean_minutes import lean_minute_table
from tests.marketdata.test_indicators import EXACT, KEYS, recurrence_tolerance

CAL = get_calendar("XNYS")
DAYS = {"spy": [date(2013, 10, d) for d in (4, 7, 8, 9)], "goog": [date(2015, 12, 23), date(2015, 12, 24)]}


@pytest.mark.parametrize("symbol", list(DAYS))
@pytest.mark.parametrize("interval", ["1m", "5m", "15m"])
def test_a_live_series_gives_the_batch_bars_and_values(lean_root, symbol, interval):
    *before, day = DAYS[symbol]
    history = derive_sessions(
        pa.concat_tables([lean_minute_table(lean_root, symbol, d) for d in before]), interval, CAL, before
    )
    base = SessionBars.from_table(lean_minute_table(lean_root, symbol, day))
    specs = [IndicatorSpec.parse_key(t.format(iv=interval)) for t in KEYS]
    series = LiveSeries(interval, CAL, day, specs, history=history)
    seen: list[dict] = []
    for i in range(len(base)):
        closed = series.push(int(base.ts[i]), base.open[i], base.high[i], base.low[i], base.close[i], base.volume[i])
        seen.extend(c.values for c in closed)
    seen.extend(c.values for c in series.flush())
    day_bars = derive_bars(base, interval, CAL, day)
    assert series.bars().equals(day_bars)
    whole = SessionBars.concat([history, day_bars])
    for spec in specs:
        batch = compute(spec, whole, CAL).outputs
        for j, name in enumerate(spec.outputs):
            got = np.array([v[spec.key][j] if isinstance(v[spec.key], tuple) else v[spec.key] for v in seen])
            expected = batch[name][len(history) :]
            if spec.type.value in EXACT:
                np.testing.assert_array_equal(got, expected, err_msg=f"{spec.key}.{name}")
            else:
                tolerance = recurrence_tolerance(whole, batch[name])
                np.testing.assert_allclose(got, expected, rtol=0, atol=tolerance, err_msg=f"{spec.key}.{name}")


def test_an_indicator_on_another_interval_is_refused():
    with pytest.raises(IndicatorError, match="sma_5_1m is on 1m, this series is 5m"):
        LiveSeries("5m", CAL, date(2013, 10, 9), ["sma_5_1m"])
