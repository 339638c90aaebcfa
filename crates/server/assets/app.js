// app.js — the what-if page: sign-in, the HR what-if view, Monte Carlo, saved scenarios,
// the exec alignment view and the plan in plain words. Every number shown is the API's exact
// string; JavaScript parses amounts only to sort rows and place chart marks.

import { ApiError, ROLE_RIGHTS, call, clearToken, setToken, token, whoAmI } from './api.js';
import { histogram, lineChart } from './charts.js';

const $ = (id) => document.getElementById(id);
const MEASURES = ['bookings', 'expansion', 'renewals', 'contraction', 'churn', 'gross_margin', 'revenue'];

const page = {
  role: null,
  plan: null, // GET /v1/plans/{id}
  result: null, // the last simulate answer
  sort: { key: null, ascending: true },
  mcAbort: null,
  alignedFor: null,
  changeInputs: [], // the input behind each change sent, for placing the API's errors
};

// ---------- small DOM helpers ----------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) node.setAttribute(k, v === true ? '' : v);
  }
  for (const child of children.flat()) if (child != null) node.append(child);
  return node;
}

/** A table; numeric columns (`num: true`) are right-aligned and keep the API's string. */
function table(columns, rows, { caption, id } = {}) {
  return h('table', { id },
    caption ? h('caption', {}, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : '' }, c.label)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, columns.map((c) => h('td', { class: cellClass(c, row[c.key]), 'data-key': c.key }, row[c.key] ?? '—'))))));
}

function cellClass(column, value) {
  if (!column.num) return '';
  if (column.signed && typeof value === 'string') return `num ${value.startsWith('-') ? 'neg' : /[1-9]/.test(value) ? 'pos' : ''}`;
  return 'num';
}

/** Replaces `el`'s children, skipping the nulls of optional parts. */
function fill(el, ...children) { el.replaceChildren(...children.flat().filter((c) => c != null)); }

function show(el, visible) { el.hidden = !visible; }

function busy(statusEl, text) {
  statusEl.replaceChildren(text ? h('span', { class: 'spinner', 'aria-hidden': 'true' }) : '', text || '');
}

function roleTitle(id) {
  const role = page.plan?.roles.find((r) => r.id === id);
  return role ? `${role.title} (${id})` : id;
}

// ---------- errors next to their input ----------

function clearErrors(scope = document) {
  for (const p of scope.querySelectorAll('.field-error')) p.remove();
  for (const i of scope.querySelectorAll('[aria-invalid="true"]')) i.removeAttribute('aria-invalid');
  for (const p of scope.querySelectorAll('p.error')) p.textContent = '';
}

/** Puts `message` right under `input`, marks it invalid and links the two for screen readers. */
function errorAt(input, message) {
  const id = `${input.id}-field-error`;
  const p = h('p', { class: 'error field-error', id, role: 'alert' }, message);
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', id);
  (input.closest('.field') || input).after(p);
}

function describe(err) {
  if (!(err instanceof ApiError)) return String(err.message || err);
  const details = (err.details || []).map((d) => [d.file, d.line && `line ${d.line}`, d.col && `column ${d.col}`, d.message].filter(Boolean).join(', '));
  return [err.message, ...details].join(' — ');
}

/** An expired or revoked token sends the user back to sign in, saying why. */
function handleAuth(err) {
  if (err instanceof ApiError && err.status === 401) {
    signOut('Your token is no longer accepted (expired or revoked). Sign in again.');
    return true;
  }
  return false;
}

/** Finds the input an API error is about: a parameter or scaling it names, else the fallback. */
function placeError(err, fallback) {
  if (handleAuth(err)) return;
  const message = describe(err);
  // The API names a change by its place in the list (`changes[1].set.value`): that input.
  const index = /changes\[(\d+)\]/.exec(message);
  if (index && page.changeInputs[Number(index[1])]) return errorAt(page.changeInputs[Number(index[1])], message);
  const named = [...message.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
  for (const name of named) {
    const param = document.querySelector(`#params input[data-param="${CSS.escape(name)}"]`);
    if (param) return errorAt(param, message);
  }
  if (err.code === 'invalid_change') {
    for (const row of document.querySelectorAll('#scales .scale')) {
      const factor = row.querySelector('input');
      const words = [row.querySelector('.sel').value, row.querySelector('.measure').value, factor.value];
      if (named.some((n) => words.includes(n)) || /scale|factor|measure|selector/.test(message)) return errorAt(factor, message);
    }
  }
  fallback.textContent = message;
}

// ---------- sign-in ----------

async function signIn(candidate) {
  clearErrors($('signin'));
  try {
    page.role = await whoAmI(candidate);
  } catch (err) {
    const message = err.status === 401
      ? 'That token is not valid: the server does not know it. Check it (no spaces) and try again.'
      : describe(err);
    $('token-error').textContent = message;
    $('token').setAttribute('aria-invalid', 'true');
    clearToken();
    show($('app'), false);
    show($('signin'), true);
    return;
  }
  setToken(candidate);
  const rights = ROLE_RIGHTS[page.role];
  $('who').replaceChildren(h('span', { class: 'badge' }, page.role));
  $('role-note').textContent = rights.says;
  show($('tab-hr'), rights.whatIf);
  show($('tab-exec'), rights.exec);
  show($('view-exec'), false);
  show($('signin'), false);
  show($('app'), true);
  selectTab(rights.whatIf ? 'hr' : 'exec');
  await loadPlans();
}

function signOut(message) {
  clearToken();
  page.role = null;
  page.alignedFor = null;
  show($('app'), false);
  show($('signin'), true);
  $('who').textContent = '';
  $('token').value = '';
  $('token-error').textContent = message || '';
  $('token').focus();
}

// ---------- tabs ----------

function selectTab(name) {
  for (const tab of ['hr', 'exec', 'explain']) {
    const selected = tab === name;
    $(`tab-${tab}`).setAttribute('aria-selected', String(selected));
    $(`tab-${tab}`).tabIndex = selected ? 0 : -1;
    show($(`view-${tab}`), selected);
  }
  if (name === 'exec') runAlignment();
  if (name === 'explain') loadExplain();
}

function visibleTabs() { return [...document.querySelectorAll('[role=tab]')].filter((t) => !t.hidden); }

function tabKeys(event) {
  const tabs = visibleTabs();
  const at = tabs.indexOf(event.target);
  const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
  if (next === undefined) return;
  event.preventDefault();
  const tab = tabs[(next + tabs.length) % tabs.length];
  tab.focus();
  tab.click();
}

// ---------- plans ----------

async function loadPlans() {
  try {
    const list = await call('GET', '/v1/plans');
    const options = list.plans.map((p) => h('option', { value: p.id }, `${p.name} (${p.id})`));
    $('plan').replaceChildren(...options);
    $('data').replaceChildren(...list.plans.map((p) => h('option', { value: p.id }, `${p.id} data`)));
    if (list.plans.length) await loadPlan(list.plans[0].id);
    else $('plan-error').textContent = 'The server serves no plans.';
  } catch (err) {
    if (!handleAuth(err)) $('plan-error').textContent = describe(err);
  }
}

async function loadPlan(id, dataId = id) {
  clearErrors();
  clearAlignment();
  $('plan').value = id;
  $('data').value = dataId;
  page.plan = await call('GET', `/v1/plans/${encodeURIComponent(id)}`);
  page.result = null;
  page.alignedFor = null;
  show($('results'), false);
  renderParams();
  $('scales').replaceChildren();
  $('explain-role').replaceChildren(...page.plan.roles.map((r) => h('option', { value: r.id }, `${r.title} (${r.id})`)));
  $('mc-result').replaceChildren();
  if (ROLE_RIGHTS[page.role].whatIf) {
    await Promise.all([loadBaseline(), loadCurves(), loadSaved()]);
  }
  const current = visibleTabs().find((t) => t.getAttribute('aria-selected') === 'true');
  if (current?.id === 'tab-exec') runAlignment();
  if (current?.id === 'tab-explain') loadExplain();
}

function target() {
  return { plan: $('plan').value, data: $('data').value };
}

function renderParams() {
  const params = Object.entries(page.plan.params);
  if (!params.length) {
    $('params').replaceChildren(h('p', { class: 'note' }, 'This plan has no parameters.'));
    return;
  }
  $('params').replaceChildren(...params.map(([name, value]) => h('div', { class: 'field' },
    h('label', { for: `param-${name}` }, name, h('span', { class: 'now' }, ` now ${value}`)),
    h('input', { id: `param-${name}`, 'data-param': name, 'data-current': String(value), value: String(value), inputmode: 'decimal', autocomplete: 'off' }))));
}

function addScale(selector = page.plan.roles[0]?.id, measure = 'bookings', factor = '1') {
  const n = $('scales').children.length + 1;
  const sel = h('select', { id: `scale-${n}-who`, class: 'sel' },
    page.plan.roles.map((r) => h('option', { value: r.id }, `${r.title} (${r.id})`)),
    h('option', { value: 'company' }, 'Company'));
  sel.value = selector;
  const what = h('select', { id: `scale-${n}-measure`, class: 'measure' }, MEASURES.map((m) => h('option', { value: m }, m)));
  what.value = measure;
  const row = h('div', { class: 'scale row' },
    h('label', { for: sel.id }, 'Whose'), sel,
    h('label', { for: what.id }, 'measure'), what,
    h('span', { class: 'field' }, h('label', { for: `scale-${n}-factor` }, 'times'),
      h('input', { id: `scale-${n}-factor`, value: factor, inputmode: 'decimal', size: 6, 'aria-describedby': `scale-${n}-hint` })),
    h('span', { id: `scale-${n}-hint`, class: 'note' }, '0.9 = −10 %, 1.1 = +10 %'),
    h('button', { type: 'button', class: 'secondary', 'aria-label': `Remove scaling ${n}`, onclick: () => row.remove() }, 'Remove'));
  $('scales').append(row);
  return row;
}

/** The scenario's changes in the API's words: every param that differs, then the scalings. */
function changes() {
  const list = [];
  page.changeInputs = [];
  for (const input of document.querySelectorAll('#params input')) {
    if (input.value.trim() === input.dataset.current) continue;
    list.push({ set: { name: input.dataset.param, value: input.value.trim() } });
    page.changeInputs.push(input);
  }
  for (const row of document.querySelectorAll('#scales .scale')) {
    page.changeInputs.push(row.querySelector('input'));
    list.push({ scale: { selector: row.querySelector('.sel').value, measure: row.querySelector('.measure').value, factor: row.querySelector('input').value.trim() } });
  }
  return list;
}

function applyChanges(list) {
  for (const input of document.querySelectorAll('#params input')) input.value = input.dataset.current;
  $('scales').replaceChildren();
  for (const change of list) {
    if (change.set) {
      const input = document.querySelector(`#params input[data-param="${CSS.escape(change.set.name)}"]`);
      if (input) input.value = change.set.value;
    } else if (change.scale) {
      addScale(change.scale.selector, change.scale.measure, change.scale.factor);
    }
  }
}

// ---------- baseline and results ----------

async function loadBaseline() {
  try {
    const answer = await call('POST', '/v1/simulate', { body: { ...target(), changes: [] } });
    const b = answer.baseline;
    const periods = Object.entries(b.by_period).map(([period, amount]) => ({ period, amount }));
    const roles = Object.entries(b.by_role).map(([role, amount]) => ({ role: roleTitle(role), amount }));
    $('baseline').replaceChildren(
      h('p', { class: 'kpi' }, h('span', {}, `Total pay for the year (${answer.currency})`), h('strong', { id: 'baseline-total' }, b.total)),
      h('div', { class: 'two' },
        h('div', { class: 'scroll' }, table([{ key: 'role', label: 'Role' }, { key: 'amount', label: 'Year', num: true }], roles, { caption: 'By role' })),
        h('div', { class: 'scroll' }, table([{ key: 'period', label: 'Period' }, { key: 'amount', label: 'Pay', num: true }], periods, { caption: 'By period' }))));
  } catch (err) {
    if (!handleAuth(err)) $('baseline').replaceChildren(h('p', { class: 'error' }, describe(err)));
  }
}

async function run(event) {
  event?.preventDefault();
  clearErrors($('changes'));
  busy($('run-status'), 'Running…');
  $('run').disabled = true;
  try {
    const answer = await call('POST', '/v1/simulate', { body: { ...target(), changes: changes(), top: 5 } });
    renderResult(answer);
    busy($('run-status'), '');
  } catch (err) {
    busy($('run-status'), '');
    placeError(err, $('run-error'));
  } finally {
    $('run').disabled = false;
  }
}

function renderResult(answer, note) {
  page.result = answer;
  const cos = answer.cost_of_sales;
  const kpi = (label, before, after, id) => h('div', { class: 'kpi' }, h('span', {}, label),
    h('strong', { id }, after ?? '—'), h('small', {}, `was ${before ?? '—'}`));
  fill($('summary'),
    note ? h('p', { class: 'note wide' }, note) : null,
    kpi(`Total pay (${answer.currency})`, answer.baseline.total, answer.scenario.total, 'scenario-total'),
    h('div', { class: 'kpi' }, h('span', {}, 'Change in total pay'), h('strong', { id: 'delta-total', class: answer.delta.total.startsWith('-') ? 'neg' : 'pos' }, answer.delta.total)),
    kpi('Cost of sales (pay ÷ revenue)', cos.baseline, cos.scenario, 'cos-scenario'),
    answer.errors.length ? h('p', { class: 'error wide' }, `${answer.errors.length} payee(s) could not be computed and are left out: `,
      answer.errors.map((e) => `${e.payee ?? ''} (${e.run}): ${e.message}`).join('; ')) : null);
  const roles = Object.keys(answer.delta.by_role).map((role) => ({
    role: roleTitle(role), baseline: answer.baseline.by_role[role], scenario: answer.scenario.by_role[role], delta: answer.delta.by_role[role],
  }));
  $('by-role').replaceChildren(table([{ key: 'role', label: 'Role' }, { key: 'baseline', label: 'Before', num: true },
    { key: 'scenario', label: 'After', num: true }, { key: 'delta', label: 'Change', num: true, signed: true }], roles, { id: 'role-deltas' }));
  const byPayee = new Map(answer.payees.map((p) => [p.payee, p]));
  const mover = (id) => { const p = byPayee.get(id); return h('li', {}, `${id} (${p?.role ?? '?'}) `, h('span', { class: 'num' }, p?.delta ?? '')); };
  $('movers').replaceChildren(
    h('h4', {}, 'Earn more'), answer.winners.length ? h('ol', { id: 'winners' }, answer.winners.map(mover)) : h('p', { class: 'note' }, 'Nobody.'),
    h('h4', {}, 'Earn less'), answer.losers.length ? h('ol', { id: 'losers' }, answer.losers.map(mover)) : h('p', { class: 'note' }, 'Nobody.'));
  page.sort = { key: null, ascending: true };
  renderPayees();
  show($('results'), true);
}

const PAYEE_COLUMNS = [
  { key: 'payee', label: 'Payee' }, { key: 'role', label: 'Role' },
  { key: 'baseline', label: 'Before', num: true }, { key: 'scenario', label: 'After', num: true },
  { key: 'delta', label: 'Change', num: true, signed: true },
];

function renderPayees() {
  if (!page.result) return;
  const query = $('payee-search').value.trim().toLowerCase();
  let rows = page.result.payees.filter((p) => !query || p.payee.toLowerCase().includes(query) || p.role.toLowerCase().includes(query));
  const { key, ascending } = page.sort;
  if (key) {
    const numeric = PAYEE_COLUMNS.find((c) => c.key === key).num;
    // Parsing here only orders rows; the cells still show the API's strings.
    const compare = numeric ? (a, b) => Number(a[key]) - Number(b[key]) : (a, b) => a[key].localeCompare(b[key]);
    rows = [...rows].sort((a, b) => (ascending ? compare(a, b) : compare(b, a)));
  }
  const head = h('tr', {}, PAYEE_COLUMNS.map((c) => {
    const sorted = key === c.key ? (ascending ? 'ascending' : 'descending') : 'none';
    return h('th', { scope: 'col', class: c.num ? 'num' : '', 'aria-sort': sorted },
      h('button', { type: 'button', class: 'sort', 'data-sort': c.key, onclick: () => sortBy(c.key) }, c.label,
        h('span', { 'aria-hidden': 'true' }, sorted === 'ascending' ? ' ▲' : sorted === 'descending' ? ' ▼' : ' ↕')));
  }));
  const body = rows.map((p) => h('tr', {}, PAYEE_COLUMNS.map((c) => h('td', { class: cellClass(c, p[c.key]), 'data-key': c.key }, p[c.key]))));
  $('payees').replaceChildren(h('table', { id: 'payee-table' },
    h('caption', {}, `${rows.length} of ${page.result.payees.length} payees; click a heading to sort`),
    h('thead', {}, head), h('tbody', {}, body)));
}

function sortBy(key) {
  page.sort = { key, ascending: page.sort.key === key ? !page.sort.ascending : key !== 'delta' };
  renderPayees();
  document.querySelector(`#payee-table button[data-sort="${key}"]`)?.focus();
}

// ---------- saved scenarios ----------

async function save(event) {
  event.preventDefault();
  clearErrors($('save-form'));
  $('save-error').textContent = '';
  const name = $('scenario-name').value.trim();
  if (!name) return errorAt($('scenario-name'), 'Give the scenario a name.');
  try {
    const saved = await call('POST', '/v1/scenarios', { body: { name, ...target(), changes: changes(), top: 5 } });
    $('save-status').textContent = `Saved as “${saved.name}” (#${saved.id}).`;
    await loadSaved();
  } catch (err) {
    placeError(err, $('save-error'));
  }
}

async function loadSaved() {
  try {
    const list = await call('GET', '/v1/scenarios');
    if (!list.length) {
      $('saved').replaceChildren(h('p', { class: 'note' }, 'None yet: run a what-if and save it by name.'));
      return;
    }
    $('saved').replaceChildren(h('div', { class: 'scroll' }, h('table', { id: 'saved-table' },
      h('thead', {}, h('tr', {}, ['Name', 'Plan', 'Changes', 'Saved by', 'When', ''].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, [...list].reverse().map((s) => h('tr', {},
        h('td', {}, s.name), h('td', {}, s.plan), h('td', {}, summarise(s.changes)), h('td', {}, s.saved_by), h('td', {}, s.saved_at),
        h('td', {}, h('button', { type: 'button', class: 'secondary', 'aria-label': `Open ${s.name}`, onclick: () => reopen(s.id) }, 'Open'))))))));
  } catch (err) {
    if (!handleAuth(err)) $('saved-error').textContent = describe(err);
  }
}

function summarise(list) {
  if (!list.length) return 'none';
  return list.map((c) => c.set ? `${c.set.name} = ${c.set.value}` : c.scale ? `${c.scale.selector} ${c.scale.measure} × ${c.scale.factor}` : Object.keys(c)[0]).join('; ');
}

async function reopen(id) {
  $('saved-error').textContent = '';
  try {
    const saved = await call('GET', `/v1/scenarios/${id}`);
    if (saved.plan !== $('plan').value || saved.data !== $('data').value) await loadPlan(saved.plan, saved.data);
    applyChanges(saved.changes);
    $('scenario-name').value = saved.name;
    const ran = await call('POST', `/v1/scenarios/${id}/run`);
    const changed = [ran.plan_changed && 'the plan', ran.data_changed && 'the data'].filter(Boolean);
    renderResult(ran.result, `Re-opened “${saved.name}”, saved by ${saved.saved_by} at ${saved.saved_at}.` +
      (changed.length ? ` Note: ${changed.join(' and ')} changed since it was saved.` : ' Plan and data are unchanged since.'));
    $('results-title').focus();
  } catch (err) {
    placeError(err, $('saved-error'));
  }
}

// ---------- payout curves ----------

async function loadCurves() {
  const plan = page.plan;
  const charts = await Promise.all(plan.roles.map(async (role) => {
    try {
      const curve = await call('GET', `/v1/plans/${encodeURIComponent(plan.id)}/curve?role=${encodeURIComponent(role.id)}&steps=40`);
      const points = curve.points.map((p) => ({ x: p.attainment, y: p.total }));
      const skipped = curve.skipped.length ? h('p', { class: 'note' }, `Not on this curve: ${curve.skipped.map((s) => `${s.component} (${s.reason})`).join('; ')}`) : null;
      // A flat zero line says nothing: a role not paid on quota gets the reason instead.
      if (points.every((p) => !/[1-9]/.test(p.y))) return h('div', { class: 'chart-box' }, h('h3', {}, role.title), h('p', { class: 'note' }, 'No pay on quota attainment for this role.'), skipped);
      return h('div', { class: 'chart-box' }, h('h3', {}, role.title),
        lineChart({ title: `${role.title}: yearly pay against quota attainment`, description: `From ${points[0].y} to ${points.at(-1).y} ${curve.currency}`,
          xLabel: 'attainment (1 = quota)', series: [{ name: `pay (${curve.currency})`, cls: 'pay', points }], marker: { x: '1', label: 'quota' } }),
        skipped);
    } catch (err) {
      if (handleAuth(err)) return null;
      return h('div', { class: 'chart-box' }, h('h3', {}, role.title), h('p', { class: 'note' }, describe(err)));
    }
  }));
  if (plan === page.plan) fill($('curves'), charts);
}

// ---------- Monte Carlo ----------

async function monteCarlo(event) {
  event.preventDefault();
  clearErrors($('mc-form'));
  $('mc-error').textContent = '';
  const body = { ...target(), changes: changes(), draws: Number($('mc-draws').value), seed: Number($('mc-seed').value) };
  if (!Number.isInteger(body.draws)) return errorAt($('mc-draws'), 'Draws must be a whole number.');
  if (!Number.isInteger(body.seed)) return errorAt($('mc-seed'), 'The seed must be a whole number.');
  if ($('mc-budget').value.trim()) body.budget = $('mc-budget').value.trim();
  page.mcAbort = new AbortController();
  show($('mc-cancel'), true);
  $('mc-run').disabled = true;
  busy($('mc-status'), `Running ${body.draws} draws…`);
  try {
    const answer = await call('POST', '/v1/montecarlo', { body, signal: page.mcAbort.signal });
    renderMonteCarlo(answer);
    busy($('mc-status'), '');
  } catch (err) {
    busy($('mc-status'), '');
    if (err.name === 'AbortError') {
      $('mc-status').textContent = 'Cancelled.';
    } else if (/draws/.test(err.message)) {
      errorAt($('mc-draws'), describe(err));
    } else if (/budget/.test(err.message)) {
      errorAt($('mc-budget'), describe(err));
    } else {
      placeError(err, $('mc-error'));
    }
  } finally {
    page.mcAbort = null;
    show($('mc-cancel'), false);
    $('mc-run').disabled = false;
  }
}

function renderMonteCarlo(m) {
  const keys = ['p5', 'p25', 'p50', 'p75', 'p95', 'mean', 'min', 'max'];
  const columns = [{ key: 'who', label: '' }, ...keys.map((k) => ({ key: k, label: k, num: true }))];
  const rows = [{ who: 'Total', ...m.total }, ...Object.entries(m.by_role).map(([role, d]) => ({ who: roleTitle(role), ...d }))];
  const a = m.attainment;
  fill($('mc-result'),
    h('div', { class: 'kpis' },
      h('div', { class: 'kpi' }, h('span', {}, 'Budget'), h('strong', {}, m.budget ?? 'none set')),
      h('div', { class: 'kpi' }, h('span', {}, 'P(over budget)'), h('strong', { id: 'mc-over' }, m.p_over_budget ?? '—')),
      h('div', { class: 'kpi' }, h('span', {}, 'Share of reps at quota (mean)'), h('strong', {}, a.mean ?? '—'), h('small', {}, `p5 ${a.p5 ?? '—'} · p95 ${a.p95 ?? '—'} · of ${a.payees} with a quota`)),
      h('div', { class: 'kpi' }, h('span', {}, 'Median total pay'), h('strong', { id: 'mc-p50' }, m.total.p50), h('small', {}, `${m.draws} draws, seed ${m.seed}`))),
    h('div', { class: 'scroll' }, table(columns, rows, { caption: `Cost percentiles (${m.currency})`, id: 'mc-table' })),
    h('div', { class: 'chart-box narrow' }, histogram({ title: 'Total pay over the draws', description: `${m.draws} draws; budget ${m.budget ?? 'none'}`, bins: m.histogram, budget: m.budget, xLabel: `total pay (${m.currency})` })),
    m.errored_draws ? h('p', { class: 'error' }, `${m.errored_draws} draw(s) had payees that could not be computed.`) : null);
}

// ---------- exec: alignment ----------

// No verdict, no verdict's colour and no findings until the shown plan's alignment is in.
function clearAlignment() {
  $('align-error').textContent = '';
  $('verdict').className = 'verdict';
  $('verdict').textContent = '';
  delete $('verdict').dataset.plan;
  $('findings').replaceChildren();
  $('align-charts').replaceChildren();
}

async function runAlignment() {
  const key = `${$('plan').value}/${$('data').value}`;
  if (!page.plan || !ROLE_RIGHTS[page.role]?.exec || page.alignedFor === key) return;
  page.alignedFor = key;
  clearAlignment();
  busy($('align-status'), 'Sweeping revenue and margin…');
  try {
    const a = await call('POST', '/v1/alignment', { body: target() });
    const problems = a.findings.filter((f) => f.kind === 'rises_while_profit_falls');
    const roles = [...new Set(problems.map((f) => f.role))];
    $('verdict').className = `verdict ${a.verdict}`;
    $('verdict').dataset.plan = key;
    $('verdict').textContent = a.verdict === 'aligned'
      ? `Aligned: across revenue ${a.revenue[0]}–${a.revenue.at(-1)} × and margin ${a.margin[0]} to ${a.margin.at(-1)}, no role's pay rises while profit after comp falls.`
      : `Misaligned: ${roles.join(', ')} can earn more while the company's profit after comp falls (${problems.length} place${problems.length === 1 ? '' : 's'} on the grid).`;
    const notes = a.findings.filter((f) => f.kind === 'unresponsive').map((f) => `${roleTitle(f.role)}: pay is the same in every cell of the grid (a note, not a problem).`);
    $('findings').replaceChildren(...a.summary.map((s) => h('li', {}, s)), ...notes.map((s) => h('li', { class: 'note' }, s)));
    if (!a.summary.length && !notes.length) $('findings').append(h('li', {}, 'No findings.'));
    renderAlignmentCharts(a);
    busy($('align-status'), '');
  } catch (err) {
    page.alignedFor = null;
    busy($('align-status'), '');
    if (!handleAuth(err)) $('align-error').textContent = describe(err);
  }
}

function renderAlignmentCharts(a) {
  // Today's margin (Δm = 0) when on the grid, else its middle column.
  const dm = a.margin.find((m) => Number(m) === 0) ?? a.margin[Math.floor(a.margin.length / 2)];
  const cells = a.cells.filter((c) => c.dm === dm);
  const roles = Object.keys(cells[0]?.by_role ?? {});
  $('align-charts').replaceChildren(...roles.map((role) => h('div', { class: 'chart-box' }, h('h3', {}, roleTitle(role)),
    lineChart({
      title: `${roleTitle(role)}: pay and profit after comp against revenue`,
      description: `Margin change ${dm}; revenue ${a.revenue[0]} to ${a.revenue.at(-1)} of plan`,
      xLabel: `revenue (1 = plan), margin change ${dm}`,
      series: [
        { name: `${role} pay`, cls: 'pay', points: cells.map((c) => ({ x: c.r, y: c.by_role[role] })) },
        { name: 'profit after comp', cls: 'profit', axis: 'right', points: cells.map((c) => ({ x: c.r, y: c.profit_after_comp })) },
      ],
      marker: { x: '1', label: 'plan' },
    }))));
}

// ---------- explain ----------

async function loadExplain() {
  const role = $('explain-role').value;
  if (!page.plan || !role) return;
  $('explain-error').textContent = '';
  try {
    const html = await call('GET', `/v1/plans/${encodeURIComponent(page.plan.id)}/explain?role=${encodeURIComponent(role)}`, { accept: 'text/html' });
    $('explain-frame').srcdoc = html;
  } catch (err) {
    if (!handleAuth(err)) $('explain-error').textContent = describe(err);
  }
}

// ---------- wiring ----------

function wire() {
  $('signin-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('token').value.trim()); });
  $('signout').addEventListener('click', () => signOut('Signed out.'));
  for (const tab of ['hr', 'exec', 'explain']) $(`tab-${tab}`).addEventListener('click', () => selectTab(tab));
  document.querySelector('.tabs').addEventListener('keydown', tabKeys);
  $('plan').addEventListener('change', () => loadPlan($('plan').value).catch((err) => placeError(err, $('plan-error'))));
  $('data').addEventListener('change', () => { page.alignedFor = null; clearAlignment(); if (ROLE_RIGHTS[page.role].whatIf) loadBaseline(); show($('results'), false); });
  $('changes').addEventListener('submit', run);
  $('add-scale').addEventListener('click', () => addScale().querySelector('select').focus());
  $('reset').addEventListener('click', () => { applyChanges([]); clearErrors($('changes')); });
  $('payee-search').addEventListener('input', renderPayees);
  $('save-form').addEventListener('submit', save);
  $('mc-form').addEventListener('submit', monteCarlo);
  $('mc-cancel').addEventListener('click', () => page.mcAbort?.abort());
  $('align-run').addEventListener('click', () => { page.alignedFor = null; runAlignment(); });
  $('explain-role').addEventListener('change', loadExplain);
  $('explain-print').addEventListener('click', () => $('explain-frame').contentWindow.print());
  $('results-title').tabIndex = -1;
}

wire();
if (token()) signIn(token());
