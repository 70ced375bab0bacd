// The sseguard dashboard: hash-routed views over /dashboard/api (docs/dashboard.md).
// Plain JS, no build step. Everything from the server is put in the page as text, never as HTML.
"use strict";

const API = "/dashboard/api";
const LIVE_ROWS = 200; // rows the live view keeps
const state = { range: "1h", faults: {}, live: null, liveRows: [], charts: [] };
const main = document.getElementById("main");

// ---- small helpers ----------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "onclick") node.addEventListener("click", value);
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Catalogue prose: `code` spans become <code>, the rest stays text.
function prose(text) {
  return el("span", {}, String(text || "").split("`").map((part, i) => (i % 2 ? el("code", {}, part) : part)));
}

function seconds(value) {
  if (value === null || value === undefined) return "–";
  if (value < 0.01) return `${(value * 1000).toFixed(1)} ms`;
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
}

function when(epoch) {
  return new Date(epoch * 1000).toLocaleString();
}

function clock(epoch) {
  return new Date(epoch * 1000).toLocaleTimeString();
}

function percent(part, whole) {
  return whole ? `${((100 * part) / whole).toFixed(1)} %` : "–";
}

async function getJSON(path) {
  const response = await fetch(path, { headers: { accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body.error && body.error.message) || `HTTP ${response.status}`);
  return body;
}

function showError(error) {
  const box = document.getElementById("error");
  box.hidden = !error;
  box.textContent = error ? String(error.message || error) : "";
}

// An outcome as the operator reads it: fell back (another deployment answered) is shown beside it.
function outcome(rec) {
  const tags = [el("span", { class: `outcome ${rec.outcome}` }, rec.outcome)];
  if (rec.deployments && rec.deployments.length > 1) tags.push(" ", el("span", { class: "outcome fell-back" }, "fell back"));
  return tags;
}

function chips(anomalies) {
  const ids = Object.keys(anomalies || {}).sort();
  if (!ids.length) return "–";
  return ids.map((id) => {
    const value = anomalies[id];
    const count = typeof value === "object" ? value.count : value;
    const name = state.faults[id] ? state.faults[id].name : "";
    return el("span", { class: "chip", "data-fault": id, title: name }, count > 1 ? `${id} ×${count}` : id);
  });
}

function setView(name) {
  document.body.dataset.view = name;
  document.body.dataset.ready = "";
  for (const link of document.querySelectorAll("[data-nav]")) link.classList.toggle("active", link.dataset.nav === name);
  for (const chart of state.charts) chart.destroy();
  state.charts = [];
  main.replaceChildren();
  showError(null);
}

function ready() {
  document.body.dataset.ready = "1";
}

// ---- request tables ----------------------------------------------------------------------------

const REQUEST_HEADS = ["time", "model", "deployment", "status", "outcome", "TTFT", "duration", "longest gap", "anomalies"];

function requestRow(rec, fresh) {
  return el(
    "tr",
    { class: fresh ? "click fresh" : "click", "data-request-id": rec.request_id, onclick: () => (location.hash = `#/request/${rec.request_id}`) },
    el("td", {}, clock(rec.started_at)),
    el("td", {}, rec.client_model || rec.endpoint),
    el("td", {}, rec.deployment || "–"),
    el("td", { class: "num" }, rec.status),
    el("td", {}, outcome(rec)),
    el("td", { class: "num" }, seconds(rec.ttft)),
    el("td", { class: "num" }, seconds(rec.duration)),
    el("td", { class: "num" }, seconds(rec.max_gap)),
    el("td", {}, chips(rec.anomalies)),
  );
}

function requestTable(id) {
  return el("table", { id }, el("thead", {}, el("tr", {}, REQUEST_HEADS.map((h) => el("th", {}, h)))), el("tbody"));
}

// A paged list: the first page now, the next ones on "More" by the API's cursor.
async function pagedRequests(container, filters) {
  const table = requestTable("requests");
  const more = el("button", { id: "more", hidden: true }, "More");
  container.append(table, el("p", {}, more));
  let cursor = null;
  async function load() {
    const query = new URLSearchParams({ range: state.range, limit: "50", ...filters });
    if (cursor) query.set("cursor", cursor);
    const page = await getJSON(`${API}/requests?${query}`);
    table.tBodies[0].append(...page.requests.map((rec) => requestRow(rec, false)));
    cursor = page.next;
    more.hidden = !cursor;
    if (!table.tBodies[0].rows.length) table.tBodies[0].append(el("tr", {}, el("td", { colSpan: 9, class: "muted" }, "No requests in this range.")));
  }
  more.addEventListener("click", () => load().catch(showError));
  await load();
}

// ---- overview ----------------------------------------------------------------------------------

async function overview() {
  setView("overview");
  main.append(el("h1", {}, "Deployments"), el("p", { class: "muted" }, "What each upstream deployment did in the range: failures, what sseguard repaired (by fault ID), resumes and fallbacks."));
  const data = await getJSON(`${API}/deployments?range=${state.range}`);
  const heads = ["deployment", "requests", "errors", "error rate", "resumed", "fell back", "repaired / found (fault IDs)", "TTFT p50", "TTFT p99", "gap p50", "gap p99"];
  const body = el("tbody");
  for (const row of data.deployments) {
    body.append(
      el(
        "tr",
        { class: "click", "data-deployment": row.deployment, onclick: () => (location.hash = `#/deployment/${encodeURIComponent(row.deployment)}`) },
        el("td", {}, el("a", { href: `#/deployment/${encodeURIComponent(row.deployment)}` }, row.deployment)),
        el("td", { class: "num" }, row.requests),
        el("td", { class: "num" }, row.errors),
        el("td", { class: "num" }, percent(row.errors, row.requests)),
        el("td", { class: "num" }, row.resumed),
        el("td", { class: "num" }, row.fell_back),
        el("td", {}, chips(row.anomalies)),
        el("td", { class: "num" }, seconds(row.ttft_p50)),
        el("td", { class: "num" }, seconds(row.ttft_p99)),
        el("td", { class: "num" }, seconds(row.gap_p50)),
        el("td", { class: "num" }, seconds(row.gap_p99)),
      ),
    );
  }
  if (!data.deployments.length) body.append(el("tr", {}, el("td", { colSpan: heads.length, class: "muted" }, "No upstream requests in this range.")));
  main.append(el("table", { id: "deployments" }, el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, h)))), body));
  main.append(el("h2", {}, "Recent requests"));
  await pagedRequests(main, {});
  ready();
}

// ---- one deployment ----------------------------------------------------------------------------

// One uPlot chart over the whole range (empty slices are gaps), as wide as its grid cell.
function chart(title, range, points, series, unit) {
  const box = el("div", { class: "card chart" }, el("h3", {}, title));
  main.querySelector(".charts").append(box);
  const xs = points.map((p) => p.t);
  const data = [xs, ...series.map((s) => points.map((p) => p[s.key]))];
  const opts = {
    width: Math.max(300, box.clientWidth - 30),
    height: 200,
    scales: { x: { time: true, range: [range.since, range.until] } },
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, spanGaps: false, value: (u, v) => (v === null ? "–" : unit(v)) }))],
    axes: [{}, { values: (u, values) => values.map(unit), size: 60 }],
  };
  state.charts.push(new uPlot(opts, data, box));
}

async function deployment(name) {
  setView("deployment");
  document.body.dataset.deployment = name;
  const range = `range=${state.range}`;
  const [summary, series] = await Promise.all([
    getJSON(`${API}/deployments?${range}`),
    getJSON(`${API}/series?${range}&deployment=${encodeURIComponent(name)}&buckets=60`),
  ]);
  const row = summary.deployments.find((d) => d.deployment === name) || { requests: 0, errors: 0, resumed: 0, fell_back: 0, anomalies: {} };
  main.append(
    el("h1", {}, "Deployment ", el("code", {}, name)),
    el(
      "div",
      { class: "cards" },
      [
        ["requests", row.requests],
        ["error rate", percent(row.errors, row.requests)],
        ["resumed", row.resumed],
        ["fell back", row.fell_back],
        ["TTFT p50 / p99", `${seconds(row.ttft_p50)} / ${seconds(row.ttft_p99)}`],
        ["longest gap p50 / p99", `${seconds(row.gap_p50)} / ${seconds(row.gap_p99)}`],
      ].map(([label, value]) => el("div", { class: "card" }, el("span", { class: "muted" }, label), el("b", {}, value))),
    ),
    el("h2", {}, "Over time"),
    el("div", { class: "charts" }),
  );
  const points = series.points;
  const count = (v) => String(Math.round(v));
  chart("Requests, errors and repaired faults", series, points, [
    { key: "requests", label: "requests", color: "#0b57d0" },
    { key: "errors", label: "errors", color: "#cf222e" },
    { key: "anomalies", label: "faults repaired/found", color: "#bc4c00" },
  ], count);
  chart("Time to first token (p50, p99)", series, points, [
    { key: "ttft_p50", label: "p50", color: "#1a7f37" },
    { key: "ttft_p99", label: "p99", color: "#9a6700" },
  ], seconds);
  chart("Longest gap between events per stream (p50, p99)", series, points, [
    { key: "gap_p50", label: "p50", color: "#6639ba" },
    { key: "gap_p99", label: "p99", color: "#cf222e" },
  ], seconds);
  chart("Resumed and fell back", series, points, [
    { key: "resumed", label: "resumed", color: "#9a6700" },
    { key: "fell_back", label: "fell back", color: "#6639ba" },
  ], count);
  main.append(el("h2", {}, "Faults repaired or found"));
  const faults = Object.entries(row.anomalies).sort();
  const table = el("table", { id: "faults" }, el("thead", {}, el("tr", {}, ["ID", "occurrences", "requests", "name", "what sseguard does"].map((h) => el("th", {}, h)))));
  const body = el("tbody");
  for (const [id, n] of faults) {
    const entry = state.faults[id] || {};
    body.append(el("tr", { "data-fault": id }, el("td", {}, el("span", { class: "chip" }, id)), el("td", { class: "num" }, n.count), el("td", { class: "num" }, n.requests), el("td", {}, prose(entry.name)), el("td", {}, prose(entry.does))));
  }
  if (!faults.length) body.append(el("tr", {}, el("td", { colSpan: 5, class: "muted" }, "None in this range.")));
  table.append(body);
  main.append(table, el("h2", {}, "Requests"));
  await pagedRequests(main, { deployment: name });
  ready();
}

// ---- live --------------------------------------------------------------------------------------

function connectLive() {
  if (state.live) return;
  const dot = document.getElementById("live-state");
  const source = new EventSource(`${API}/live`);
  state.live = source;
  source.addEventListener("hello", () => {
    dot.classList.add("open");
    document.body.dataset.live = "open";
  });
  source.addEventListener("request", (event) => {
    const rec = JSON.parse(event.data);
    state.liveRows.unshift(rec);
    state.liveRows.length = Math.min(state.liveRows.length, LIVE_ROWS);
    const table = document.getElementById("live");
    if (table) {
      table.tBodies[0].prepend(requestRow(rec, true));
      while (table.tBodies[0].rows.length > LIVE_ROWS) table.tBodies[0].lastElementChild.remove();
      const empty = document.getElementById("live-empty");
      if (empty) empty.remove();
    }
  });
  // The server dropped this page for falling behind: start again with a fresh stream.
  source.addEventListener("behind", () => {
    source.close();
    state.live = null;
    setTimeout(connectLive, 1000);
  });
  source.addEventListener("error", () => {
    dot.classList.remove("open");
    document.body.dataset.live = "reconnecting";
  });
}

function live() {
  setView("live");
  main.append(el("h1", {}, "Live"), el("p", { class: "muted" }, "Requests as they finish on this gateway process, newest first (the last 200)."));
  const table = requestTable("live");
  table.tBodies[0].append(...state.liveRows.map((rec) => requestRow(rec, false)));
  if (!state.liveRows.length) table.tBodies[0].append(el("tr", { id: "live-empty" }, el("td", { colSpan: 9, class: "muted" }, "Waiting for requests…")));
  main.append(table);
  connectLive();
  ready();
}

// ---- one request -------------------------------------------------------------------------------

function timeline(rec) {
  const attempts = rec.attempts || [];
  const total = attempts.reduce((sum, a) => sum + (a.seconds || 0), 0) || 1;
  const box = el("div", { class: "timeline card", id: "timeline" });
  let offset = 0;
  attempts.forEach((a, i) => {
    const left = (100 * offset) / total;
    const width = Math.max(1, (100 * (a.seconds || 0)) / total);
    offset += a.seconds || 0;
    const label = `${a.status ?? "no status"}${a.fault ? ` ${a.fault}` : ""} · ${seconds(a.seconds)}`;
    box.append(
      el(
        "div",
        { class: "row", "data-attempt": i + 1 },
        el("div", {}, `#${i + 1} `, el("code", {}, a.deployment)),
        el("div", { class: "track", title: a.detail || "" }, el("div", { class: a.fault ? "bar failed" : "bar", style: `left:${left}%;width:${width}%` }, label)),
      ),
    );
    if (a.detail) box.append(el("div", { class: "row" }, el("div"), el("div", { class: "muted" }, a.fault ? `${a.fault} ${state.faults[a.fault] ? `(${state.faults[a.fault].name})` : ""}: ` : "", a.detail)));
  });
  if (!attempts.length) box.append(el("p", { class: "muted" }, "No upstream attempt (answered by the gateway itself)."));
  return box;
}

function keyValues(pairs) {
  return el("dl", { class: "kv card" }, pairs.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

async function request(id) {
  setView("request");
  // A request opened from the live view as it finished may not be written yet: the request
  // log writes in batches (within a second) and captures are saved after the response.
  let data = null;
  for (let tries = 0; tries < 12; tries++) {
    data = await getJSON(`${API}/requests/${encodeURIComponent(id)}`).catch((error) => (tries < 11 ? null : Promise.reject(error)));
    if (data && data.record) break;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const rec = data.record;
  main.append(el("h1", {}, "Request ", el("code", {}, id)));
  if (rec) {
    main.append(
      keyValues([
        ["started", when(rec.started_at)],
        ["endpoint", `${rec.endpoint} (${rec.client_format}${rec.stream ? ", streamed" : ""})`],
        ["model", rec.client_model || "–"],
        ["route", rec.route || "–"],
        ["deployments tried", (rec.deployments || []).join(" → ") || "–"],
        ["status", String(rec.status)],
        ["outcome", outcome(rec)],
        ["mid-stream", `${rec.midstream}${rec.resumes ? `, ${rec.resumes} resume(s)` : ""}`],
        ["stop reason", rec.stop_reason || "–"],
        ["TTFB / TTFT / duration", `${seconds(rec.ttfb)} / ${seconds(rec.ttft)} / ${seconds(rec.duration)}`],
        ["events out, longest gap", `${rec.events_out}, ${seconds(rec.max_gap)}`],
        ["client disconnected", rec.client_disconnected ? "yes" : "no"],
        ["made for", rec.parent_id ? el("a", { href: `#/request/${rec.parent_id}` }, rec.parent_id) : "–"],
      ]),
      el("h2", {}, "Attempts"),
      timeline(rec),
      el("h2", {}, "Faults repaired or found"),
    );
    const ids = Object.keys(rec.anomalies).sort();
    const body = el("tbody");
    for (const fid of ids) {
      const entry = data.faults[fid] || {};
      body.append(el("tr", { "data-fault": fid }, el("td", {}, el("span", { class: "chip" }, fid)), el("td", { class: "num" }, rec.anomalies[fid]), el("td", {}, prose(entry.name)), el("td", {}, prose(entry.arrives)), el("td", {}, prose(entry.does))));
    }
    if (!ids.length) body.append(el("tr", {}, el("td", { colSpan: 5, class: "muted" }, "None: the stream arrived well-formed.")));
    main.append(el("table", { id: "anomalies" }, el("thead", {}, el("tr", {}, ["ID", "count", "name", "what arrives", "what sseguard does"].map((h) => el("th", {}, h)))), body));
    main.append(el("h2", {}, "Policy decisions"));
    const decisions = rec.decisions || [];
    const decisionRow = (d) =>
      el("tr", {}, el("td", {}, d.policy), el("td", {}, d.decision), el("td", {}, d.subject), el("td", {}, d.reason), el("td", { class: "num" }, d.probability ?? "–"), el("td", { class: "num" }, seconds(d.seconds)));
    const decisionHeads = ["policy", "decision", "subject", "reason", "probability", "time"].map((h) => el("th", {}, h));
    main.append(
      decisions.length
        ? el("table", { id: "decisions" }, el("thead", {}, el("tr", {}, decisionHeads)), el("tbody", {}, decisions.map(decisionRow)))
        : el("p", { class: "muted" }, "None: no policy decided anything about it."),
    );
    if (data.calls.length) {
      main.append(el("h2", {}, "Calls made for it (judges)"), el("table", {}, el("tbody", {}, data.calls.map((c) => requestRow(c, false)))));
    }
    main.append(
      el("h2", {}, "Usage"),
      keyValues([
        ["client received (in / out)", `${rec.input_tokens} / ${rec.output_tokens}`],
        ["cache (create / read)", `${rec.cache_creation_input_tokens} / ${rec.cache_read_input_tokens}`],
        ["billed over all attempts (in / out)", `${rec.billed_input_tokens} / ${rec.billed_output_tokens}`],
        ["billed cache (create / read)", `${rec.billed_cache_creation_input_tokens} / ${rec.billed_cache_read_input_tokens}`],
        ["bytes in / out", `${rec.bytes_in} / ${rec.bytes_out}`],
      ]),
    );
  } else {
    main.append(el("p", { class: "muted" }, "Not in the request log (off, or the record was not written yet); its capture follows."));
  }
  main.append(el("h2", {}, "Raw capture and replay"));
  if (data.capture) await capture(id);
  else main.append(el("p", { class: "muted" }, "No capture kept: routes keep them with capture = true (docs/configuration.md)."));
  ready();
}

async function capture(id) {
  const data = await getJSON(`${API}/requests/${encodeURIComponent(id)}/capture`);
  const box = el("div", { id: "capture" });
  const folded = (summary, ...content) => el("details", {}, el("summary", {}, summary), ...content);
  box.append(el("p", { class: "muted" }, `Folder ${data.folder}`), folded("Client request", el("pre", {}, JSON.stringify(data.client_request, null, 2))));
  for (const up of data.upstream) {
    const r = up.replay;
    box.append(
      el("h3", {}, `Upstream attempt ${up.attempt}: `, el("span", { "data-verdict": up.attempt }, r.verdict)),
      folded(`Raw upstream response (${up.response ? up.response.bytes : 0} bytes)`, el("pre", {}, up.response ? up.response.text : "")),
      el("p", { class: "muted" }, "Replay: each upstream event, what the repair layer sent for it, and why."),
    );
    const rows = r.steps.map((step) =>
      el(
        "tr",
        {},
        el("td", {}, step.in ? `${step.in.event || "(no event: line)"} ${step.in.data}` : "end of stream"),
        el("td", {}, step.out.length ? step.out.map((e) => el("div", {}, `${e.event} ${e.data}`)) : el("span", { class: "muted" }, "(nothing)")),
        el("td", {}, chips(step.anomalies), step.details.map((d) => el("div", { class: "muted" }, d))),
      ),
    );
    for (const e of r.ending) rows.push(el("tr", {}, el("td", {}, "(truthful ending)"), el("td", {}, `${e.event} ${e.data}`), el("td")));
    box.append(el("table", { class: "replay" }, el("thead", {}, el("tr", {}, ["upstream event", "sent to the client", "fault"].map((h) => el("th", {}, h)))), el("tbody", {}, rows)));
    if (r.more_steps) box.append(el("p", { class: "muted" }, `${r.more_steps} more steps not shown.`));
  }
  box.append(folded(`Client response (${data.client_response ? data.client_response.bytes : 0} bytes)`, el("pre", {}, data.client_response ? data.client_response.text : "")));
  main.append(box);
}

// ---- routing -----------------------------------------------------------------------------------

async function route() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [, view, arg] = hash.split("/");
  try {
    if (view === "live") live();
    else if (view === "deployment" && arg) await deployment(decodeURIComponent(arg));
    else if (view === "request" && arg) await request(decodeURIComponent(arg));
    else await overview();
  } catch (error) {
    showError(error);
    document.body.dataset.ready = "error";
  }
}

document.getElementById("range").addEventListener("change", (event) => {
  state.range = event.target.value;
  route();
});
window.addEventListener("hashchange", route);

getJSON(`${API}/faults`)
  .then((table) => {
    state.faults = table;
  })
  .catch(showError)
  .finally(() => {
    connectLive();
    route();
  });
