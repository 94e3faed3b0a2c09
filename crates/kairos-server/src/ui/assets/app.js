// Kairos's web UI: draws each page from the REST API (/api/v1) with the
// caller's own scope. Every datum is put into the page as text (textContent),
// never as HTML, so nothing a DAG's author wrote can run here. Pages redraw
// when the node's event stream says it applied more of the log.
"use strict";

const API = "/api/v1";
const main = () => document.getElementById("main");
let WHO = { role: "viewer", team: null, open: false };

// ---- small helpers ---------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    // Through the CSSOM: the page's policy refuses style attributes.
    else if (key === "style") for (const [prop, v] of Object.entries(value)) node.style.setProperty(prop, v);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const enc = encodeURIComponent;

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { "X-Kairos-UI": "1", Accept: "application/json" };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path.startsWith("/ui/") ? path : API + path, {
    method: options.method || "GET",
    headers,
    credentials: "same-origin",
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (!response.ok) {
    const detail = (data && (data.detail || data.title)) || text || response.statusText;
    throw new ApiError(response.status, detail);
  }
  return data;
}

// Every item of a paged list (`next` is the following page's `after`).
async function all(path, key) {
  const items = [];
  let after = null;
  for (;;) {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api(`${path}${sep}limit=1000${after ? "&after=" + enc(after) : ""}`);
    items.push(...(page[key] || []));
    if (!page.next) return items;
    after = page.next;
  }
}

function canOperate() { return WHO.role === "operator" || WHO.role === "admin"; }

function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function duration(start, end) {
  if (!start) return "–";
  const ms = (end ? new Date(end) : new Date()) - new Date(start);
  if (ms < 1000) return ms + " ms";
  if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
  return Math.round(ms / 60000) + " min";
}

function stateBox(state, cls = "sq") {
  return el("span", { class: `${cls} st-${state || "none"}`, title: state || "no state" });
}

function showError(error) {
  if (error instanceof ApiError && error.status === 401) return loginPage();
  main().replaceChildren(el("div", { class: "error" }, String(error.message || error)));
}

// Redraws `draw` now and whenever the node applies more of the log (at most
// one redraw at a time; a change during one draws again after it), and at
// most once per `minGapMs` (a page whose redraw asks many things).
function live(draw, minGapMs = 0) {
  let busy = false, again = false, source = null, last = 0, timer = null;
  const run = async () => {
    if (busy) { again = true; return; }
    const wait = last + minGapMs - Date.now();
    if (wait > 0) { if (!timer) timer = setTimeout(() => { timer = null; run(); }, wait); return; }
    busy = true;
    last = Date.now();
    try { await draw(); } catch (error) {
      // What is absent or refused stays so: stop redrawing it.
      if (error instanceof ApiError && [401, 403, 404].includes(error.status) && source) source.close();
      showError(error);
    }
    busy = false;
    if (again) { again = false; run(); }
  };
  source = new EventSource("/ui/events");
  run();
  const badge = document.getElementById("live");
  source.addEventListener("applied", () => { badge.className = "on"; badge.textContent = "live"; run(); });
  source.onerror = () => { badge.className = ""; badge.textContent = "reconnecting"; };
}

// ---- doc_md: a safe subset of Markdown, built as DOM nodes ------------------
// Headings, paragraphs, lists, code blocks, `code`, **bold**, *emphasis* and
// links to http(s) only; any HTML in the text stays text.

function inline(text) {
  const parts = [];
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|\*([^*]+)\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0, m;
  while ((m = re.exec(text))) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    if (m[1] !== undefined) parts.push(el("code", {}, m[1]));
    else if (m[2] !== undefined) parts.push(el("strong", {}, m[2]));
    else if (m[3] !== undefined) parts.push(el("em", {}, m[3]));
    else if (/^https?:\/\//i.test(m[5])) parts.push(el("a", { href: m[5], rel: "noopener noreferrer" }, m[4]));
    else parts.push(`${m[4]} (${m[5]})`);
    last = re.lastIndex;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

function markdown(text) {
  const out = el("div", { class: "doc", id: "doc" });
  const lines = text.replace(/\r/g, "").split("\n");
  const special = /^(#{1,6}\s|```|\s*[-*]\s)/;
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (line.startsWith("```")) {
      const code = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) code.push(lines[i]);
      i++;
      out.append(el("pre", { class: "code" }, code.join("\n")));
    } else if (/^#{1,6}\s/.test(line)) {
      const [, hashes, title] = line.match(/^(#{1,6})\s+(.*)$/);
      out.append(el("h" + Math.min(6, hashes.length + 2), {}, inline(title)));
      i++;
    } else if (/^\s*[-*]\s/.test(line)) {
      const list = el("ul");
      for (; i < lines.length && /^\s*[-*]\s/.test(lines[i]); i++) list.append(el("li", {}, inline(lines[i].replace(/^\s*[-*]\s+/, ""))));
      out.append(list);
    } else if (!line.trim()) {
      i++;
    } else {
      const para = [];
      for (; i < lines.length && lines[i].trim() && !special.test(lines[i]); i++) para.push(lines[i]);
      out.append(el("p", {}, inline(para.join(" "))));
    }
  }
  return out;
}

// ---- login -----------------------------------------------------------------

function loginPage() {
  const token = el("input", { type: "password", placeholder: "API token", autocomplete: "current-password", id: "token" });
  const message = el("p", { class: "muted" }, "This cluster needs an API token (the same as for the REST API and the CLI's KAIROS_TOKEN).");
  const form = el("form", { class: "login", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await api("/ui/session", { method: "POST", body: { token: token.value } });
      location.reload();
    } catch (error) {
      message.className = "error";
      message.textContent = error.message;
    }
  } }, el("h1", {}, "Log in"), message, token, el("button", { class: "primary", type: "submit" }, "Log in"));
  main().replaceChildren(form);
}

async function logout() {
  await api("/ui/session", { method: "DELETE" });
  location.href = "/ui/";
}

// ---- DAG list --------------------------------------------------------------

async function dagListPage() {
  const search = el("input", { type: "search", placeholder: "Search DAGs", id: "search" });
  const tagSelect = el("select", { id: "tag" }, el("option", { value: "" }, "all tags"));
  const teamSelect = el("select", { id: "team" }, el("option", { value: "" }, "all teams"));
  const body = el("tbody");
  main().replaceChildren(
    el("h1", {}, "DAGs"),
    el("div", { class: "toolbar" }, search, tagSelect, teamSelect),
    el("table", { class: "list", id: "dags" },
      el("thead", {}, el("tr", {}, ["", "DAG", "Tags", "Team / bundle", "Version", "Last runs", "Schedule", "Next run"].map((h) => el("th", {}, h)))),
      body));
  let dags = [];
  const lastRuns = {};
  const filter = () => {
    const q = search.value.toLowerCase();
    const tag = tagSelect.value, team = teamSelect.value;
    for (const row of body.children) {
      const d = row.dag;
      const show = (!q || d.dag_id.toLowerCase().includes(q)) && (!tag || (d.tags || []).some((t) => (t.name || t) === tag)) && (!team || (d.team || "") === team);
      row.hidden = !show;
    }
  };
  search.addEventListener("input", filter);
  tagSelect.addEventListener("change", filter);
  teamSelect.addEventListener("change", filter);
  live(async () => {
    const answer = await api("/dags?limit=1000");
    dags = answer.dags || [];
    const tags = new Set(), teams = new Set();
    for (const d of dags) { (d.tags || []).forEach((t) => tags.add(t.name || t)); if (d.team) teams.add(d.team); }
    for (const t of [...tags].sort()) if (![...tagSelect.options].some((o) => o.value === t)) tagSelect.append(el("option", { value: t }, t));
    for (const t of [...teams].sort()) if (![...teamSelect.options].some((o) => o.value === t)) teamSelect.append(el("option", { value: t }, t));
    await Promise.all(dags.map(async (d) => {
      try {
        const runs = await api(`/dags/${enc(d.dag_id)}/dagRuns?limit=5&order_by=-logical_date`);
        lastRuns[d.dag_id] = (runs.dag_runs || []).reverse();
      } catch (_) { lastRuns[d.dag_id] = []; }
    }));
    body.replaceChildren(...dags.map((d) => {
      const toggle = el("input", { type: "checkbox", title: d.is_paused ? "paused: click to unpause" : "running: click to pause", checked: !d.is_paused, disabled: !canOperate(), onchange: async (event) => {
        try { await api(`/dags/${enc(d.dag_id)}`, { method: "PATCH", body: { is_paused: !event.target.checked } }); } catch (error) { showError(error); }
      } });
      const row = el("tr", { "data-dag": d.dag_id },
        el("td", {}, toggle),
        el("td", {}, el("a", { href: `/ui/dags/${enc(d.dag_id)}` }, d.dag_id)),
        el("td", {}, (d.tags || []).map((t) => el("span", { class: "tag" }, t.name || t))),
        el("td", {}, [d.team || "–", " / ", d.bundle || "–"]),
        el("td", {}, el("a", { href: `/ui/dags/${enc(d.dag_id)}/versions` }, "v" + (d.latest_version || d.version || "?"))),
        el("td", {}, el("span", { class: "dots" }, (lastRuns[d.dag_id] || []).map((r) =>
          el("a", { href: `/ui/dags/${enc(d.dag_id)}?run=${enc(r.dag_run_id)}`, title: `${r.dag_run_id}: ${r.state}` }, stateBox(r.state, "dot"))))),
        el("td", { title: d.timetable_description || "" }, (d.schedule_interval && d.schedule_interval.value) || "none"),
        el("td", { class: "next-run", title: d.next_dagrun_create_after ? `due after ${when(d.next_dagrun_create_after)}` : "" }, d.next_dagrun ? when(d.next_dagrun) : "–"));
      row.dag = d;
      return row;
    }));
    filter();
  }, 5000);
}

// ---- a DAG's grid ----------------------------------------------------------

async function gridPage(dagId) {
  const folded = new Set();
  const head = el("div", { class: "toolbar" });
  const wrap = el("div", { class: "grid-wrap" });
  const doc = el("div");
  main().replaceChildren(el("h1", {}, dagId), doc, head, wrap);
  api(`/dags/${enc(dagId)}/details`).then((details) => {
    if (details && details.doc_md) doc.replaceChildren(el("details", { class: "panel", open: true }, el("summary", {}, "About this DAG"), markdown(details.doc_md)));
  }).catch(() => {});
  head.append(
    canOperate() ? el("a", { href: `/ui/dags/${enc(dagId)}/trigger` }, el("button", { class: "primary", id: "trigger" }, "Trigger")) : null,
    el("a", { href: `/ui/dags/${enc(dagId)}/graph`, id: "graph-link" }, "Graph"),
    el("a", { href: `/ui/dags/${enc(dagId)}/versions` }, "Versions and code"),
    el("span", { class: "muted", id: "grid-info" }));
  // Paging back: ?before=RUN shows the 25 runs older than RUN.
  const before = new URLSearchParams(location.search).get("before");
  const paging = el("span", { class: "paging" });
  head.append(paging);
  live(async () => {
    const grid = await api(`/dags/${enc(dagId)}/grid?limit=25${before ? "&before=" + enc(before) : ""}`);
    document.getElementById("grid-info").textContent = `version ${grid.version}${grid.is_paused ? " · paused" : ""} · ${grid.runs.length} run(s) · ${grid.tasks.length} task(s)`;
    paging.replaceChildren(
      grid.older ? el("a", { href: `/ui/dags/${enc(dagId)}?before=${enc(grid.older)}`, id: "older-runs" }, "◀ older runs") : null,
      before ? el("a", { href: `/ui/dags/${enc(dagId)}`, id: "newest-runs" }, "newest runs ▶") : null);
    const parentOf = Object.fromEntries(grid.groups.map((g) => [g.group_id, g.parent]));
    const depth = (group) => { let n = 0; while (group) { n++; group = parentOf[group]; } return n; };
    const hiddenBy = (group) => { while (group) { if (folded.has(group)) return true; group = parentOf[group]; } return false; };
    const rows = [];
    const seenGroups = new Set();
    const runHeads = grid.runs.map((r) => el("th", { class: "run", title: `${r.run_id} · ${r.state} · v${r.version}` },
      el("a", { href: `/ui/dags/${enc(dagId)}?run=${enc(r.run_id)}` }, r.logical_date ? when(r.logical_date).slice(0, 16) : r.run_id.slice(0, 16))));
    const runBars = grid.runs.map((r) => el("td", {}, el("div", { class: `runbar st-${r.state}`, title: r.state, "data-run": r.run_id })));
    for (const task of grid.tasks) {
      // A group's row before its first task.
      const chain = [];
      for (let g = task.group_id; g; g = parentOf[g]) chain.unshift(g);
      for (const g of chain) {
        if (seenGroups.has(g)) continue;
        seenGroups.add(g);
        const row = el("tr", { class: "group" + (folded.has(g) ? " folded" : ""), "data-group": g },
          el("td", { class: "task", style: { "padding-left": `${depth(parentOf[g]) * 14 + 4}px` }, onclick: () => { folded.has(g) ? folded.delete(g) : folded.add(g); draw(); } }, g),
          grid.runs.map(() => el("td")));
        row.hidden = hiddenBy(parentOf[g]);
        rows.push(row);
      }
      const label = task.group_id && task.task_id.startsWith(task.group_id + ".") ? task.task_id.slice(task.group_id.length + 1) : task.task_id;
      const row = el("tr", { "data-task": task.task_id },
        el("td", { class: "task", style: { "padding-left": `${depth(task.group_id) * 14 + 4}px` }, title: task.task_id }, label, task.mapped ? " [ ]" : "", task.removed ? " (removed)" : ""),
        grid.runs.map((r) => {
          const cell = r.cells[task.task_id];
          if (!cell) return el("td", {}, stateBox("absent"));
          const count = cell.mapped ? Object.values(cell.mapped).reduce((a, b) => a + b, 0) : null;
          return el("td", {}, el("a", { href: `/ui/dags/${enc(dagId)}/runs/${enc(r.run_id)}/tasks/${enc(task.task_id)}`, title: `${task.task_id} · ${cell.state} · try ${cell.try_number}`, "data-state": cell.state },
            stateBox(cell.state), count !== null ? el("span", { class: "count" }, count) : null));
        }));
      row.hidden = hiddenBy(task.group_id);
      rows.push(row);
    }
    wrap.replaceChildren(el("table", { class: "grid", id: "grid" },
      el("thead", {}, el("tr", {}, el("th"), runHeads)),
      el("tbody", {}, el("tr", {}, el("td", { class: "muted" }, "run"), runBars), rows)));
    function draw() {
      for (const row of wrap.querySelectorAll("tr[data-group]")) {
        const g = row.dataset.group;
        row.className = "group" + (folded.has(g) ? " folded" : "");
        row.hidden = hiddenBy(parentOf[g]);
      }
      for (const row of wrap.querySelectorAll("tr[data-task]")) {
        const task = grid.tasks.find((t) => t.task_id === row.dataset.task);
        row.hidden = hiddenBy(task && task.group_id);
      }
    }
  });
}

// ---- trigger form ----------------------------------------------------------

async function triggerPage(dagId) {
  const details = await api(`/dags/${enc(dagId)}/details`);
  const params = details.params || {};
  const inputs = {};
  const fields = Object.entries(params).map(([name, raw]) => {
    const value = raw && typeof raw === "object" && "value" in raw ? raw.value : raw;
    let input;
    if (typeof value === "boolean") input = el("input", { type: "checkbox", checked: value });
    else if (typeof value === "number") input = el("input", { type: "number", step: "any", value });
    else if (value !== null && typeof value === "object") input = el("textarea", {}, JSON.stringify(value, null, 2));
    else input = el("input", { type: "text", value: value === null ? "" : value });
    input.name = name;
    inputs[name] = { input, original: value };
    return el("p", {}, el("label", {}, el("b", {}, name), " ", input));
  });
  const logical = el("input", { type: "datetime-local", id: "logical-date", step: "1" });
  const runId = el("input", { type: "text", id: "run-id", placeholder: "(default: manual__<date>)" });
  const conf = el("textarea", { id: "conf", placeholder: "{}" });
  const message = el("div");
  const form = el("form", { onsubmit: async (event) => {
    event.preventDefault();
    message.replaceChildren();
    let body = {};
    try {
      const extra = conf.value.trim() ? JSON.parse(conf.value) : {};
      if (typeof extra !== "object" || Array.isArray(extra)) throw new Error("conf must be a JSON object");
      const values = {};
      for (const [name, { input, original }] of Object.entries(inputs)) {
        if (input.type === "checkbox") values[name] = input.checked;
        else if (input.type === "number") {
          if (input.value === "" || isNaN(Number(input.value))) throw new Error(`${name} must be a number`);
          values[name] = Number(input.value);
        } else if (input.tagName === "TEXTAREA") values[name] = JSON.parse(input.value);
        else values[name] = original === null && input.value === "" ? null : input.value;
      }
      body.conf = Object.assign(values, extra);
    } catch (error) {
      message.replaceChildren(el("div", { class: "error" }, String(error.message)));
      return;
    }
    if (logical.value) body.logical_date = new Date(logical.value + "Z").toISOString();
    if (runId.value.trim()) body.dag_run_id = runId.value.trim();
    try {
      const run = await api(`/dags/${enc(dagId)}/dagRuns`, { method: "POST", body });
      location.href = `/ui/dags/${enc(dagId)}?run=${enc(run.dag_run_id)}`;
    } catch (error) {
      message.replaceChildren(el("div", { class: "error" }, error.message));
    }
  } },
    el("h1", {}, `Trigger ${dagId}`),
    fields.length ? el("h2", {}, "Params") : null, fields,
    el("h2", {}, "Run"),
    el("p", {}, el("label", {}, "Logical date (UTC, optional) ", logical)),
    el("p", {}, el("label", {}, "Run id (optional) ", runId)),
    el("p", {}, el("label", {}, "More conf (JSON object, optional)", conf)),
    message,
    el("button", { class: "primary", type: "submit", id: "trigger-submit" }, "Trigger"));
  main().replaceChildren(form);
}

// ---- a task instance -------------------------------------------------------

async function taskInstancePage(dagId, runId, taskId) {
  const base = `/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances/${enc(taskId)}`;
  const facts = el("div", { class: "panel" });
  const actions = el("div", { class: "toolbar" });
  const explain = el("div", { class: "panel explain" });
  const tries = el("div");
  const xcoms = el("div");
  const logView = el("pre", { class: "log", id: "log" });
  let logTry = null, logToken = null;
  main().replaceChildren(
    el("h1", {}, el("a", { href: `/ui/dags/${enc(dagId)}` }, dagId), " / ", runId, " / ", taskId),
    facts, actions, el("h2", {}, "Why (not) running"), explain,
    el("h2", {}, "Tries"), tries, el("h2", {}, "XComs"), xcoms, el("h2", {}, "Log"), logView);
  if (canOperate()) {
    const down = el("input", { type: "checkbox", id: "downstream" });
    const up = el("input", { type: "checkbox", id: "upstream" });
    const confirmBox = el("div");
    const askThenDo = async (label, dryRun, doIt) => {
      confirmBox.replaceChildren();
      try {
        const changes = await dryRun();
        const list = (changes.task_instances || []).map((t) => `${t.task_id}${t.map_index >= 0 ? "[" + t.map_index + "]" : ""} (${t.state || "none"})`);
        confirmBox.replaceChildren(el("div", { class: "confirm", id: "confirm" },
          el("p", {}, `${label} changes ${list.length} task instance(s):`),
          el("ul", {}, list.map((t) => el("li", {}, t))),
          el("button", { class: "danger", id: "confirm-yes", onclick: async () => {
            try { await doIt(); confirmBox.replaceChildren(el("p", { class: "muted" }, "Done.")); } catch (error) { confirmBox.replaceChildren(el("div", { class: "error" }, error.message)); }
          } }, "Confirm"), " ",
          el("button", { onclick: () => confirmBox.replaceChildren() }, "Cancel")));
      } catch (error) {
        confirmBox.replaceChildren(el("div", { class: "error" }, error.message));
      }
    };
    const clearBody = (dry) => ({ dry_run: dry, dag_run_id: runId, task_ids: [taskId], include_downstream: down.checked, include_upstream: up.checked, only_failed: false });
    actions.append(
      el("button", { id: "clear", onclick: () => askThenDo("Clear", () => api(`/dags/${enc(dagId)}/clearTaskInstances`, { method: "POST", body: clearBody(true) }), () => api(`/dags/${enc(dagId)}/clearTaskInstances`, { method: "POST", body: clearBody(false) })) }, "Clear"),
      el("label", {}, down, " downstream"), el("label", {}, up, " upstream"),
      el("button", { id: "mark-success", onclick: () => askThenDo("Mark success", () => api(base, { method: "PATCH", body: { new_state: "success", dry_run: true } }), () => api(base, { method: "PATCH", body: { new_state: "success", dry_run: false } })) }, "Mark success"),
      el("button", { id: "mark-failed", onclick: () => askThenDo("Mark failed", () => api(base, { method: "PATCH", body: { new_state: "failed", dry_run: true } }), () => api(base, { method: "PATCH", body: { new_state: "failed", dry_run: false } })) }, "Mark failed"),
      confirmBox);
  }
  live(async () => {
    const ti = await api(base);
    facts.replaceChildren(el("dl", { class: "facts" },
      el("dt", {}, "State"), el("dd", { id: "ti-state" }, stateBox(ti.state), " ", ti.state || "none"),
      el("dt", {}, "Try"), el("dd", {}, ti.try_number),
      el("dt", {}, "Operator"), el("dd", {}, ti.operator || "–"),
      el("dt", {}, "Started"), el("dd", {}, when(ti.start_date)),
      el("dt", {}, "Ended"), el("dd", {}, when(ti.end_date)),
      el("dt", {}, "Duration"), el("dd", {}, duration(ti.start_date, ti.end_date)),
      el("dt", {}, "Queue / pool"), el("dd", {}, `${ti.queue || "–"} / ${ti.pool || "–"}`),
      el("dt", {}, "Worker"), el("dd", {}, ti.hostname || "–")));
    try {
      const why = await api(base + "/explain");
      explain.replaceChildren(why.reasons && why.reasons.length ? el("ul", {}, why.reasons.map((r) => el("li", {}, r))) : el("p", { class: "muted" }, "Nothing holds it back."));
    } catch (error) { explain.replaceChildren(el("p", { class: "muted" }, error.message)); }
    const triesAnswer = await api(base + "/tries").catch(() => ({ task_instances: [] }));
    const list = triesAnswer.task_instances || triesAnswer.tries || [];
    tries.replaceChildren(el("table", { class: "list" },
      el("thead", {}, el("tr", {}, ["Try", "State", "Started", "Duration", "Log"].map((h) => el("th", {}, h)))),
      el("tbody", {}, list.map((t) => el("tr", {},
        el("td", {}, t.try_number), el("td", {}, stateBox(t.state), " ", t.state || "–"), el("td", {}, when(t.start_date)), el("td", {}, duration(t.start_date, t.end_date)),
        el("td", {}, el("a", { href: "#log", onclick: () => { logTry = t.try_number; logToken = null; logView.textContent = ""; followLog(); } }, "show")))))));
    const x = await api(base + "/xcomEntries").catch(() => ({ xcom_entries: [] }));
    const entries = x.xcom_entries || [];
    xcoms.replaceChildren(entries.length ? el("table", { class: "list", id: "xcoms" },
      el("thead", {}, el("tr", {}, el("th", {}, "Key"), el("th", {}, "Value"))),
      el("tbody", {}, entries.map((e) => el("tr", {}, el("td", {}, e.key), el("td", {}, el("code", {}, JSON.stringify(e.value))))))) : el("p", { class: "muted" }, "No XComs."));
    if (logTry === null && ti.try_number > 0) logTry = ti.try_number;
    await followLog();
  });
  async function followLog() {
    if (!logTry) { logView.textContent = "(no try yet)"; return; }
    const query = logToken ? `?token=${enc(logToken)}` : "";
    try {
      const part = await api(`${base}/logs/${logTry}${query}`);
      if (part && typeof part === "object") {
        if (part.content) logView.append(part.content);
        logToken = part.continuation_token || logToken;
      }
    } catch (error) {
      if (!logView.textContent) logView.textContent = error.message;
    }
  }
}

// ---- the graph of a run's own DAG version ---------------------------------

const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// Airflow's state colours again, for SVG fills.
const FILL = { success: "#008000", failed: "#ff0000", running: "#00ff00", queued: "#808080", scheduled: "#d2b48c",
  skipped: "#ff69b4", up_for_retry: "#ffd700", up_for_reschedule: "#40e0d0", upstream_failed: "#ffa500",
  deferred: "#9370db", removed: "#d3d3d3", restarting: "#ee82ee" };

// Nodes in columns by their longest path from a root; a collapsed group is
// one node standing for its tasks.
function layout(tasks, collapsed) {
  const groupOf = (t) => {
    for (let g = t.group_id; g; g = g.includes(".") ? g.slice(0, g.lastIndexOf(".")) : null) if (collapsed.has(g)) return g;
    return null;
  };
  const nodeOf = {};
  const nodes = new Map();
  for (const t of tasks) {
    const g = groupOf(t);
    const id = g ? "group:" + g : t.task_id;
    nodeOf[t.task_id] = id;
    if (!nodes.has(id)) nodes.set(id, { id, label: g || t.task_id, group: g, tasks: [], up: new Set() });
    nodes.get(id).tasks.push(t.task_id);
  }
  for (const t of tasks) for (const u of t.upstream) {
    const a = nodeOf[u], b = nodeOf[t.task_id];
    if (a && b && a !== b) nodes.get(b).up.add(a);
  }
  const level = {};
  const depth = (id, seen = new Set()) => {
    if (level[id] !== undefined) return level[id];
    if (seen.has(id)) return 0;
    seen.add(id);
    let d = 0;
    for (const u of nodes.get(id).up) d = Math.max(d, depth(u, seen) + 1);
    return (level[id] = d);
  };
  const columns = [];
  for (const id of nodes.keys()) (columns[depth(id)] = columns[depth(id)] || []).push(id);
  return { nodes, columns };
}

async function graphPage(dagId) {
  const params = new URLSearchParams(location.search);
  const versions = (await api(`/dags/${enc(dagId)}/versions`)).versions || [];
  const runs = (await api(`/dags/${enc(dagId)}/dagRuns?limit=100&order_by=-logical_date`)).dag_runs || [];
  const runId = params.get("run") || (runs[0] && runs[0].dag_run_id) || "";
  const run = runs.find((r) => r.dag_run_id === runId);
  const version = Number(params.get("version")) || (run ? run.version : (versions.length ? versions[versions.length - 1].version : 1));
  const collapsed = new Set((params.get("collapsed") || "").split(",").filter(Boolean));
  const go = (changes) => {
    const next = new URLSearchParams(location.search);
    for (const [k, v] of Object.entries(changes)) v === null || v === "" ? next.delete(k) : next.set(k, v);
    location.search = next.toString();
  };
  const versionSelect = el("select", { id: "graph-version", onchange: (e) => go({ version: e.target.value, run: null }) },
    versions.map((v) => el("option", { value: v.version, selected: v.version === version }, "v" + v.version)));
  const runSelect = el("select", { id: "graph-run", onchange: (e) => go({ run: e.target.value, version: null }) },
    el("option", { value: "" }, "(no run)"),
    runs.map((r) => el("option", { value: r.dag_run_id, selected: r.dag_run_id === runId }, `${r.dag_run_id} (v${r.version})`)));
  const detail = await api(`/dags/${enc(dagId)}/versions/${version}`);
  const tasks = detail.tasks || [];
  const groups = [...new Set(tasks.map((t) => t.group_id).filter(Boolean).flatMap((g) => g.split(".").map((_, i, a) => a.slice(0, i + 1).join("."))))].sort();
  const picture = el("div", { class: "graph", id: "graph" });
  main().replaceChildren(
    el("h1", {}, el("a", { href: `/ui/dags/${enc(dagId)}` }, dagId), " / graph"),
    el("div", { class: "toolbar" }, "Version ", versionSelect, " Run ", runSelect,
      groups.length ? " Groups: " : null,
      groups.map((g) => el("label", {}, el("input", { type: "checkbox", "data-group": g, checked: !collapsed.has(g), onchange: (e) => {
        e.target.checked ? collapsed.delete(g) : collapsed.add(g);
        go({ collapsed: [...collapsed].join(",") });
      } }), " " + g))),
    el("p", { class: "muted" }, run && run.version !== version ? `run ${runId} ran version ${run.version}; states are shown where its tasks match` : `version ${version}: ${tasks.length} task(s)`),
    picture);
  const draw = async () => {
    let states = {};
    if (runId) {
      const tis = await all(`/dags/${enc(dagId)}/dagRuns/${enc(runId)}/taskInstances`, "task_instances").catch(() => []);
      for (const ti of tis) if (!(ti.task_id in states) || ti.map_index < 0) states[ti.task_id] = ti.state;
    }
    const { nodes, columns } = layout(tasks, collapsed);
    const W = 230, H = 34, GX = 60, GY = 16;
    const pos = {};
    columns.forEach((col, x) => col.forEach((id, y) => { pos[id] = { x: 10 + x * (W + GX), y: 10 + y * (H + GY) }; }));
    const width = 20 + columns.length * (W + GX), height = 20 + Math.max(1, ...columns.map((c) => c.length)) * (H + GY);
    const edges = [];
    for (const n of nodes.values()) for (const u of n.up) {
      const a = pos[u], b = pos[n.id];
      edges.push(svg("path", { d: `M${a.x + W},${a.y + H / 2} C${a.x + W + GX / 2},${a.y + H / 2} ${b.x - GX / 2},${b.y + H / 2} ${b.x},${b.y + H / 2}`, fill: "none", stroke: "#94a3b8", "stroke-width": 1.5 }));
    }
    const boxes = [...nodes.values()].map((n) => {
      const p = pos[n.id];
      const nodeStates = n.tasks.map((t) => states[t]).filter(Boolean);
      const state = nodeStates.find((s) => s !== "success") || nodeStates[0] || "";
      const link = n.group ? null : `/ui/dags/${enc(dagId)}/runs/${enc(runId)}/tasks/${enc(n.id)}`;
      const box = svg("g", { "data-node": n.id, "data-state": state || "none" },
        svg("rect", { x: p.x, y: p.y, width: W, height: H, rx: 5, fill: "#fff", stroke: FILL[state] || "#94a3b8", "stroke-width": state ? 3 : 1, "stroke-dasharray": n.group ? "5 3" : "" }),
        svg("rect", { x: p.x, y: p.y, width: 6, height: H, rx: 2, fill: FILL[state] || "#e2e8f0" }),
        svg("text", { x: p.x + 12, y: p.y + H / 2 + 4, "font-size": 12, "font-family": "ui-monospace, monospace" },
          (n.group ? "▣ " + n.label + ` (${n.tasks.length})` : n.label).slice(0, 30)));
      const title = svg("title", {}, `${n.id}${state ? " · " + state : ""}`);
      box.prepend(title);
      if (link && runId) {
        const a = svg("a", { href: link });
        a.append(box);
        return a;
      }
      return box;
    });
    picture.replaceChildren(svg("svg", { width, height, viewBox: `0 0 ${width} ${height}` }, edges, boxes));
  };
  live(draw);
}

// ---- versions --------------------------------------------------------------

// A line diff (longest common subsequence): [kind, line] with kind " ", "-" or "+".
function lineDiff(before, after) {
  const a = before.split("\n"), b = after.split("\n");
  if (a.length * b.length > 4e6) return [["!", "(too long to compare line by line)"]];
  const n = a.length, m = b.length;
  const len = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
    len[i][j] = a[i] === b[j] ? len[i + 1][j + 1] + 1 : Math.max(len[i + 1][j], len[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) { out.push([" ", a[i]]); i++; j++; }
    else if (len[i + 1][j] >= len[i][j + 1]) out.push(["-", a[i++]]);
    else out.push(["+", b[j++]]);
  }
  while (i < n) out.push(["-", a[i++]]);
  while (j < m) out.push(["+", b[j++]]);
  return out;
}

async function fileText(dagId, version, key) {
  const file = await api(`/dags/${enc(dagId)}/versions/${version}/file?key=${enc(key)}`).catch((e) => ({ content: e.message }));
  return typeof file === "string" ? file : (file.content !== undefined ? file.content : JSON.stringify(file));
}

async function versionsPage(dagId, version) {
  const params = new URLSearchParams(location.search);
  const versions = (await api(`/dags/${enc(dagId)}/versions`)).versions || [];
  const runs = await all(`/dags/${enc(dagId)}/dagRuns?order_by=-logical_date`, "dag_runs").catch(() => []);
  const runsOf = {};
  for (const r of runs) (runsOf[r.version] = runsOf[r.version] || []).push(r);
  const body = el("div");
  main().replaceChildren(el("h1", {}, el("a", { href: `/ui/dags/${enc(dagId)}` }, dagId), " / versions"),
    el("table", { class: "list", id: "versions" },
      el("thead", {}, el("tr", {}, ["Version", "Created", "Hash", "Runs", "", ""].map((h) => el("th", {}, h)))),
      el("tbody", {}, versions.map((v) => el("tr", {},
        el("td", {}, el("a", { href: `/ui/dags/${enc(dagId)}/versions/${v.version}` }, "v" + v.version)),
        el("td", {}, when(v.created_at)), el("td", {}, el("code", {}, (v.hash || "").slice(7, 19))),
        el("td", { "data-runs": v.version }, (runsOf[v.version] || []).length,
          (runsOf[v.version] || []).slice(0, 3).map((r) => [" ", el("a", { href: `/ui/dags/${enc(dagId)}/graph?run=${enc(r.dag_run_id)}`, title: r.state }, stateBox(r.state, "dot"))])),
        el("td", {}, el("a", { href: `/ui/dags/${enc(dagId)}/graph?version=${v.version}` }, "graph")),
        el("td", {}, v.version > 1 ? el("a", { href: `/ui/dags/${enc(dagId)}/versions/${v.version}?against=${v.version - 1}` }, `diff with v${v.version - 1}`) : ""))))),
    body);
  const shown = version || (versions.length ? versions[versions.length - 1].version : null);
  if (!shown) return;
  const detail = await api(`/dags/${enc(dagId)}/versions/${shown}`);
  const against = params.get("against");
  if (against) {
    const diff = await api(`/dags/${enc(dagId)}/versions/${against}/diff/${shown}`);
    const c = diff.changes || {};
    const summary = [["tasks added", c.tasks_added], ["tasks removed", c.tasks_removed], ["tasks changed", c.tasks_changed],
      ["DAG fields changed", c.dag_fields_changed], ["files added", c.files_added], ["files removed", c.files_removed], ["files changed", c.files_changed]]
      .filter(([, list]) => list && list.length).map(([what, list]) => el("li", {}, `${what}: `, el("code", {}, list.map((x) => typeof x === "string" ? x : (x.task_id || JSON.stringify(x))).join(", "))));
    const panel = el("div", { id: "diff", class: "panel" }, el("h2", {}, `v${against} → v${shown}`),
      summary.length ? el("ul", {}, summary) : el("p", { class: "muted" }, "No changes."));
    for (const key of [...(c.files_changed || []), ...(c.files_added || []), ...(c.files_removed || [])]) {
      const before = (c.files_added || []).includes(key) ? "" : await fileText(dagId, against, key);
      const after = (c.files_removed || []).includes(key) ? "" : await fileText(dagId, shown, key);
      const lines = lineDiff(before, after);
      panel.append(el("h3", {}, key), el("pre", { class: "code diff", "data-file": key },
        lines.filter(([k], i) => k !== " " || lines.slice(Math.max(0, i - 3), i + 4).some(([x]) => x !== " "))
          .map(([k, line]) => el("div", { class: k === "+" ? "add" : k === "-" ? "del" : "" }, `${k} ${line}`))));
    }
    body.append(panel);
  }
  body.append(el("h2", {}, `Code of v${shown}`));
  for (const key of Object.keys(detail.files || {})) {
    body.append(el("h3", {}, key), el("pre", { class: "code", "data-file": key }, await fileText(dagId, shown, key)));
  }
}

// ---- cluster, pools, Variables, assets --------------------------------------

async function clusterPage() {
  main().replaceChildren(el("h1", {}, "Cluster"), el("div", { id: "cluster" }));
  live(async () => {
    const c = await api("/cluster");
    const members = (c.members || []).map((m) => Object.assign({ node_id: m.node_id, grpc_addr: m.grpc_addr, voter: m.voter }, m.status || {}));
    const leaderApplied = Math.max(0, ...members.map((m) => m.last_applied || 0));
    document.getElementById("cluster").replaceChildren(
      el("p", {}, "Leader: ", el("b", { id: "leader" }, c.leader_id === null || c.leader_id === undefined ? "none" : `node ${c.leader_id}`)),
      el("table", { class: "list", id: "members" },
        el("thead", {}, el("tr", {}, ["Node", "Role", "Voter", "HTTP", "gRPC", "Term", "Last log", "Applied", "Lag", "Snapshot"].map((h) => el("th", {}, h)))),
        el("tbody", {}, members.map((m) => el("tr", {},
          el("td", {}, m.node_id), el("td", {}, m.role || "unreachable"), el("td", {}, m.voter ? "yes" : "no"),
          el("td", {}, m.http_addr || "–"), el("td", {}, m.grpc_addr || "–"),
          el("td", {}, m.term ?? "–"), el("td", {}, m.last_log_index ?? "–"), el("td", {}, m.last_applied ?? "–"),
          el("td", {}, m.last_applied === undefined ? "–" : leaderApplied - m.last_applied),
          el("td", {}, m.snapshot_index ?? "–"))))),
      el("h2", {}, "Workers"), workersTable(await api("/workers").catch((e) => ({ error: e.message }))),
      el("h2", {}, "Recent leader changes"), leaderChangesTable(c.leader_changes || []),
      el("h2", {}, "As this node answers"), el("pre", { class: "code" }, JSON.stringify(c, null, 2)));
  }, 1000);
}

// Each new leader records itself in the log, so every node lists the same.
function leaderChangesTable(changes) {
  if (!changes.length) return el("p", { class: "muted" }, "None recorded.");
  return el("table", { class: "list", id: "leader-changes" },
    el("thead", {}, el("tr", {}, ["Term", "Leader", "Since", "Log index", "Led for"].map((h) => el("th", {}, h)))),
    el("tbody", {}, changes.map((c, i) => {
      const until = i === 0 ? Date.now() : Date.parse(changes[i - 1].at);
      const secs = Math.max(0, (until - Date.parse(c.at)) / 1000);
      const span = secs < 120 ? `${secs.toFixed(1)} s` : secs < 7200 ? `${(secs / 60).toFixed(1)} min` : `${(secs / 3600).toFixed(1)} h`;
      return el("tr", { "data-term": c.term },
        el("td", {}, c.term), el("td", {}, `node ${c.node_id}`), el("td", {}, when(c.at)), el("td", {}, c.index),
        el("td", {}, i === 0 ? `${span} (leading)` : span));
    })));
}

function workersTable(answer) {
  if (answer.error) return el("p", { class: "muted" }, answer.error);
  const workers = answer.workers || [];
  if (!workers.length) return el("p", { class: "muted" }, "No live worker.");
  return el("table", { class: "list", id: "workers" },
    el("thead", {}, el("tr", {}, ["Worker", "Queues", "Slots", "Environments", "Teams", "Last heard"].map((h) => el("th", {}, h)))),
    el("tbody", {}, workers.map((w) => el("tr", { "data-worker": w.worker_id },
      el("td", {}, w.worker_id), el("td", {}, w.queues.join(", ")), el("td", {}, w.slots),
      el("td", {}, w.environments.map((e) => `${e.name} (Python ${e.python_version}, ${e.packages} packages)`).join("; ") || "–"),
      el("td", {}, w.teams.length ? w.teams.join(", ") : "every team"),
      el("td", {}, `${w.last_seen_seconds.toFixed(1)} s ago`)))));
}

async function tablePage(title, path, key, columns) {
  main().replaceChildren(el("h1", {}, title), el("div", { id: "table" }));
  live(async () => {
    const answer = await api(path);
    const rows = answer[key] || [];
    document.getElementById("table").replaceChildren(rows.length ? el("table", { class: "list" },
      el("thead", {}, el("tr", {}, columns.map(([h]) => el("th", {}, h)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, columns.map(([, f]) => el("td", {}, f(r))))))) : el("p", { class: "muted" }, "None."));
  });
}

// ---- routing ---------------------------------------------------------------

async function start() {
  try {
    WHO = await api("/ui/session");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return loginPage();
    return showError(error);
  }
  // The cluster's members are for cluster-wide roles only (a team gets 403).
  if (WHO.team) document.getElementById("nav-cluster").remove();
  const who = document.getElementById("who");
  who.append(WHO.open ? "open API (no tokens)" : `${WHO.team ? WHO.team + " · " : ""}${WHO.role}`);
  if (!WHO.open) who.append(" ", el("a", { href: "#", id: "logout", onclick: (e) => { e.preventDefault(); logout(); } }, "log out"));
  const path = decodeURI(location.pathname).replace(/^\/ui\/?/, "").replace(/\/$/, "");
  const parts = path ? path.split("/").map(decodeURIComponent) : [];
  try {
    if (parts.length === 0) return await dagListPage();
    if (parts[0] === "dags" && parts.length === 2) return await gridPage(parts[1]);
    if (parts[0] === "dags" && parts[2] === "trigger") return await triggerPage(parts[1]);
    if (parts[0] === "dags" && parts[2] === "graph") return await graphPage(parts[1]);
    if (parts[0] === "dags" && parts[2] === "versions") return await versionsPage(parts[1], parts[3] ? Number(parts[3]) : null);
    if (parts[0] === "dags" && parts[2] === "runs" && parts[4] === "tasks") return await taskInstancePage(parts[1], parts[3], parts.slice(5).join("/"));
    if (parts[0] === "cluster") return await clusterPage();
    if (parts[0] === "pools") return await tablePage("Pools", "/pools", "pools", [["Pool", (p) => p.name], ["Slots", (p) => p.slots], ["Running", (p) => p.running_slots ?? p.occupied_slots ?? "–"], ["Queued", (p) => p.queued_slots ?? "–"], ["Team", (p) => p.team || "–"]]);
    if (parts[0] === "variables") return await tablePage("Variables", "/variables", "variables", [["Key", (v) => v.key], ["Value", () => "***"], ["Team", (v) => v.team || "–"], ["Description", (v) => v.description || ""]]);
    if (parts[0] === "datasets") return await tablePage("Assets", "/datasets", "datasets", [["URI", (d) => d.uri], ["Consumers", (d) => (d.consumer_dags || []).map((c) => c.dag_id).join(", ")], ["Producers", (d) => (d.producing_tasks || []).map((t) => `${t.dag_id}.${t.task_id}`).join(", ")], ["Updated", (d) => when(d.updated_at)]]);
    main().replaceChildren(el("p", {}, "No such page. ", el("a", { href: "/ui/" }, "DAGs")));
  } catch (error) {
    showError(error);
  }
}

start();
