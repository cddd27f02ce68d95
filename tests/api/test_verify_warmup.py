"""`daytape verify RUN --warmup`: a warm-up that was long enough passes (LEAN data), one that was not fails
by the amount an independent EMA says (generated data with a short warm-up multiplier)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest

import daytape
from marketdata.calendar import get_calendar
from marketdata.generator import write_sample_store
from marketdata.store import BarStore
from tests.api.oracles import XNYS, aggregate, parquet_minutes, regular_minutes
from tests.e2e.conftest import daytape as cli
from tests.e2e.conftest import october_session, write_session

DAY = dt.date(2024, 3, 12)


def test_the_october_warm_ups_were_long_enough(tmp_path, lean_store_root):
    log_url = f"sqlite:///{tmp_path / 'log.db'}"
    session = write_session(tmp_path / "session.yaml", october_session(lean_store_root, log_url))
    run = daytape.run(session)
    run.log.close()
    result = cli("verify", run.run_id, "--warmup", "--json", "--log", log_url)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] and report["tolerance"] == 1e-6 and report["factors"] == [2, 4]
    assert set(report["indicators"]) == {"sma_20_5m", "rsi_14_1m"}
    for entry in report["indicators"].values():
        assert entry["compared"] >= 1 and entry["max_rel_diff"] <= 1e-9
    text = cli("verify", run.run_id, "--warmup", "--log", log_url)
    assert text.returncode == 0 and "rsi_14_1m" in text.stdout and "ok" in text.stdout


def ta_lib_ema(closes: np.ndarray, period: int) -> np.ndarray:
    """EMA seeded with the SMA of the first `period` closes, alpha 2/(n+1) (TA-Lib's definition)."""
    alpha = 2 / (period + 1)
    out = np.full(len(closes), np.nan)
    out[period - 1] = closes[:period].mean()
    for i in range(period, len(closes)):
        out[i] = alpha * closes[i] + (1 - alpha) * out[i - 1]
    return out


@pytest.fixture(scope="module")
def short_warmup_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("short-warmup")
    calendar = get_calendar("XNYS")
    first = calendar.previous_sessions(DAY, 8)[0]
    write_sample_store(BarStore(folder / "data", calendar), ["AAA"], first, DAY, calendar, seed=11)
    config = {
        "name": "short-warmup",
        "start": DAY,
        "end": DAY,
        "store": str(folder / "data"),
        "symbols": ["AAA"],
        "streams": ["1m"],
        "derived": ["5m"],
        "historical": {"enabled": False, "trailing_days": 0},
        "indicators": [{"type": "ema", "period": 20, "interval": "5m"}],
        "warmup_multiplier": 0.5,
    }
    log_url = f"sqlite:///{folder / 'log.db'}"
    run = daytape.run(config, log=log_url)
    run.log.close()
    return folder, log_url, run.run_id


def test_a_short_warm_up_fails_by_what_more_history_changes(short_warmup_run):
    folder, log_url, run_id = short_warmup_run
    result = cli("verify", run_id, "--warmup", "--json", "--log", log_url)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    (check,) = report["checks"]
    assert check["history_sessions"] == 1  # 60 bars x 0.5 = 30 bars of 5m: one session
    sessions = [d.date() for d in XNYS.sessions_window(DAY.isoformat(), -9)[:-1]]

    def first_session_ema(history_sessions: int) -> float:
        days = [*sessions[-history_sessions:], DAY]
        closes = pd.concat(
            [aggregate(regular_minutes(parquet_minutes(folder / "data", "AAA", d), d), d, 5).close for d in days]
        ).to_numpy()
        history = len(closes) - len(
            aggregate(regular_minutes(parquet_minutes(folder / "data", "AAA", DAY), DAY), DAY, 5)
        )
        return float(ta_lib_ema(closes, 20)[history])

    ran = first_session_ema(1)
    assert check["value"] == pytest.approx(ran, rel=1e-9)
    expected = max(abs(ran - first_session_ema(n)) / max(abs(ran), abs(first_session_ema(n))) for n in (2, 4))
    assert expected > 1e-6
    assert report["indicators"]["ema_20_5m"]["max_rel_diff"] == pytest.approx(expected, rel=1e-6)
    assert [x["sessions"] for x in check["longer"]] == [2, 4]
    loose = cli("verify", run_id, "--warmup", "--tolerance", "1", "--log", log_url)
    assert loose.returncode == 0, loose.stderr


def test_warmup_flags_bad_input(short_warmup_run):
    _, log_url, run_id = short_warmup_run
    for args, message in (
        (["--tolerance", "0.1"], "--tolerance: goes with --warmup"),
        (["--warmup", "--tolerance", "-1"], "must be a number at least 0"),
    ):
        result = cli("verify", run_id, *args, "--log", log_url)
        assert result.returncode == 2 and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_the_api_gives_the_same_warmup_report(short_warmup_run):
    _, log_url, run_id = short_warmup_run
    printed = json.loads(cli("verify", run_id, "--warmup", "--json", "--log", log_url).stdout)
    with daytape.open_log(log_url) as log:
        report = log.run(run_id).verify_warmup()
    assert not report.ok
    assert report.per_indicator() == printed["indicators"]
    assert report.checks[0].as_dict()["longer"] == printed["checks"][0]["longer"]


def test_a_day_gives_its_part_of_the_warmup_report(short_warmup_run):
    _, log_url, run_id = short_warmup_run
    printed = json.loads(cli("verify", run_id, "--warmup", "--json", "--log", log_url).stdout)
    with daytape.open_log(log_url) as log:
        day = log.run(run_id).day(DAY)
        strict, loose = day.verify_warmup(), day.verify_warmup(tolerance=1)
    assert not strict.ok and loose.ok
    assert strict.as_dict()["checks"] == [c for c in printed["checks"] if c["date"] == DAY.isoformat()]
    assert strict.as_dict()["indicators"] == printed["indicators"]
