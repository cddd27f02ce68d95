"""A real headless Chromium driven over the DevTools protocol, for the report's browser tests.

The browser starts with its network features off and a fresh profile; the page is opened with the
network emulated offline, and every request it tries that is not its own file is recorded. Console
errors and uncaught exceptions are recorded too. The DevTools websocket is spoken with tornado's client
(tornado comes with dask.distributed).

Also a command, the one that made docs/report.png:

    python -m tests.report.chromium REPORT.html --screenshot docs/report.png [--symbol S] [--click REQUEST_ID]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from tornado.websocket import WebSocketClientConnection, websocket_connect

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
#: How long to wait for the browser to start or the page's script to finish before giving up (a hang guard,
#: not a speed check).
PATIENCE_S = 120.0


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


class PageRun:
    """What happened while a page was open: console errors, outside requests, DOM facts, a screenshot."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.outside_requests: list[str] = []
        self.facts: dict[str, Any] = {}
        self.load_seconds: float = 0.0
        self.screenshot: bytes = b""


class _DevTools:
    def __init__(self, conn: WebSocketClientConnection, run: PageRun, page_url: str) -> None:
        self.conn, self.run, self.page_url = conn, run, page_url
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        wanted = self.next_id
        await self.conn.write_message(json.dumps({"id": wanted, "method": method, "params": params}))
        while True:
            message = await self.conn.read_message()
            if message is None:
                raise RuntimeError(f"the browser closed the DevTools connection during {method}")
            data = json.loads(message)
            if data.get("id") == wanted:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error']}")
                return data.get("result", {})
            self._event(data)

    def _event(self, data: dict[str, Any]) -> None:
        method, params = data.get("method"), data.get("params", {})
        self.events.append(data)
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.run.errors.append(details.get("exception", {}).get("description") or details.get("text", "?"))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.run.errors.append(" ".join(str(a.get("value", a.get("description"))) for a in params["args"]))
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.run.errors.append(f"{params['entry'].get('source')}: {params['entry'].get('text')}")
        elif method == "Network.requestWillBeSent":
            url = params["request"]["url"]
            if not url.startswith(("data:", "blob:", "about:")) and url != self.page_url:
                self.run.outside_requests.append(url)

    async def evaluate(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str) -> None:
        deadline = time.monotonic() + PATIENCE_S
        while not await self.evaluate(expression):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the page never got to: {expression}; its errors: {self.run.errors}")
            await asyncio.sleep(0.05)

    async def click(self, selector: str) -> None:
        """A real mouse click at the middle of the first element matching `selector`."""
        box = await self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); if (!e) return null;"
            " e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()"
        )
        if box is None:
            raise RuntimeError(f"nothing on the page matches {selector}")
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            await self.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)


def _devtools_port(profile: Path, process: subprocess.Popen[bytes]) -> int:
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + PATIENCE_S
    while not marker.is_file() or not marker.read_text().strip():
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode} before it listened")
        if time.monotonic() > deadline:
            raise RuntimeError("chromium did not open its DevTools port")
        time.sleep(0.05)
    return int(marker.read_text().splitlines()[0])


def _page_target(port: int) -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/json/new?about:blank", method="PUT")
    with urllib.request.urlopen(request, timeout=30) as response:  # the local DevTools endpoint only
        return str(json.loads(response.read())["webSocketDebuggerUrl"])


#: A step on the open page: ("click", CSS selector) is a real mouse click on the element's middle;
#: ("eval", NAME, JS) evaluates JS and keeps its value as facts[NAME].
Step = tuple[str, ...]


async def _drive(ws_url: str, page: Path, steps: list[Step]) -> PageRun:
    run = PageRun()
    url = page.resolve().as_uri()
    conn = await websocket_connect(ws_url, max_message_size=256 << 20)
    tools = _DevTools(conn, run, url)
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            await tools.call(f"{domain}.enable")
        await tools.call(
            "Network.emulateNetworkConditions", offline=True, latency=0, downloadThroughput=-1, uploadThroughput=-1
        )
        await tools.call(
            "Emulation.setDeviceMetricsOverride", width=1400, height=1800, deviceScaleFactor=1, mobile=False
        )
        started = time.monotonic()
        await tools.call("Page.navigate", url=url)
        await tools.wait_for("document.body && document.body.dataset.ready === 'true'")
        await tools.wait_for(
            "[...document.querySelectorAll('.chart')].every(chart => chart.querySelector('.main-svg'))"
        )
        run.load_seconds = time.monotonic() - started
        for step in steps:
            if step[0] == "click":
                await tools.click(step[1])
            else:
                run.facts[step[1]] = await tools.evaluate(step[2])
        await tools.evaluate("window.scrollTo(0, 0)")
        shot = await tools.call("Page.captureScreenshot", format="png")
        run.screenshot = base64.b64decode(shot["data"])
        await tools.call("Runtime.evaluate", expression="1")  # drain events that arrived meanwhile
    finally:
        conn.close()
    return run


def open_page(page: Path, steps: list[Step] | None = None) -> PageRun:
    """Open `page` offline in a fresh headless Chromium, take the `steps`, then a screenshot of the top."""
    binary = find_chromium()
    if binary is None:
        raise FileNotFoundError("no chromium on PATH")
    # Chromium's helper processes (renderers, crashpad) can outlive the browser and still write to the
    # profile: they share its process group, which is stopped as a whole, and whatever they leave behind
    # is not the test's business.
    with tempfile.TemporaryDirectory(prefix="daytape-chromium-", ignore_cleanup_errors=True) as folder:
        profile = Path(folder)
        process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            ws_url = _page_target(_devtools_port(profile, process))
            return asyncio.run(_drive(ws_url, page, steps or []))
        finally:
            _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the browser's process group, SIGKILL to what is left after 30 s."""
    for number in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, number)
        try:
            process.wait(timeout=30)
            return
        except subprocess.TimeoutExpired:
            continue


def pick_symbol(symbol: str) -> str:
    """JS that shows `symbol`'s charts, as choosing it in the page's symbol list does; its value is the choice."""
    return (
        "(async () => { const s = document.querySelector('#symbol');"
        f" s.value = {json.dumps(symbol)}; s.dispatchEvent(new Event('change'));"
        " while (document.body.dataset.ready !== 'true') await new Promise(done => setTimeout(done, 20));"
        " return s.value; })()"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path)
    parser.add_argument("--screenshot", type=Path, required=True)
    parser.add_argument("--symbol", help="show this symbol's charts")
    parser.add_argument("--click", action="append", default=[], help="a request id whose lane mark to click")
    args = parser.parse_args()
    steps: list[Step] = [("eval", "symbol", pick_symbol(args.symbol))] if args.symbol else []
    run = open_page(args.page, steps + [("click", f'.mark[data-request="{r}"]') for r in args.click])
    args.screenshot.write_bytes(run.screenshot)
    print(f"{args.page}: opened in {run.load_seconds:.2f} s; errors: {run.errors or 'none'}; wrote {args.screenshot}")


if __name__ == "__main__":
    main()
