"""The report as one HTML file: the page's script, its style, plotly.js and the run's data, all inlined.

The data is cut into script elements: the run and its dates (JSON), each day and each day's charts per
symbol (gzip-compressed JSON in base64); the page inflates a piece when it first shows it.

The page fetches nothing: it opens offline from a file, and keeps opening as long as browsers run
plotly.js. The plotly.js in it is plotly's "finance" partial bundle (bar, candlestick, ohlc, scatter and a
few more trace types; a quarter of the full bundle's size), vendored here from the npm package
`plotly.js-finance-dist-min` (`PLOTLY_VERSION`, MIT licence: plotly-finance.LICENSE.txt, named in the page).
"""

from __future__ import annotations

import base64
import gzip
import html
import json
from importlib import resources
from typing import Any

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="generator" content="daytape {version}">
<title>{title}</title>
<style>{css}</style>
<!-- plotly.js {plotly_version}, finance bundle (npm plotly.js-finance-dist-min), inlined. Its licence:
{plotly_licence}-->
<script>{plotly}</script>
</head><body>
<h1 id="run-title"></h1>
<label>Session day <select id="day"></select></label> <span id="day-title"></span>
<p id="proof-summary"></p>
<div id="layout"><main>
<h2>Symbols across the day</h2>
<div class="legend"><span><i style="background:#ff9f1c"></i>adhoc</span>
<span><i style="background:#1f77b4"></i>full</span>
<span><i style="background:#444"></i>torn down</span>
<span><i style="background:#2ca02c;border-radius:50%"></i>request (red: rejected or failed)</span></div>
<div id="lanes"></div>
<h2>Session state at a point (as <code>daytape replay --until</code>)</h2>
<input type="range" id="scrubber" min="0" max="0" step="1"> <div id="scrub-at"></div>
<table id="state"><thead><tr><th>symbol</th><th>state</th><th>added by</th><th>intervals</th>
<th>indicators</th></tr></thead><tbody></tbody></table>
<h2>Bars and indicators</h2>
<label>Symbol <select id="symbol"></select></label>
<span class="legend">triangles: where it was provisioned (click for why); grey: warm-up history; orange: gaps</span>
<div id="charts"></div>
<h2>Data quality</h2>
<table id="quality"><thead><tr><th>symbol</th><th>interval</th><th>bars</th><th>quality</th><th>gaps</th>
<th>flagged bars</th></tr></thead><tbody></tbody></table>
<h2>Proofs</h2>
<div id="proofs">
<h3>Warm-up: each indicator recomputed with 2x and 4x the history it got (as <code>daytape verify --warmup</code>)</h3>
<p class="verdict" id="warmup-verdict"></p>
<table id="warmup"><thead><tr><th>symbol</th><th>indicator</th><th>history</th><th>difference at the first
session bar, 2x</th><th>4x</th><th>verdict</th></tr></thead><tbody></tbody></table>
<h3>Look-ahead: the day re-run to sampled moments t without the bars after t (as
<code>daytape verify --lookahead</code>)</h3>
<p class="verdict" id="lookahead-verdict"></p>
<table id="lookahead"><thead><tr><th>t</th><th>plugin calls compared</th><th>verdict</th></tr></thead>
<tbody></tbody></table>
</div>
<h2>Rejected and failed requests</h2>
<table id="not-provisioned"><thead><tr><th>time</th><th>symbol</th><th>source</th><th>outcome</th><th>reason</th>
</tr></thead><tbody></tbody></table>
<h2>Manifest</h2>
<table id="manifest"><tbody></tbody></table>
<pre id="config"></pre>
</main><aside id="explain"></aside></div>
<script type="application/json" id="daytape-data">{data}</script>
{days}
<script>{script}</script>
</body></html>
"""


#: The vendored bundle's version (its npm package's, and the one its own header names).
PLOTLY_VERSION = "4.1.0"
PLOTLY_BUNDLE = "plotly-finance.min.js"
PLOTLY_LICENCE = "plotly-finance.LICENSE.txt"


def _asset(name: str) -> str:
    return resources.files("daytape.report").joinpath(name).read_text(encoding="utf-8")


def plotly_js() -> str:
    """The vendored plotly.js bundle's text."""
    return _asset(PLOTLY_BUNDLE)


def _script_safe(text: str) -> str:
    """Text that cannot end the <script> element it sits in."""
    return text.replace("</", "<\\/")


def _json(value: Any) -> str:
    return _script_safe(json.dumps(value, separators=(",", ":"), allow_nan=False))


def _packed(ident: str, value: Any) -> str:
    """`value` as gzip-compressed JSON in base64, in a script element the browser does not run: a fifth of
    the text to read when the page opens; the page inflates it with DecompressionStream when it shows it."""
    raw = json.dumps(value, separators=(",", ":"), allow_nan=False).encode()
    body = base64.b64encode(gzip.compress(raw, compresslevel=6, mtime=0)).decode("ascii")
    return f'<script type="application/gzip" id="{html.escape(ident, quote=True)}">{body}</script>'


def _day_scripts(index: int, day: dict[str, Any]) -> str:
    """A day's data, and each symbol's charts apart: the page inflates only the day and the symbol it shows,
    so a report of many days and symbols opens about as fast as one of a single day."""
    charts = day["charts"]
    head = {**{k: v for k, v in day.items() if k != "charts"}, "chart_symbols": list(charts)}
    scripts = [_packed(f"day-{index}", head)]
    scripts.extend(_packed(f"chart-{index}-{symbol}", data) for symbol, data in charts.items())
    return "\n".join(scripts)


def render(document: dict[str, Any], version: str) -> str:
    """The page for a `model.run_document`."""
    run = document["run"]
    return PAGE.format(
        version=html.escape(version),
        title=html.escape(f"daytape report: {run['name']} {run['run_id'][:12]}"),
        css=_asset("page.css"),
        plotly_version=PLOTLY_VERSION,
        plotly_licence=html.escape(_asset(PLOTLY_LICENCE)).replace("--", "- -"),
        plotly=_script_safe(plotly_js()),
        data=_json({"run": run, "days": [{"date": day["date"]} for day in document["days"]]}),
        days="\n".join(_day_scripts(index, day) for index, day in enumerate(document["days"])),
        script=_script_safe(_asset("page.js")),
    )
