"""`daytape feed serve` as a process: it prints its URLs, serves alpaca-py, and exits when the day is played."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading

from alpaca.data.live import StockDataStream

from tests.conftest import REPO_ROOT

SERVE = [sys.executable, "-m", "daytape.cli", "feed", "serve"]


def test_serve_prints_its_urls_plays_the_day_and_exits(lean_store_root):
    process = subprocess.Popen(
        [*SERVE, "--store", str(lean_store_root), "--date", "2013-10-09", "--speed", "6000", "--json"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        urls = json.loads(process.stdout.readline())
        assert urls["rest_url"].startswith("http://127.0.0.1:") and urls["stream_url"].endswith("/v2/iex")
        assert (urls["date"], urls["symbols"], urls["minutes"]) == ("2013-10-09", 4, 390)
        received: list[dict] = []
        stream = StockDataStream("k", "s", raw_data=True, url_override=urls["stream_url"])

        async def keep(bar: dict) -> None:
            received.append(bar)

        stream.subscribe_bars(keep, "SPY")
        thread = threading.Thread(target=stream.run, daemon=True)
        thread.start()
        assert process.wait(timeout=120) == 0
        asyncio.run_coroutine_threadsafe(stream.stop_ws(), stream._loop).result(10)  # no reconnecting to nothing
        thread.join(30)
    finally:
        process.kill()
    assert received and all(set(bar) == {"T", "S", "o", "h", "l", "c", "v", "t", "n", "vw"} for bar in received)
    assert "day played: 390 minutes" in process.stderr.read()  # type: ignore[union-attr]


def test_bad_input_is_one_line_and_exit_2(lean_store_root, tmp_path):
    cases = [
        (["--date", "2013-10-12"], "--date 2013-10-12: not a session of XNYS"),
        (["--date", "2013-10-09", "--speed", "0"], "--speed: 0.0 must be above 0"),
        (["--date", "2013-10-09", "--encoding", "xml"], "--encoding: 'xml' is not msgpack or json"),
        (["--date", "2014-06-05"], "--date 2014-06-05: no 1m bars in the store"),
        (["--date", "10/09/2013"], "--date: '10/09/2013' is not a date (YYYY-MM-DD)"),
    ]
    for args, message in cases:
        result = subprocess.run(
            [*SERVE, "--store", str(lean_store_root), *args], cwd=REPO_ROOT, capture_output=True, text=True
        )
        assert result.returncode == 2 and result.stderr.startswith(message), (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1
    missing = subprocess.run(
        [*SERVE, "--store", str(tmp_path / "nope"), "--date", "2013-10-09"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "is not a directory" in missing.stderr
