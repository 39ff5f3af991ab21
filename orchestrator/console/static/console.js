// sfn-orchestrator console: the pages' script (served by the package; no third-party code).
// Reads the console API (/console/api/...) and acts through the Step Functions API itself
// (POST / with X-Amz-Target), exactly as an SDK or the CLI would.
"use strict";

(function () {
  const body = document.body;
  const main = document.getElementById("main");
  const live = document.getElementById("live");
  const POLL_RUNNING_MS = 1000, POLL_IDLE_MS = 3000;

  // -- helpers ------------------------------------------------------------------------------
  const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(value) { return String(value == null ? "" : value).replace(/[&<>"']/g, (c) => ESC[c]); }
  function q(params) {
    const out = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") out.set(k, v);
    return out.toString();
  }
  async function api(path, params) {
    const response = await fetch("/console/api/" + path + "?" + q(params || {}), { headers: { Accept: "application/json" } });
    const data = await response.json();
    if (!response.ok) throw new Error(data.message || response.statusText);
    return data;
  }
  // One call of the Step Functions API, as the SDKs make it (awsJson1_0).
  async function sfn(operation, payload) {
    const response = await fetch("/", {
      method: "POST",
      headers: { "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AWSStepFunctions." + operation },
      body: JSON.stringify(payload),
    });
    const text = await response.text();
    let data = {};
    try { data = text ? JSON.parse(text) : {}; } catch (e) { data = { message: text }; }
    if (!response.ok) {
      const kind = String(data.__type || "").split("#").pop() || response.status;
      throw new Error(kind + ": " + (data.message || data.Message || text));
    }
    return data;
  }
  function toast(text, bad) {
    const el = document.createElement("div");
    el.className = "toast" + (bad ? " bad" : "");
    el.textContent = text;
    document.body.appendChild(el);
    setTimeout(() => el.remove(), bad ? 9000 : 4000);
  }
  function ms(value) { return value == null ? null : (typeof value === "number" ? value : Date.parse(value)); }
  function duration(msValue) {
    if (msValue == null) return "";
    if (msValue < 1000) return msValue + " ms";
    const s = msValue / 1000;
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + " s";
    const m = Math.floor(s / 60), rest = Math.round(s % 60);
    if (m < 60) return m + " min " + rest + " s";
    return Math.floor(m / 60) + " h " + (m % 60) + " min";
  }
  function when(value) {
    if (!value) return "";
    const d = new Date(ms(value));
    return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }
  function ago(value) {
    if (!value) return "";
    const s = Math.round((Date.now() - ms(value)) / 1000);
    if (s < 0) return "in " + duration(-s * 1000);
    if (s < 60) return s + " s ago";
    if (s < 3600) return Math.round(s / 60) + " min ago";
    if (s < 86400) return Math.round(s / 3600) + " h ago";
    return Math.round(s / 86400) + " d ago";
  }
  function badge(status) { return `<span class="badge ${esc(status)}" data-status="${esc(status)}">${esc(status)}</span>`; }
  function link(arn) { return "/executions/" + encodeURI(arn); }
  function json(value) {
    if (value == null) return "null";
    if (typeof value === "string") { try { return JSON.stringify(JSON.parse(value), null, 2); } catch (e) { return value; } }
    return JSON.stringify(value, null, 2);
  }
  function setLive(ok, text) { live.className = "live " + (ok ? "on" : "off"); live.textContent = text; }
  // Poll `task` every `delay()` ms; pauses while the tab is hidden.
  function every(delay, task) {
    let timer = null;
    const tick = async () => {
      try { await task(); setLive(true, "live"); } catch (e) { setLive(false, "offline: " + e.message); }
      timer = setTimeout(tick, document.hidden ? 5000 : delay());
    };
    timer = setTimeout(tick, delay());
    return () => clearTimeout(timer);
  }
  // One tooltip for the page (data-tip), instead of an SVG <title> per box and bar.
  const tip = document.createElement("div");
  tip.className = "tip";
  tip.hidden = true;
  document.body.appendChild(tip);
  document.addEventListener("mouseover", (event) => {
    const el = event.target.closest && event.target.closest("[data-tip]");
    if (!el) { tip.hidden = true; return; }
    tip.textContent = el.dataset.tip;
    tip.hidden = false;
  });
  document.addEventListener("mousemove", (event) => {
    if (tip.hidden) return;
    tip.style.left = Math.min(event.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + "px";
    tip.style.top = (event.clientY + 16) + "px";
  });
  for (const a of document.querySelectorAll("header nav a")) {
    if (a.dataset.nav === body.dataset.page || (a.dataset.nav === "executions" && body.dataset.page === "execution")) a.classList.add("current");
  }

  // -- start dialog (StartExecution) --------------------------------------------------------
  function startDialog(stateMachineArn, title, input) {
    const dialog = document.createElement("dialog");
    dialog.innerHTML = `<h2>Start ${esc(title)}</h2>
      <p class="hint">StartExecution on <code>${esc(stateMachineArn)}</code></p>
      <label class="small muted">Name (optional)<br><input name="name" size="48" placeholder="generated when empty"></label>
      <p class="small muted">Input (JSON)</p><textarea name="input">${esc(input || "{}")}</textarea>
      <p class="error" hidden></p>
      <div style="margin-top:12px;text-align:right"><button type="button" data-act="cancel">Cancel</button>
      <button type="button" class="primary" data-act="start">Start execution</button></div>`;
    document.body.appendChild(dialog);
    dialog.showModal();
    const error = dialog.querySelector(".error");
    dialog.addEventListener("close", () => dialog.remove());
    dialog.addEventListener("click", async (event) => {
      const act = event.target.dataset && event.target.dataset.act;
      if (act === "cancel") dialog.close();
      if (act !== "start") return;
      const text = dialog.querySelector("textarea").value.trim() || "{}";
      try { JSON.parse(text); } catch (e) { error.hidden = false; error.textContent = "The input is not JSON: " + e.message; return; }
      const payload = { stateMachineArn: stateMachineArn, input: text };
      const name = dialog.querySelector("input[name=name]").value.trim();
      if (name) payload.name = name;
      event.target.disabled = true;
      try {
        const started = await sfn("StartExecution", payload);
        window.location.href = link(started.executionArn);
      } catch (e) { error.hidden = false; error.textContent = e.message; event.target.disabled = false; }
    });
  }

  // -- workflows page -----------------------------------------------------------------------
  async function workflowsPage() {
    main.innerHTML = `<h1>Workflows</h1><div class="panel"><table class="workflows"><thead><tr>
      <th>Workflow</th><th>Schedule</th><th>Last runs</th><th class="num">Success</th><th class="num">Latest run</th><th class="num">Usual</th><th></th>
      </tr></thead><tbody><tr><td colspan="7" class="muted">Loading…</td></tr></tbody></table></div>`;
    const tbody = main.querySelector("tbody");
    const served = {};
    main.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-start]");
      if (button) startDialog(served[button.dataset.start], button.dataset.start, "{}");
    });
    async function refresh() {
      const data = await api("workflows");
      if (!data.workflows.length) {
        tbody.innerHTML = `<tr><td colspan="7" class="muted">No workflows are served. Start the console with <code>orchestrator serve PATH</code>.</td></tr>`;
        return;
      }
      tbody.innerHTML = data.workflows.map((w) => {
        served[w.name] = w.state_machine_arn;
        const s = w.schedule;
        const schedule = s ? `<code>${esc(s.expression)}</code> <span class="muted small">${esc(s.timezone)}</span>
          ${s.status === "active" ? "" : ` <span class="badge WAITING">${esc(s.status)}</span>`}
          <div class="small muted">next: ${s.next.length ? esc(when(s.next[0])) + " (" + esc(ago(s.next[0])) + ")" : "none"}</div>
          <div class="small muted">last fire: ${s.last_fire ? esc(when(s.last_fire)) + (s.last_fire_status ? " · " + esc(s.last_fire_status.toLowerCase()) : "") : "none yet"}</div>`
          : '<span class="muted">on demand</span>';
        const runs = w.recent.slice().reverse().map((r) => `<a class="${esc(r.status)}" href="${esc(link(r.arn))}" title="${esc(r.name + " · " + r.status + " · " + when(r.start))}"></a>`).join("");
        const rate = w.success.rate == null ? "" : Math.round(w.success.rate * 100) + "%";
        const latest = w.latest ? badge(w.latest.status) + " " + esc(duration(w.latest.duration_ms)) : '<span class="muted">never run</span>';
        let usual = w.usual_duration_ms == null ? "" : esc(duration(w.usual_duration_ms));
        if (w.usual_duration_ms && w.latest && w.latest.duration_ms != null) {
          const change = Math.round((w.latest.duration_ms / w.usual_duration_ms - 1) * 100);
          usual += ` <span class="small ${change > 25 ? "error" : "muted"}">(${change >= 0 ? "+" : ""}${change}%)</span>`;
        }
        return `<tr data-workflow="${esc(w.name)}"><td><a href="/executions?${esc(q({ workflow: w.name }))}"><b>${esc(w.name)}</b></a>
            <div class="small muted">${esc(w.description || "")}</div><div class="small muted">${w.tasks} tasks · ${w.executions} executions${w.running ? " · " + w.running + " running" : ""}</div></td>
          <td>${schedule}</td><td><span class="runs">${runs || '<span class="muted small">none</span>'}</span></td>
          <td class="num">${rate}<div class="small muted">${w.success.succeeded}/${w.success.finished}</div></td>
          <td class="num">${latest}</td><td class="num">${usual}</td>
          <td><button class="primary" data-start="${esc(w.name)}">Start…</button></td></tr>`;
      }).join("");
    }
    await refresh();
    setLive(true, "live");
    every(() => POLL_IDLE_MS, refresh);
  }

  // -- executions page ----------------------------------------------------------------------
  async function executionsPage() {
    const params = new URLSearchParams(location.search);
    main.innerHTML = `<h1>Executions <span class="muted small" id="total"></span></h1>
      <div class="panel"><form class="filters">
        <label>Workflow<select name="workflow"><option value="">all</option></select></label>
        <label>Status<select name="status"><option value="">any</option>
          ${["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"].map((s) => `<option>${s}</option>`).join("")}</select></label>
        <label>Started after<input type="datetime-local" name="since" step="1"></label>
        <label>Started before<input type="datetime-local" name="until" step="1"></label>
        <label>Name contains<input name="q" placeholder="search"></label>
        <button type="submit">Filter</button><button type="button" data-act="clear">Clear</button>
      </form></div>
      <div class="panel"><table class="executions"><thead><tr><th>Name</th><th>Workflow</th><th>Status</th><th>Started</th><th class="num">Duration</th></tr></thead>
      <tbody></tbody></table><div class="pager"><button data-act="newer" disabled>‹ Newer</button><button data-act="older" disabled>Older ›</button>
      <span class="muted small" id="pageinfo"></span></div></div>`;
    const form = main.querySelector("form");
    const tbody = main.querySelector("tbody");
    const select = form.elements.workflow;
    try {
      const served = await api("workflows");
      for (const w of served.workflows) select.insertAdjacentHTML("beforeend", `<option>${esc(w.name)}</option>`);
    } catch (e) { /* the list still works without the names */ }
    const toLocal = (iso) => { if (!iso) return ""; const d = new Date(iso); return new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 19); };
    for (const key of ["workflow", "status", "q"]) {
      if (key === "workflow" && params.get(key) && ![...select.options].some((o) => o.value === params.get(key))) select.insertAdjacentHTML("beforeend", `<option>${esc(params.get(key))}</option>`);
      form.elements[key].value = params.get(key) || "";
    }
    form.elements.since.value = toLocal(params.get("since"));
    form.elements.until.value = toLocal(params.get("until"));
    let cursors = [""]; // the cursor of each page shown so far; the last is the current page
    let next = null;
    function filters() {
      const f = {};
      for (const key of ["workflow", "status", "q"]) f[key] = form.elements[key].value.trim();
      for (const key of ["since", "until"]) f[key] = form.elements[key].value ? new Date(form.elements[key].value).toISOString() : "";
      return f;
    }
    async function refresh() {
      const data = await api("executions", Object.assign(filters(), { page: cursors[cursors.length - 1] }));
      next = data.next;
      main.querySelector("#total").textContent = data.total + " matching";
      main.querySelector("#pageinfo").textContent = "page " + cursors.length + " of " + Math.max(1, Math.ceil(data.total / 50));
      main.querySelector("[data-act=newer]").disabled = cursors.length <= 1;
      main.querySelector("[data-act=older]").disabled = !next;
      tbody.innerHTML = data.executions.length ? data.executions.map((e) => `<tr data-arn="${esc(e.arn)}">
        <td><a href="${esc(link(e.arn))}">${esc(e.name)}</a>${e.redrive_count ? ` <span class="small muted">redriven ×${e.redrive_count}</span>` : ""}</td>
        <td><a href="/executions?${esc(q({ workflow: e.workflow }))}">${esc(e.workflow)}</a></td><td>${badge(e.status)}</td>
        <td title="${esc(e.start)}">${esc(when(e.start))} <span class="muted small">${esc(ago(e.start))}</span></td>
        <td class="num">${esc(duration(e.duration_ms == null && e.status === "RUNNING" ? Date.now() - ms(e.start) : e.duration_ms))}</td></tr>`).join("")
        : `<tr><td colspan="5" class="muted">No executions match.</td></tr>`;
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      cursors = [""];
      history.replaceState(null, "", "/executions" + (q(filters()) ? "?" + q(filters()) : ""));
      refresh().catch((e) => toast(e.message, true));
    });
    main.addEventListener("click", (event) => {
      const act = event.target.dataset && event.target.dataset.act;
      if (act === "clear") { form.reset(); form.requestSubmit(); }
      if (act === "older" && next) { cursors.push(next); refresh().catch((e) => toast(e.message, true)); }
      if (act === "newer" && cursors.length > 1) { cursors.pop(); refresh().catch((e) => toast(e.message, true)); }
    });
    try { await refresh(); setLive(true, "live"); } catch (e) { tbody.innerHTML = `<tr><td colspan="5" class="error">${esc(e.message)}</td></tr>`; }
    every(() => POLL_IDLE_MS, refresh);
  }

  // -- execution page -----------------------------------------------------------------------
  const SVG = "http://www.w3.org/2000/svg";

  function graphSvg(graph) {
    const margin = 16;
    const parts = [`<svg class="graph" xmlns="${SVG}" data-width="${graph.width + 2 * margin}" data-height="${graph.height + 2 * margin}" width="${graph.width + 2 * margin}" height="${graph.height + 2 * margin}" viewBox="${-margin} ${-margin} ${graph.width + 2 * margin} ${graph.height + 2 * margin}">
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8d99a8"/></marker></defs>`];
    for (const n of graph.nodes) {
      const label = n.name.length > 32 && !n.container ? n.name.slice(0, 30) + "…" : n.name;
      const tx = n.container ? n.x + 8 : n.x + n.w / 2, ty = n.container ? n.y + 15 : n.y + n.h / 2 + 4;
      const catches = n.catches ? "; on error → " + n.catches.join(", ") : "";
      parts.push(`<g class="node${n.container ? " container" : ""}" data-name="${esc(n.id)}" data-type="${esc(n.type)}" data-tip="${esc(n.name + " (" + n.type + ")" + catches)}">
        <rect x="${n.x}" y="${n.y}" width="${n.w}" height="${n.h}" rx="6"/>
        <text x="${tx}" y="${ty}" text-anchor="${n.container ? "start" : "middle"}">${esc(label)}</text></g>`);
    }
    for (const e of graph.edges) {
      parts.push(`<polyline class="edge ${esc(e.kind)}" points="${e.points.map((p) => p.join(",")).join(" ")}"/>`);
    }
    parts.push("</svg>");
    return parts.join("");
  }

  function timelineSvg(states, execution, selected, available, critical) {
    const onPath = new Set(critical || []);
    const rows = states.filter((s) => s.attempts.length);
    if (!rows.length) return '<p class="muted">No task has been scheduled yet.</p>';
    let start = ms(execution.start), end = ms(execution.stop) || Date.now();
    for (const s of rows) for (const a of s.attempts) {
      if (a.scheduled != null) start = Math.min(start, a.scheduled);
      end = Math.max(end, a.ended || a.started || a.scheduled || end);
    }
    const span = Math.max(1, end - start), labelW = 200, width = Math.max(640, (available || 900) - 4), rowH = 18, top = 22;
    const x = (t) => labelW + ((t - start) / span) * (width - labelW - 10);
    const height = top + rows.length * rowH + 6;
    const out = [`<svg class="timeline" xmlns="${SVG}" width="${width}" height="${height}">
      <defs><pattern id="hatch" width="6" height="6" patternTransform="rotate(45)" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="#eef1f4"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b8c1cc" stroke-width="2"/></pattern></defs><g class="axis">`];
    for (let i = 0; i <= 6; i++) {
      const t = start + (span * i) / 6, px = x(t);
      out.push(`<line x1="${px}" y1="${top - 6}" x2="${px}" y2="${height}"/><text x="${px}" y="12" text-anchor="middle">+${esc(duration(Math.round(t - start)))}</text>`);
    }
    out.push("</g>");
    rows.forEach((s, i) => {
      const y = top + i * rowH;
      out.push(`<g class="trow${onPath.has(s.name) ? " critical" : ""}" data-name="${esc(s.name)}"><rect class="row-bg${s.name === selected ? " selected" : ""}" x="0" y="${y}" width="${width}" height="${rowH}"/>
        <text x="4" y="${y + 13}">${onPath.has(s.name) ? "▸ " : ""}${esc(s.name.length > 28 ? s.name.slice(0, 27) + "…" : s.name)}</text>`);
      const latest = Math.max(...s.attempts.map((a) => a.run || 0));
      const firstTry = s.attempts.find((a) => (a.run || 0) === latest);
      if (s.blocked_ms > 0 && firstTry && firstTry.scheduled != null) {
        // Ready (every dependency done) but not yet started: the wait the compiled structure added.
        out.push(`<line class="blocked" x1="${x(firstTry.scheduled - s.blocked_ms)}" x2="${x(firstTry.scheduled)}" y1="${y + 9}" y2="${y + 9}" data-tip="${esc(`${s.name}: ready ${duration(s.blocked_ms)} before it was scheduled (waiting on the compiled structure, not on a dependency)`)}"/>`);
      }
      let previousEnd = null;
      for (const a of s.attempts) {
        // An attempt still open ends now; one stopped with the execution ends when it stopped.
        const open = ["RUNNING", "SCHEDULED", "RUNNABLE", "STARTING", "SUBMITTED", "PENDING"].includes(a.status);
        const sched = a.scheduled, started = a.started, stop = a.ended || (open ? Date.now() : ms(execution.stop) || started || sched);
        if (previousEnd != null && sched != null && sched > previousEnd) out.push(`<line class="backoff" x1="${x(previousEnd)}" x2="${x(sched)}" y1="${y + 9}" y2="${y + 9}" data-tip="retry wait ${esc(duration(sched - previousEnd))}"/>`);
        const tip = `${s.name} attempt ${a.number}${a.run ? " (redrive " + a.run + ")" : ""}: ${a.status}${a.reused ? " (reused result)" : ""}; waiting ${duration(a.waiting_ms || 0)}, running ${duration(a.running_ms == null ? (started ? stop - started : 0) : a.running_ms)}${a.exit_code != null ? "; exit code " + a.exit_code : ""}${a.error ? "; " + a.error : ""}`;
        if (sched != null && (started || stop) > sched) out.push(`<rect class="wait" x="${x(sched)}" y="${y + 4}" width="${Math.max(1, x(started || stop) - x(sched))}" height="${rowH - 8}" data-tip="${esc(tip)}"/>`);
        if (started != null) out.push(`<rect class="run ${esc(a.status)}${a.reused ? " reused" : ""}" x="${x(started)}" y="${y + 3}" width="${Math.max(1.5, x(stop) - x(started))}" height="${rowH - 6}" data-tip="${esc(tip)}"/>`);
        previousEnd = a.ended;
      }
      out.push("</g>");
    });
    out.push("</svg>");
    return out.join("");
  }

  async function executionPage() {
    const arn = body.dataset.arn;
    main.innerHTML = `<div id="head"></div><div id="failed"></div>
      <div class="panel"><h2 class="bar">Graph <span class="hint">click a state for its attempts and log</span>
        <span style="margin-left:auto" class="zoom"><button data-zoom="0.8" title="zoom out">−</button><button data-zoom="1.25" title="zoom in">+</button><button data-zoom="fit" title="fit the width">fit</button><button data-zoom="1" title="actual size">100%</button></span></h2>
        <div class="graph-wrap" id="graph"><p class="muted">Loading…</p></div>
      <div class="legend">${["WAITING", "SCHEDULED", "RUNNING", "SUCCEEDED", "FAILED", "CAUGHT", "ABORTED"].map((s) => `<span><i style="background:var(--${s.toLowerCase().replace("_", "")})"></i>${s.toLowerCase()}</span>`).join("")}</div></div>
      <div class="panel"><h2>Timeline <span class="hint">per task attempt — hatched: waiting (for capacity, or submitted), solid: running, dotted: retry interval, orange: ready but held back by the compiled structure; ▸ the critical path</span></h2><div class="timeline-wrap" id="timeline"></div></div>
      <div class="panel" id="task"><h2>Task</h2><p class="muted">Select a task in the graph or the timeline.</p></div>
      <div class="panel"><div class="tabs"><button class="on" data-tab="events">Events</button><button data-tab="io">Input and output</button><button data-tab="alerts">Alerts</button><button data-tab="children">Child executions</button></div>
      <div id="tab-events"></div><div id="tab-io" hidden></div><div id="tab-alerts" hidden></div><div id="tab-children" hidden></div></div>`;
    let detail = null, selected = null, nodes = {}, lastEvent = 0, logState = null, timelineWidth = 0;
    timelineWidth = main.querySelector("#timeline").clientWidth;  // before the graph makes layout costly
    window.addEventListener("resize", () => { timelineWidth = 0; if (detail) renderTimeline(); });
    const eventRows = [];
    const eventsEl = main.querySelector("#tab-events");
    eventsEl.innerHTML = `<table class="events"><thead><tr><th class="num">ID</th><th>Type</th><th>Step</th><th>Time</th><th>Details</th></tr></thead><tbody></tbody></table>
      <div class="pager"><button data-act="more-events" hidden>Show more events</button></div>`;
    let eventsShown = 200;
    const owners = {};

    function renderHead() {
      const e = detail.execution;
      const running = e.status === "RUNNING";
      main.querySelector("#head").innerHTML = `<h1>${esc(e.name)} ${badge(e.status)}${e.redrive_count ? ` <span class="small muted">redriven ×${e.redrive_count}</span>` : ""}</h1>
        <div class="panel"><div class="row" style="align-items:flex-start"><dl class="facts" style="flex:1">
          <dt>Workflow</dt><dd><a href="/executions?${esc(q({ workflow: e.workflow }))}">${esc(e.workflow)}</a></dd>
          <dt>Execution ARN</dt><dd class="mono small">${esc(e.arn)}</dd>
          ${e.parent_arn ? `<dt>Parent</dt><dd><a href="${esc(link(e.parent_arn))}">${esc(e.parent_arn.split(":").pop())}</a></dd>` : ""}
          <dt>Started</dt><dd>${esc(when(e.start))} <span class="muted small">${esc(ago(e.start))}</span></dd>
          <dt>Duration</dt><dd>${esc(duration(e.duration_ms == null ? Date.now() - ms(e.start) : e.duration_ms))}</dd>
          ${e.error ? `<dt>Error</dt><dd class="error">${esc(e.error)}</dd>` : ""}
        </dl><div>
          <button class="danger" data-act="stop" ${running ? "" : "disabled"}>Stop</button>
          <button data-act="redrive" ${e.redrivable ? "" : "disabled"}>Redrive</button>
          ${e.parent_arn ? "" : '<button data-act="again">New execution…</button>'}</div></div></div>`;
    }

    function renderFailed() {
      const f = detail.failed, el = main.querySelector("#failed");
      if (!f) { el.innerHTML = ""; return; }
      el.innerHTML = `<div class="panel alert" id="failure"><h2>${f.state ? "Failed task: " + `<a href="#" data-select="${esc(f.state)}">${esc(f.state)}</a>` : "Execution failed"}</h2>
        <dl class="facts"><dt>Error</dt><dd class="error">${esc(f.error || "")}</dd><dt>Cause</dt><dd>${esc(f.summary || "")}${f.cause && f.cause !== f.summary ? `<details><summary class="small">full cause</summary><pre class="json">${esc(json(f.cause))}</pre></details>` : ""}</dd>
        ${f.exit_code != null ? `<dt>Exit code</dt><dd>${esc(f.exit_code)}</dd>` : ""}${f.attempts ? `<dt>Attempts</dt><dd>${esc(f.attempts)}</dd>` : ""}</dl>
        ${f.log_tail && f.log_tail.length ? `<p class="small muted">Last log lines</p><pre class="log" id="failed-log">${esc(f.log_tail.join("\n"))}</pre>` : ""}
        <p class="small muted">${detail.alerts.length ? "Alerts sent: " + detail.alerts.map((a) => esc(a.subject || "(no subject)")).join(" · ") + ' — see the <a href="#" data-open-tab="alerts">Alerts</a> tab' : "No alert was sent."}</p></div>`;
    }

    function renderGraph() {
      const el = main.querySelector("#graph");
      if (!detail.graph) { el.innerHTML = '<p class="muted">No definition is stored for this execution.</p>'; return; }
      el.innerHTML = graphSvg(detail.graph);
      nodes = {};
      for (const g of el.querySelectorAll("g.node")) nodes[g.dataset.name] = g;
    }

    function colourGraph() {
      const status = {};
      for (const s of detail.states) status[s.name] = s.status;
      for (const [name, g] of Object.entries(nodes)) {
        const value = status[name] || "WAITING";
        if (g.dataset.status !== value) g.dataset.status = value;
        g.classList.toggle("selected", name === selected);
      }
    }

    function renderTimeline() {
      const el = main.querySelector("#timeline");
      // Measured once (and on resize), not per draw: reading a width forces the layout of a page
      // that has just got a 1,000-box graph, which cost more than drawing the timeline itself.
      if (!timelineWidth) timelineWidth = el.clientWidth;
      el.innerHTML = timelineSvg(detail.states, detail.execution, selected, timelineWidth, detail.critical_path);
    }

    // The task panel: its facts and attempts are redrawn whenever the run changes; its log box only
    // when another task is chosen or a new log file appears, so a tail (or a chosen file) goes on.
    function renderTask() {
      const el = main.querySelector("#task");
      const s = detail.states.find((x) => x.name === selected);
      if (!selected) return;
      if (!s) { el.innerHTML = `<h2>${esc(selected)}</h2><p class="muted">Not reached yet.</p>`; logState = null; return; }
      if (!el.querySelector("#task-info")) el.innerHTML = '<div id="task-info"></div><div id="task-logbox"></div>';
      const attempts = s.attempts.map((a) => `<tr><td class="num">${a.number}${a.run ? `<span class="small muted"> r${a.run}</span>` : ""}</td><td>${badge(a.status)}${a.reused ? ' <span class="small muted">reused</span>' : ""}</td>
        <td class="num">${esc(duration(a.waiting_ms))}</td><td class="num">${esc(duration(a.running_ms))}</td>
        <td class="num">${a.exit_code == null ? "" : esc(a.exit_code)}${a.batch_attempts.length > 1 ? `<span class="small muted"> (Batch ×${a.batch_attempts.length})</span>` : ""}</td>
        <td class="small">${esc(a.error || "")}${a.summary ? `<div>${esc(a.summary)}</div>` : ""}${a.cause ? `<details><summary>full cause</summary><pre class="json">${esc(json(a.cause))}</pre></details>` : ""}</td></tr>`).join("");
      const links = Object.entries(s.links || {}).map(([k, v]) => `<a href="${esc(v)}" target="_blank" rel="noopener noreferrer">AWS console: ${esc(k.replace("_", " "))}</a>`).join(" · ");
      const kids = detail.children.filter((c) => c.state === s.name).map((c) => `<a href="${esc(link(c.arn))}">${esc(c.name)}</a> ${badge(c.status)}`).join(" · ");
      el.querySelector("#task-info").innerHTML = `<h2>${esc(s.name)} ${badge(s.status)} <span class="small muted">${esc(s.type)}</span></h2>
        ${links ? `<p class="small">${links}</p>` : ""}${kids ? `<p class="small">Child execution: ${kids}</p>` : ""}
        ${s.attempts.length ? `<table><thead><tr><th class="num">Attempt</th><th>Status</th><th class="num">Waiting</th><th class="num">Running</th><th class="num">Exit</th><th>Error</th></tr></thead><tbody>${attempts}</tbody></table>` : ""}
        ${s.error && !s.attempts.length ? `<p class="error">${esc(s.error)}</p>` : ""}`;
      if (logState && logState.task === s.name && logState.count === s.logs) return;
      el.querySelector("#task-logbox").innerHTML = `<p class="small muted">Log ${s.logs ? `<select data-act="log-file">${Array.from({ length: s.logs }, (_, i) => `<option value="${i + 1}" ${i + 1 === s.logs ? "selected" : ""}>file ${i + 1} of ${s.logs}</option>`).join("")}</select>` : ""} <span id="log-status"></span></p>
        <pre class="log" id="task-log">${s.logs ? "" : "(no log: this state runs no job or function)"}</pre>`;
      logState = { task: s.name, attempt: s.logs, count: s.logs, offset: 0 };
      if (s.logs) pollLog();
    }

    async function pollLog() {
      const state = logState;
      if (!state || !state.count) return;
      for (let i = 0; i < 20; i++) {  // read a long log in chunks, at most 20 per poll
        const chunk = await api("log", { arn: arn, task: state.task, attempt: state.attempt, offset: state.offset });
        if (logState !== state) return;
        if (chunk.text) {
          const pre = main.querySelector("#task-log");
          const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
          pre.appendChild(document.createTextNode(chunk.text));
          if (atEnd) pre.scrollTop = pre.scrollHeight;
        }
        state.offset = chunk.next;
        const status = main.querySelector("#log-status");
        if (status) status.textContent = chunk.missing ? "(the log file is gone)" : chunk.path ? chunk.path + " · " + chunk.size + " bytes" : "";
        if (!chunk.text || chunk.next >= chunk.size) break;
      }
    }

    function select(name) {
      selected = name;
      colourGraph();
      renderTimeline();
      renderTask();
      const g = nodes[name];
      if (g && g.scrollIntoView) g.scrollIntoView({ block: "nearest", inline: "nearest" });
    }

    // Which state an event belongs to, as orchestrator/console/timeline.py decides it: entries and
    // exits name their state; a Parallel's or Map's end follows its last branch's event, so it
    // belongs to the container enclosing that event's state; anything else to its predecessor's.
    const kinds = {};
    function eventStep(e) {
      const details = Object.entries(e).find(([k]) => k.endsWith("EventDetails"));
      const d = details ? details[1] : {};
      let owner = owners[e.previousEventId];
      if (e.type.endsWith("StateEntered") || (e.type.endsWith("StateExited") && d.name)) owner = d.name;
      const end = /^(Parallel|Map)State(Succeeded|Failed|Aborted)$/.exec(e.type);
      if (end && detail && detail.graph) {
        const byId = graphNodes();
        let name = owner;
        const climb = (kinds[e.previousEventId] || "").endsWith("StateExited") || !byId[name] || byId[name].type !== end[1];
        if (climb && byId[name]) name = byId[name].parent || name;
        for (let i = 0; i < 1000 && byId[name] && byId[name].type !== end[1] && byId[name].parent; i++) name = byId[name].parent;
        owner = name;
      }
      owners[e.id] = owner;
      kinds[e.id] = e.type;
      return { owner: owner, d: d };
    }
    let nodeIndex = null;
    function graphNodes() {
      if (!nodeIndex) { nodeIndex = {}; for (const n of detail.graph.nodes) nodeIndex[n.id] = n; }
      return nodeIndex;
    }

    function renderEvents() {
      const tbody = eventsEl.querySelector("tbody");
      const start = ms(detail.execution.start);
      const shown = eventRows.slice(0, eventsShown);
      tbody.innerHTML = shown.map(({ e, owner, d }) => {
        const keys = Object.keys(d || {});
        const io = keys.length ? `<details><summary>${esc(keys.join(", "))}</summary><pre class="json">${esc(json(Object.fromEntries(keys.map((k) => [k, /put$|output$|parameters$|cause$/i.test(k) ? tryParse(d[k]) : d[k]]))))}</pre></details>` : "";
        return `<tr class="${/Failed|TimedOut|Aborted/.test(e.type) ? "error" : ""}"><td class="num">${e.id}</td><td>${esc(e.type)}</td><td>${owner ? `<a href="#" data-select="${esc(owner)}">${esc(owner)}</a>` : ""}</td>
          <td class="small">${esc(when(e.timestamp))} <span class="muted">+${esc(duration(ms(e.timestamp) - start))}</span></td><td class="details small">${io}</td></tr>`;
      }).join("");
      const more = eventsEl.querySelector("[data-act=more-events]");
      more.hidden = eventRows.length <= eventsShown;
      more.textContent = `Show more events (${eventRows.length - eventsShown} more)`;
    }
    function tryParse(v) { if (typeof v !== "string") return v; try { return JSON.parse(v); } catch (e) { return v; } }

    // The history is read incrementally (after the last event seen), once the graph is drawn.
    let loading = null;
    function loadEvents() {
      if (loading) return loading;
      loading = (async () => {
        for (;;) {
          const page = await api("history", { arn: arn, after: lastEvent, limit: 5000 });
          for (const e of page.events) { const { owner, d } = eventStep(e); eventRows.push({ e: e, owner: owner, d: d }); lastEvent = e.id; }
          if (!page.more) break;
        }
        if (detail) renderEvents();
      })().finally(() => { loading = null; });
      return loading;
    }

    function renderTabs() {
      const e = detail.execution;
      main.querySelector("#tab-io").innerHTML = `<div class="row"><div style="flex:1;min-width:0"><h2>Input</h2><pre class="json">${esc(json(e.input))}</pre></div>
        <div style="flex:1;min-width:0"><h2>Output</h2><pre class="json">${esc(e.output == null ? (e.status === "RUNNING" ? "(running)" : "(no output: " + e.status + ")") : json(e.output))}</pre></div></div>`;
      main.querySelector("#tab-alerts").innerHTML = detail.alerts.length ? detail.alerts.map((a) => `<div class="panel"><b>${esc(a.subject || "(no subject)")}</b>
        <span class="small muted">${esc(a.state_name || "")} · ${esc(a.topic_arn)}</span><pre class="json">${esc(a.message)}</pre>
        <p class="small muted">${a.deliveries.map((d) => esc(d.target + ": " + d.status + (d.error ? " (" + d.error + ")" : ""))).join(" · ") || "stored in the outbox"}</p></div>`).join("")
        : '<p class="muted">This run sent no alerts.</p>';
      main.querySelector("#tab-children").innerHTML = detail.children.length ? `<table><thead><tr><th>Name</th><th>Status</th><th>Started</th></tr></thead><tbody>${detail.children.map((c) => `<tr><td><a href="${esc(link(c.arn))}">${esc(c.name)}</a></td><td>${badge(c.status)}</td><td>${esc(when(c.start))}</td></tr>`).join("")}</tbody></table>`
        : '<p class="muted">No child executions.</p>';
      const tab = main.querySelector("[data-tab=children]");
      tab.textContent = "Child executions (" + detail.children.length + ")";
      main.querySelector("[data-tab=alerts]").textContent = "Alerts (" + detail.alerts.length + ")";
    }

    main.addEventListener("click", async (event) => {
      const target = event.target;
      const node = target.closest("g.node, g.trow");
      if (node) { select(node.dataset.name); return; }
      const pick = target.closest("[data-select]");
      if (pick) { event.preventDefault(); select(pick.dataset.select); main.querySelector("#task").scrollIntoView({ block: "start" }); return; }
      const zoom = target.dataset && target.dataset.zoom;
      if (zoom && detail && detail.graph) {
        const svg = main.querySelector("svg.graph"), wrap = main.querySelector("#graph");
        const full = Number(svg.dataset.width), now = Number(svg.getAttribute("width")) / full;
        const scale = zoom === "fit" ? Math.min(1, (wrap.clientWidth - 4) / full) : zoom === "1" ? 1 : Math.max(0.05, Math.min(3, now * Number(zoom)));
        svg.setAttribute("width", String(full * scale));
        svg.setAttribute("height", String(Number(svg.dataset.height) * scale));
        return;
      }
      const tab = target.dataset && (target.dataset.tab || target.dataset.openTab);
      if (target.dataset && target.dataset.openTab) event.preventDefault();
      if (tab) {
        for (const b of main.querySelectorAll("[data-tab]")) b.classList.toggle("on", b.dataset.tab === tab);
        for (const name of ["events", "io", "alerts", "children"]) main.querySelector("#tab-" + name).hidden = name !== tab;
        if (target.dataset.openTab) main.querySelector("#tab-" + tab).scrollIntoView({ block: "start" });
        return;
      }
      const act = target.dataset && target.dataset.act;
      if (act === "more-events") { eventsShown += 500; renderEvents(); }
      if (act === "again") startDialog(detail.execution.state_machine_arn, detail.execution.workflow, json(detail.execution.input));
      if (act === "stop" || act === "redrive") {
        target.disabled = true;
        try {
          if (act === "stop") {
            await sfn("StopExecution", { executionArn: arn, error: "Console.Stopped", cause: "Stopped from the console." });
            toast("Stop requested: running tasks are being stopped.");
          } else {
            await sfn("RedriveExecution", { executionArn: arn });
            toast("Redriven: completed tasks are reused, the rest run again.");
          }
          await poll(true);
        } catch (e) { toast(e.message, true); target.disabled = false; }
      }
    });
    main.addEventListener("change", (event) => {
      if (event.target.dataset.act === "log-file" && logState) {
        logState = { task: logState.task, attempt: Number(event.target.value), count: logState.count, offset: 0 };
        main.querySelector("#task-log").textContent = "";
        pollLog();
      }
    });

    async function poll(force) {
      const fresh = await api("execution", { arn: arn, graph: detail ? "0" : "1", since: force || !detail ? "" : detail.version });
      if (!detail && window.performance && performance.mark) performance.mark("console:fetched");
      if (fresh.unchanged) {
        if (logState) await pollLog();
        if (detail.execution.status === "RUNNING") renderTimeline();
        return;
      }
      const first = !detail;
      if (detail && !fresh.graph) fresh.graph = detail.graph;
      detail = fresh;
      renderHead();
      renderFailed();
      const mark = (name) => { if (first && window.performance && performance.mark) performance.mark(name); };
      mark("console:head");
      if (first) {
        renderGraph();
        mark("console:graph");
        if (detail.failed && detail.failed.state) selected = detail.failed.state;
        else {  // a live run opens on the task running now, its log tailing
          const now = detail.states.find((x) => x.type === "Task" && (x.status === "RUNNING" || x.status === "SCHEDULED"));
          if (now) selected = now.name;
        }
      }
      colourGraph();
      mark("console:coloured");
      renderTimeline();
      mark("console:timeline");
      renderTabs();
      const s = selected && detail.states.find((x) => x.name === selected);
      if (first || s) renderTask();
      document.title = detail.execution.name + " · " + detail.execution.status + " — sfn-orchestrator";
      if (first && window.performance && performance.mark) performance.mark("console:rendered");
      const events = loadEvents();
      if (!first && logState) await pollLog();
      await events;
    }

    try { await poll(false); setLive(true, "live"); } catch (e) { main.innerHTML = `<div class="panel alert"><p class="error">${esc(e.message)}</p><p><a href="/executions">All executions</a></p></div>`; return; }
    every(() => (detail && detail.execution.status === "RUNNING" ? POLL_RUNNING_MS : POLL_IDLE_MS), () => poll(false));
  }

  const pages = { workflows: workflowsPage, executions: executionsPage, execution: executionPage };
  (pages[body.dataset.page] || workflowsPage)().catch((e) => { main.innerHTML = `<div class="panel alert"><p class="error">${esc(e.message)}</p></div>`; });
})();
