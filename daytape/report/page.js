// The report page: reads the JSON document in #daytape-data and draws it with the inlined plotly.js.
(function () {
  "use strict";
  const doc = JSON.parse(document.getElementById("daytape-data").textContent);
  const $ = (sel, root) => (root || document).querySelector(sel);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== null && value !== undefined) node.setAttribute(key, value);
    }
    for (const child of children) node.append(child);
    return node;
  };
  const hhmm = (ms) => (ms === null || ms === undefined ? "" : new Date(ms).toISOString().slice(11, 19));
  const stamp = (ms) => new Date(ms).toISOString().slice(0, 19).replace("T", " ");
  let current = null;
  const parsed = new Map();
  // A day or a symbol's charts: gzip-compressed JSON in base64, inflated the first time it is shown.
  const load = async (id) => {
    if (!parsed.has(id)) {
      const bytes = Uint8Array.from(atob(document.getElementById(id).textContent), (c) => c.charCodeAt(0));
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
      parsed.set(id, JSON.parse(await new Response(stream).text()));
    }
    return parsed.get(id);
  };

  function showExplain(requestId) {
    const day = current;
    const panel = $("#explain");
    panel.replaceChildren();
    const request = day.requests.find((r) => r.request_id === requestId);
    const chain = day.explain[requestId] || [];
    if (!request) return;
    const who = request.source + (request.plugin ? " " + request.plugin : "");
    panel.append(
      el("h3", { text: `request ${requestId}: ${request.symbol}` }),
      el("p", { text: `from ${who} at ${hhmm(request.t)}: ${request.description} -> ${request.outcome}` +
        (request.reason ? ` (${request.reason})` : "") }),
    );
    const list = el("ol", { class: "chain" });
    for (const event of chain) {
      list.append(el("li", { "data-seq": event.seq }, el("code", { text: `seq ${event.seq} ${event.kind}` }),
        " " + event.summary));
    }
    panel.append(list);
    panel.dataset.request = requestId;
  }

  function drawLanes(day) {
    const box = $("#lanes");
    box.replaceChildren();
    const start = day.open - 60000, end = day.close + 60000, span = end - start;
    const pos = (t) => Math.min(100, Math.max(0, ((t === null ? end : t) - start) / span * 100));
    for (const lane of day.lanes) {
      const track = el("div", { class: "track" });
      for (const seg of lane.segments) {
        const who = (seg.source || "") + (seg.plugin ? " " + seg.plugin : "");
        const left = pos(seg.start), right = pos(seg.end === null ? day.close : seg.end);
        track.append(el("div", {
          class: `segment ${seg.state}`, style: `left:${left}%;width:${Math.max(0.4, right - left)}%`,
          title: `${seg.state} from ${hhmm(seg.start)}, by ${who}`, text: `${seg.state} · ${who}`,
          onclick: () => seg.request_id && showExplain(seg.request_id),
        }));
      }
      if (lane.torn_down) {
        track.append(el("div", { class: "teardown", style: `left:${pos(lane.torn_down.t)}%`,
          title: `torn down (seq ${lane.torn_down.seq})` }));
      }
      for (const mark of lane.marks) {
        track.append(el("button", {
          class: `mark ${mark.outcome}`, style: `left:${pos(mark.t)}%`, "data-request": mark.request_id,
          title: `${hhmm(mark.t)} ${mark.label}`, onclick: () => showExplain(mark.request_id),
        }));
      }
      box.append(el("div", { class: "lane", "data-symbol": lane.symbol },
        el("span", { class: "lane-name", text: lane.symbol }), track));
    }
  }

  function drawTables(day) {
    const failed = $("#not-provisioned tbody");
    failed.replaceChildren();
    for (const r of day.requests.filter((r) => r.outcome === "rejected" || r.outcome === "failed")) {
      failed.append(el("tr", { "data-request": r.request_id, onclick: () => showExplain(r.request_id) },
        el("td", { text: hhmm(r.t) }), el("td", { text: r.symbol }), el("td", { text: r.source }),
        el("td", { text: r.outcome }), el("td", { text: r.reason })));
    }
    if (!failed.children.length) failed.append(el("tr", {}, el("td", { colspan: 5, text: "none" })));
    const quality = $("#quality tbody");
    quality.replaceChildren();
    for (const q of day.quality) {
      const flagged = Object.entries(q.flagged).map(([k, v]) => `${v} ${k}`).join(", ");
      const gaps = q.gaps.map((g) => `${hhmm(g.start).slice(0, 5)}-${hhmm(g.end).slice(0, 5)} (${g.missing} missing)`)
        .join(", ");
      quality.append(el("tr", { class: flagged ? "flagged" : "" }, el("td", { text: q.symbol }),
        el("td", { text: q.interval }), el("td", { text: q.count }),
        el("td", { text: q.quality === null || q.quality === undefined ? "" : q.quality.toFixed(4) }),
        el("td", { text: gaps }), el("td", { text: flagged })));
    }
  }

  const num = (x) => (x !== 0 && Math.abs(x) < 1e-3 ? x.toExponential() : String(x));
  const diff = (x) => (x === null || x === undefined ? "no more history" : x === "inf" ? "a value vs none"
    : x === 0 ? "0" : Number(x).toExponential(2));
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  function drawProofs(day) {
    const box = $("#proofs");
    const warm = day.proofs.warmup, ahead = day.proofs.lookahead;
    const rows = $("#warmup tbody");
    rows.replaceChildren();
    const compared = (c) => c.longer.some((x) => x.rel_diff !== null);
    for (const c of warm.checks) {
      const factor = (f) => c.longer.find((x) => x.factor === f) || { rel_diff: null };
      const cell = (f) => diff(factor(f).rel_diff) + (factor(f).rel_diff !== null && factor(f).sessions < f * c.history_sessions
        ? ` (${plural(factor(f).sessions, "session")}: the store has no more)` : "");
      const verdict = !compared(c) ? "not checked" : c.ok ? "ok" : `more than ${num(warm.tolerance)}`;
      rows.append(el("tr", { class: c.ok ? "" : "failed", "data-indicator": `${c.symbol} ${c.indicator}` },
        el("td", { text: c.symbol }), el("td", { text: c.indicator }),
        el("td", { text: `${plural(c.history_sessions, "session")}, ${c.history_bars} bars` }),
        el("td", { text: cell(warm.factors[0]) }), el("td", { text: cell(warm.factors[1]) }),
        el("td", { text: verdict })));
    }
    const checked = warm.checks.filter(compared), worst = warm.checks.filter((c) => !c.ok);
    const unchecked = warm.checks.length - checked.length;
    const warmVerdict = !warm.ok ? "failed" : checked.length ? "passed" : "not checked";
    const notChecked = unchecked ? `; ${unchecked} not checked: the store has no history before what the run used` : "";
    $("#warmup-verdict").className = `verdict ${warmVerdict}`;
    $("#warmup-verdict").textContent = !warm.checks.length ? "no indicator was registered this day"
      : warmVerdict === "failed"
        ? `failed: ${worst.map((c) => `${c.indicator} of ${c.symbol} moved by ${diff(c.max_rel_diff)}`).join("; ")}` +
          ` (tolerance ${num(warm.tolerance)}): its warm-up was too short`
        : warmVerdict === "passed"
          ? `passed: of ${plural(checked.length, "registration")} compared with more history, none moved its first` +
            ` session value by more than the tolerance ${num(warm.tolerance)}${notChecked}`
          : `not checked: the store has no history before what the run used`;
    box.dataset.warmup = warmVerdict;
    const moments = $("#lookahead tbody");
    moments.replaceChildren();
    let aheadVerdict, text;
    if (!ahead) {
      aheadVerdict = "not checked";
      text = "not checked: write the report with --lookahead to add it (it re-runs the day up to each moment)";
    } else if (!ahead.plugins.length) {
      aheadVerdict = "no plugins";
      text = "no scanner or strategy: nothing could look ahead";
    } else {
      for (const m of ahead.moments) {
        moments.append(el("tr", { class: m.identical ? "" : "failed", "data-t": m.t_utc },
          el("td", { text: hhmm(m.t) }), el("td", { text: m.calls_compared }),
          el("td", { text: m.identical ? "identical" : `differs: ${m.first_difference}` })));
      }
      const first = ahead.moments.find((m) => !m.identical);
      aheadVerdict = ahead.ok ? "passed" : "failed";
      text = ahead.ok ? `passed: at ${ahead.moments.length} moments (seed ${ahead.seed}) every plugin call and every` +
        " value the view offered was identical with the later bars removed"
        : `failed: at t=${hhmm(first.t)} the first plugin call that differed: ${first.first_difference}`;
    }
    $("#lookahead-verdict").className = `verdict ${aheadVerdict}`;
    $("#lookahead-verdict").textContent = text;
    box.dataset.lookahead = aheadVerdict;
    const summary = $("#proof-summary");
    summary.replaceChildren("Proofs of the day: ",
      el("a", { href: "#proofs", class: `verdict ${warmVerdict}`, text: `warm-up ${warmVerdict}` }), " · ",
      el("a", { href: "#proofs", class: `verdict ${aheadVerdict}`, text: `look-ahead ${aheadVerdict}` }));
  }

  async function drawCharts(day, symbol) {
    const charts = day.chart_symbols.includes(symbol) ? await load(`chart-${day.index}-${symbol}`) : {};
    const box = $("#charts");
    box.replaceChildren();
    for (const [interval, c] of Object.entries(charts)) {
      const div = el("div", { class: "chart", "data-interval": interval, "data-symbol": symbol });
      box.append(el("h3", { text: `${symbol} ${interval}` }), div);
      const traces = [{
        type: "candlestick", x: c.t, open: c.open, high: c.high, low: c.low, close: c.close,
        name: interval, showlegend: false,
      }];
      let oscillators = false;
      for (const [name, ind] of Object.entries(c.indicators)) {
        oscillators = oscillators || ind.oscillator;
        traces.push({ type: "scatter", mode: "lines", x: c.t, y: ind.values, name, yaxis: ind.oscillator ? "y2" : "y" });
      }
      const lows = c.low.filter((v) => v !== null);
      const floor = lows.length ? Math.min(...lows) : 0;
      traces.push({
        type: "scatter", mode: "markers", name: "provisioned", x: c.marks.map((m) => Math.max(m.t, day.open)),
        y: c.marks.map(() => floor), customdata: c.marks.map((m) => m.request_id),
        text: c.marks.map((m) => m.label), hovertemplate: "%{text}<extra>%{customdata}</extra>",
        marker: { symbol: "triangle-up", size: 13, color: "#d62728" },
      });
      const shapes = [];
      if (c.history > 0) {
        shapes.push({ type: "rect", xref: "x", yref: "paper", x0: c.t[0], x1: day.open, y0: 0, y1: 1,
          fillcolor: "rgba(120,120,120,0.15)", line: { width: 0 }, layer: "below" });
      }
      for (const g of c.gaps) {
        shapes.push({ type: "rect", xref: "x", yref: "paper", x0: g.start, x1: g.end, y0: 0, y1: 1,
          fillcolor: "rgba(255,165,0,0.3)", line: { width: 0 }, layer: "below" });
      }
      const breaks = [];
      for (let i = 1; i < c.t.length; i++) {
        if (c.t[i] - c.t[i - 1] > 3 * 3600 * 1000) breaks.push({ bounds: [c.t[i - 1], c.t[i] - c.width] });
      }
      const annotations = c.history > 0 ? [{ x: c.t[0], y: 1, xref: "x", yref: "paper", xanchor: "left",
        text: "warm-up history", showarrow: false, font: { size: 10, color: "#555" } }] : [];
      const layout = {
        height: oscillators ? 400 : 320, margin: { l: 50, r: 20, t: 10, b: 30 }, shapes, annotations,
        xaxis: { type: "date", rangeslider: { visible: false }, rangebreaks: breaks },
        yaxis: { title: { text: "price" }, domain: oscillators ? [0.34, 1] : [0, 1] },
        legend: { orientation: "h" },
      };
      if (oscillators) layout.yaxis2 = { domain: [0, 0.28], anchor: "x" };
      Plotly.newPlot(div, traces, layout, { displaylogo: false, responsive: true });
      div.on("plotly_click", (event) => {
        const point = event.points.find((p) => p.customdata);
        if (point) showExplain(point.customdata);
      });
    }
  }

  function drawScrubber(day) {
    const range = $("#scrubber");
    range.max = String(day.checkpoints.length - 1);
    const ended = day.checkpoints.findIndex((p) => p.kind === "SessionEnded");
    const start = ended >= 0 ? ended : day.checkpoints.length - 1;
    range.value = String(start);
    range.oninput = () => showCheckpoint(day, Number(range.value));
    showCheckpoint(day, start);
  }

  function showCheckpoint(day, index) {
    const point = day.checkpoints[index];
    if (!point) return;
    $("#scrub-at").textContent = `seq ${point.seq} (${point.kind}) at ${point.t === null ? "-" : stamp(point.t)}` +
      ` · session ${point.session_state}`;
    const body = $("#state tbody");
    body.replaceChildren();
    for (const [symbol, s] of Object.entries(point.symbols)) {
      body.append(el("tr", { "data-symbol": symbol }, el("td", { text: symbol }), el("td", { text: s.state }),
        el("td", { text: s.added_by }), el("td", { text: s.intervals.join(", ") }),
        el("td", { text: s.indicators.join(", ") })));
    }
    for (const [symbol, reason] of Object.entries(point.rejected)) {
      body.append(el("tr", { class: "rejected" }, el("td", { text: symbol }), el("td", { text: "rejected" }),
        el("td", { colspan: 3, text: reason })));
    }
  }

  async function showDay(index) {
    current = await load(`day-${index}`);
    current.index = index;
    const day = current;
    $("#day-title").textContent = `${day.date} · ${stamp(day.open).slice(11, 16)}-${stamp(day.close).slice(11, 16)}` +
      ` ${doc.run.exchange_tz}${day.early_close ? " (early close)" : ""} · session ${day.session_state}`;
    drawLanes(day);
    drawTables(day);
    drawProofs(day);
    drawScrubber(day);
    const pick = $("#symbol");
    pick.replaceChildren(...day.chart_symbols.map((s) => el("option", { value: s, text: s })));
    pick.onchange = async () => {
      document.body.dataset.ready = "false";
      await drawCharts(day, pick.value);
      document.body.dataset.ready = "true";
    };
    if (pick.options.length) await drawCharts(day, pick.value);
    $("#explain").replaceChildren(el("p", { text: "Click a marker or a lane to see why it is there." }));
  }

  function drawManifest() {
    const run = doc.run;
    $("#run-title").textContent = `daytape run ${run.run_id} · ${run.name} · ${run.status}`;
    const rows = [["run id", run.run_id], ["status", run.status], ["started", run.started_at],
      ["finished", run.finished_at || ""], ["config hash", run.config_hash], ["data digest", run.data_digest || ""],
      ["code version", run.code_version], ["seed", run.seed === null ? "" : String(run.seed)]];
    if (run.seal) rows.push(["seal", run.seal]);
    const table = $("#manifest tbody");
    for (const [key, value] of rows) table.append(el("tr", {}, el("th", { text: key }), el("td", { text: value })));
    $("#config").textContent = JSON.stringify(run.config, null, 2);
  }

  drawManifest();
  const days = $("#day");
  days.replaceChildren(...doc.days.map((d, i) => el("option", { value: String(i), text: d.date })));
  days.onchange = async () => {
    document.body.dataset.ready = "false";
    await showDay(Number(days.value));
    document.body.dataset.ready = "true";
  };
  window.daytapeReport = { day: () => current };
  (async () => {
    if (doc.days.length) await showDay(0);
    document.body.dataset.ready = "true";
  })();
})();
