'use strict';
// Task Scheduler dashboard: vanilla JS over the read API (/api/*) and the live stream (/api/events).
// Every value from the server is client data (task ids, args, results): it only ever reaches the page
// through textContent and attributes, never through innerHTML.

const SVG_NS = 'http://www.w3.org/2000/svg';
const $ = (id) => document.getElementById(id);
let current = { view: 'overview', taskId: undefined };
let lastVersion = -1;
let refreshing = false;
/** Numbers list requests, so an answer that arrives after a newer request was made is dropped. */
let listRequest = 0;
/** Rows per page of the task list. */
const PAGE_SIZE = 200;
/** The task list's paging: `before` cursors of the pages shown so far (undefined: the newest page). */
let pages = [undefined];
/** The `before` of the page after the one shown; null on the last page. */
let nextPage = null;

/** GET a JSON endpoint; a 401 (session expired) reloads to the login page. */
async function api(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' }, credentials: 'same-origin' });
  if (res.status === 401) {
    location.reload();
    throw new Error('not logged in');
  }
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error || `HTTP ${res.status}`), { status: res.status });
  return body;
}

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function statusBadge(status) {
  return el('span', status, `badge status-${String(status).toLowerCase()}`);
}

function taskLink(taskId) {
  const a = el('a', taskId);
  a.href = `#/task/${encodeURIComponent(taskId)}`;
  return a;
}

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** A local date and time to the millisecond, `2026-12-05 14:03:22.123`. */
function time(ms) {
  if (ms === undefined || ms === null) return '–';
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A table cell with a time, its UTC form on hover. */
function timeCell(tag, ms) {
  const node = el(tag, time(ms));
  if (ms !== undefined && ms !== null) node.title = new Date(ms).toISOString();
  return node;
}

/**
 * An id shortened in the middle to `max` characters (`order-2026-12-0…-item-00417`), so ids that share a
 * long prefix stay distinguishable by their ends; the full id goes in the title.
 */
function middleEllipsis(id, max) {
  if (id.length <= max) return id;
  const head = Math.ceil((max - 1) * 0.45);
  return `${id.slice(0, head)}…${id.slice(id.length - (max - 1 - head))}`;
}

function duration(task) {
  if (task.runMs !== undefined && task.runMs !== null) return task.runMs < 1 ? `${task.runMs.toFixed(3)} ms` : `${task.runMs.toFixed(1)} ms`;
  if (task.finishedAt && task.startedAt) return `${task.finishedAt - task.startedAt} ms`;
  return '–';
}

function uptime(seconds) {
  const d = Math.floor(seconds / 86400), h = Math.floor((seconds % 86400) / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
  return d > 0 ? `${d}d ${h}h ${m}m` : h > 0 ? `${h}h ${m}m ${s}s` : m > 0 ? `${m}m ${s}s` : `${s}s`;
}

function bytes(n) {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

function showError(err) {
  const box = $('error');
  box.textContent = err ? `Error: ${err.message}` : '';
  box.hidden = !err;
}

function fillTasks(tbody, tasks, columns) {
  tbody.replaceChildren(...tasks.map((task) => {
    const row = el('tr');
    row.dataset.taskId = task.taskId;
    row.dataset.status = task.status;
    const id = el('td', undefined, 'id');
    id.append(taskLink(task.taskId));
    const status = el('td');
    status.append(statusBadge(task.status));
    if (task.attempts > 1) status.append(el('span', ` ×${task.attempts}`, 'muted attempts'));
    row.append(id, el('td', task.method), status, el('td', duration(task)), timeCell('td', task.submittedAt));
    if (columns === 'full') row.append(timeCell('td', task.startedAt), timeCell('td', task.finishedAt));
    return row;
  }));
}

// ---- overview -------------------------------------------------------------------------------------

function renderOverview(o) {
  $('logout').hidden = !o.authRequired;
  $('ov-uptime').textContent = uptime(o.uptimeSeconds);
  $('ov-rate').textContent = String(o.tasksPerSecond);
  $('ov-running').textContent = String(o.running);
  $('ov-pending').textContent = String(o.pending);
  const s = o.scheduling;
  const depth = Object.entries(s.waitingByMethod).map(([method, n]) => `${method} ${n}`).join(', ');
  const keys = Object.entries(s.runningByKey).map(([key, n]) => `${key} ${n}`).join(', ');
  $('ov-waiting').textContent = `${o.waitingForDeps} on deps, ${o.waitingForSlot} on a slot, ${s.delayed} delayed` +
    (s.paused.length ? ` · paused: ${s.paused.join(', ')}` : '') + (depth ? ` · queued: ${depth}` : '') + (keys ? ` · running by key: ${keys}` : '');
  $('ov-failed').textContent = String(o.totals.failed);
  $('ov-succeeded').textContent = String(o.totals.succeeded);
  $('ov-cancelled').textContent = String(o.totals.cancelled);
  $('ov-accepted').textContent = String(o.totals.accepted);
  $('ov-loop').textContent = `${o.eventLoopDelayMs.p99} ms`;
  $('ov-loop-sub').textContent = `p99; p50 ${o.eventLoopDelayMs.p50} ms, max ${o.eventLoopDelayMs.max} ms`;
  $('ov-results').textContent = String(o.results.count);
  $('ov-results-sub').textContent = o.results.bytes ? `~${bytes(o.results.bytes)}` : '';
  $('ov-pool').textContent = o.workerPool ? `${o.workerPool.busy} / ${o.workerPool.threads}` : 'off';
  $('ov-pool-sub').textContent = o.workerPool ? 'busy / threads' : 'no worker threads';
  $('ov-history').textContent = String(o.history.size);
  $('ov-history-sub').textContent = `of ${o.history.capacity} kept; ${bytes(o.history.bytes)} of ${bytes(o.history.maxBytes)}`;
  if (o.history.version !== lastVersion) {
    lastVersion = o.history.version;
    void refreshLists();
  }
}

/** Refreshes the lists on screen after the history changed (at most one fetch at a time). */
async function refreshLists() {
  if (refreshing) return;
  refreshing = true;
  try {
    if (current.view === 'overview') {
      const { tasks } = await api('/api/tasks?limit=10');
      fillTasks($('ov-latest').tBodies[0], tasks, 'short');
    } else if (current.view === 'tasks') {
      await loadTasks();
    } else if (current.view === 'task' && current.taskId !== undefined) {
      await loadTask(current.taskId, false);
    }
  } catch (err) {
    showError(err);
  } finally {
    refreshing = false;
  }
}

// ---- tasks ----------------------------------------------------------------------------------------

async function loadTasks() {
  const form = new FormData($('filters'));
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const key of ['status', 'method', 'q']) {
    const value = String(form.get(key) || '');
    if (value) params.set(key, value);
  }
  const before = pages[pages.length - 1];
  if (before !== undefined) params.set('before', String(before));
  const request = ++listRequest;
  const body = await api(`/api/tasks?${params}`);
  if (request !== listRequest) return;
  fillTasks($('tasks-table').tBodies[0], body.tasks, 'full');
  nextPage = body.next;
  const first = (pages.length - 1) * PAGE_SIZE;
  $('tasks-count').textContent = body.tasks.length === 0
    ? `${body.matched} matching task(s) in the history.`
    : `${body.matched} matching task(s) in the history; showing ${first + 1}–${first + body.tasks.length}, newest first.`;
  $('page-newest').disabled = pages.length === 1;
  $('page-newer').disabled = pages.length === 1;
  $('page-older').disabled = nextPage === null;
  $('page-number').textContent = `page ${pages.length}`;
  const select = $('filter-method');
  const chosen = select.value;
  const known = new Set([...select.options].map((option) => option.value));
  for (const method of body.methods) {
    if (!known.has(method)) select.append(Object.assign(el('option', method), { value: method }));
  }
  select.value = chosen;
}

// ---- task detail and graph ------------------------------------------------------------------------

function linkList(ul, links, more) {
  ul.replaceChildren(...links.map((link) => {
    const li = el('li');
    li.append(taskLink(link.taskId), ' ', statusBadge(link.status), el('span', link.method ? ` ${link.method}` : '', 'muted'));
    return li;
  }));
  if (links.length === 0) ul.append(el('li', 'none', 'muted'));
  if (more > 0) ul.append(el('li', `… and ${more} more`, 'muted'));
}

async function loadTask(taskId, withGraph = true) {
  let detail;
  try {
    detail = await api(`/api/tasks/${encodeURIComponent(taskId)}`);
  } catch (err) {
    $('task-id').textContent = taskId;
    $('task-status').replaceWith(Object.assign(statusBadge('UNKNOWN'), { id: 'task-status' }));
    $('task-note').textContent = err.message;
    return;
  }
  const t = detail.task;
  $('task-id').textContent = t.taskId;
  $('task-status').replaceWith(Object.assign(statusBadge(t.status), { id: 'task-status' }));
  const notes = [];
  if (!t.inHistory) notes.push('No longer in the dashboard history: arguments and run time may be unknown.');
  if (t.attempts > 1) notes.push(`Ran ${t.attempts} times (retried).`);
  if (!t.stored) notes.push('The result store no longer holds this task: its result is gone.');
  $('task-note').textContent = notes.join(' ');
  $('task-method').textContent = t.method;
  for (const [id, ms] of [['task-submitted', t.submittedAt], ['task-started', t.startedAt], ['task-finished', t.finishedAt]]) {
    $(id).textContent = time(ms);
    $(id).title = ms ? new Date(ms).toISOString() : '';
  }
  $('task-attempts').textContent = String(t.attempts || 0);
  fillAttempts(t);
  $('task-duration').textContent = duration(t);
  $('task-args').textContent = t.args ? `${t.args}${t.argsTruncated ? ' … (truncated)' : ''}` : '(not kept: the arguments were long and the task left the history)';
  const failed = t.status === 'FAILED' || t.status === 'CANCELLED';
  $('task-error-box').hidden = !failed;
  $('task-result-box').hidden = failed;
  $('task-error').textContent = t.failure ? `${t.failure.code}: ${t.failure.message}` : (t.error || '');
  $('task-result').textContent = t.status === 'SUCCESS' ? `${t.result}${t.resultTruncated ? ' … (truncated)' : ''}` : '(not finished)';
  linkList($('task-deps'), detail.dependencies, 0);
  linkList($('task-dependents'), detail.dependents, detail.moreDependents);
  $('dependents-note').textContent = detail.dependentsFrom === 'partial'
    ? 'This task left the dashboard history: its dependents were searched in the history and in the most recent records of the result store; older dependents are not shown.'
    : detail.dependentsFrom === 'store'
      ? 'This task left the dashboard history: its dependents were found in the history and the result store.'
      : '';
  $('task-batch-box').hidden = detail.batch.length === 0;
  linkList($('task-batch'), detail.batch, detail.moreBatch);
  if (withGraph || current.graphVersion !== lastVersion) {
    current.graphVersion = lastVersion;
    const graph = await api(`/api/tasks/${encodeURIComponent(taskId)}/graph`);
    drawGraph(graph);
  }
}

/** The failed attempts of a retried task: number, when it ended, status and error. */
function fillAttempts(t) {
  const rows = t.attemptErrors || [];
  $('task-attempts-box').hidden = rows.length === 0;
  $('task-attempts-table').tBodies[0].replaceChildren(...rows.map((entry) => {
    const row = el('tr');
    row.dataset.attempt = String(entry.attempt);
    row.append(el('td', String(entry.attempt)), timeCell('td', entry.at), el('td', entry.code || '–'), el('td', entry.error, 'mono error'));
    return row;
  }));
}

function svg(tag, attributes) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, String(value));
  return node;
}

function drawGraph(graph) {
  const box = $('graph');
  const pad = 8;
  box.setAttribute('width', String(graph.width + 2 * pad));
  box.setAttribute('height', String(graph.height + 2 * pad));
  box.setAttribute('viewBox', `${-pad} ${-pad} ${graph.width + 2 * pad} ${graph.height + 2 * pad}`);
  const defs = svg('defs');
  const marker = svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrow' }));
  defs.append(marker);
  const edges = graph.edges.map((edge) => {
    const d = edge.points.map((p, i) => `${i === 0 ? 'M' : 'L'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
    const path = svg('path', { d, class: 'edge', 'marker-end': 'url(#arrow)' });
    path.dataset.from = edge.from;
    path.dataset.to = edge.to;
    return path;
  });
  const nodes = graph.nodes.map((node) => {
    const g = svg('g', { class: `node status-${node.status.toLowerCase()}${node.focus ? ' focus' : ''}`, transform: `translate(${node.x - node.width / 2} ${node.y - node.height / 2})` });
    g.dataset.taskId = node.id;
    g.dataset.status = node.status;
    const title = svg('title');
    title.textContent = `${node.id} (${node.method || 'unknown method'}): ${node.status}`;
    const label = svg('text', { x: 10, y: 18 });
    label.textContent = middleEllipsis(node.id, 28);
    const method = svg('text', { x: 10, y: 34, class: 'method' });
    method.textContent = `${node.method || '?'} · ${node.status.toLowerCase()}`;
    g.append(title, svg('rect', { width: node.width, height: node.height, rx: 6 }), label, method);
    g.addEventListener('click', () => { location.hash = `#/task/${encodeURIComponent(node.id)}`; });
    return g;
  });
  box.replaceChildren(defs, ...edges, ...nodes);
  $('graph-note').textContent = graph.truncated
    ? 'Only the tasks nearest to this one are drawn (the graph is larger).'
    : `${graph.nodes.length} task(s); arrows point from a dependency to the task that waits for it. Click a task to open it.`;
}

// ---- registry ------------------------------------------------------------------------------------

async function loadRegistry() {
  const body = await api('/api/registry');
  $('registry-tasks').tBodies[0].replaceChildren(...body.tasks.map((task) => {
    const row = el('tr');
    row.append(el('td', task.name, 'mono'), el('td', task.kind + (task.worker ? ' (worker)' : '')), el('td', task.source), el('td', task.description));
    return row;
  }));
  const plugins = $('registry-plugins').tBodies[0];
  plugins.replaceChildren(...body.plugins.map((plugin) => {
    const row = el('tr');
    row.append(el('td', plugin.name, 'mono'), el('td', plugin.file, 'mono'), el('td', plugin.tasks.join(', ')));
    return row;
  }));
  if (body.plugins.length === 0) {
    const row = el('tr');
    const cell = el('td', 'No plugins loaded.', 'muted');
    cell.colSpan = 3;
    row.append(cell);
    plugins.append(row);
  }
}

// ---- routing and live updates ----------------------------------------------------------------------

async function route() {
  const hash = location.hash || '#/overview';
  const task = /^#\/task\/(.+)$/.exec(hash);
  const view = task ? 'task' : (/^#\/(overview|tasks|registry)$/.exec(hash) || [])[1] || 'overview';
  let taskId;
  if (task) {
    try {
      taskId = decodeURIComponent(task[1]);
    } catch {
      taskId = task[1];
    }
  }
  current = { view, taskId };
  for (const section of document.querySelectorAll('.view')) section.hidden = section.id !== `view-${view}`;
  for (const link of document.querySelectorAll('header nav a')) link.classList.toggle('active', link.dataset.view === view);
  showError(undefined);
  try {
    if (view === 'tasks') await loadTasks();
    else if (view === 'registry') await loadRegistry();
    else if (view === 'task') await loadTask(taskId);
    else await refreshLists();
  } catch (err) {
    showError(err);
  }
}

function connect() {
  const live = $('live');
  const events = new EventSource('/api/events');
  events.addEventListener('overview', (event) => {
    live.textContent = 'live';
    live.className = 'live on';
    renderOverview(JSON.parse(event.data));
  });
  events.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.className = 'live off';
  });
}

let searchTimer;
$('filters').addEventListener('input', () => {
  clearTimeout(searchTimer);
  pages = [undefined];
  searchTimer = setTimeout(() => void loadTasks().catch(showError), 200);
});
function turnPage(change) {
  change();
  void loadTasks().catch(showError);
}
$('page-newest').addEventListener('click', () => turnPage(() => { pages = [undefined]; }));
$('page-newer').addEventListener('click', () => turnPage(() => { if (pages.length > 1) pages.pop(); }));
$('page-older').addEventListener('click', () => turnPage(() => { if (nextPage !== null) pages.push(nextPage); }));
$('filters').addEventListener('submit', (event) => event.preventDefault());
window.addEventListener('hashchange', () => void route());
void route();
connect();
