"""The report as one HTML file: the page's script, its style, plotly.js and the run's data, all inlined.

The page fetches nothing: it opens offline from a file, and keeps opening as long as browsers run
plotly.js. plotly.js is plotly's own bundle from the `plotly` package (MIT licence, named in the page).
"""

from __future__ import annotations

import html
import json
from importlib import resources
from typing import Any

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="generator" content="daytape {version}">
<title>{title}</title>
<style>{css}</style>
<!-- plotly.js {plotly_version} (MIT licence, https://github.com/plotly/plotly.js), inlined -->
<script>{plotly}</script>
</head><body>
<h1 id="run-title"></h1>
<label>Session day <select id="day"></select></label> <span id="day-title"></span>
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
<h2>Rejected and failed requests</h2>
<table id="not-provisioned"><thead><tr><th>time</th><th>symbol</th><th>source</th><th>outcome</th><th>reason</th>
</tr></thead><tbody></tbody></table>
<h2>Manifest</h2>
<table id="manifest"><tbody></tbody></table>
<pre id="config"></pre>
</main><aside id="explain"></aside></div>
<script type="application/json" id="daytape-data">{data}</script>
<script>{script}</script>
</body></html>
"""


def _asset(name: str) -> str:
    return resources.files("daytape.report").joinpath(name).read_text(encoding="utf-8")


def _script_safe(text: str) -> str:
    """Text that cannot end the <script> element it sits in."""
    return text.replace("</", "<\\/")


def render(document: dict[str, Any], version: str) -> str:
    """The page for a `model.run_document`."""
    import plotly
    from plotly.offline import get_plotlyjs

    run = document["run"]
    return PAGE.format(
        version=html.escape(version),
        title=html.escape(f"daytape report: {run['name']} {run['run_id'][:12]}"),
        css=_asset("page.css"),
        plotly_version=plotly.__version__,
        plotly=_script_safe(get_plotlyjs()),
        data=_script_safe(json.dumps(document, separators=(",", ":"), allow_nan=False)),
        script=_script_safe(_asset("page.js")),
    )
