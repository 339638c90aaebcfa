// page.test.mjs — the what-if page end to end in Debian's headless Chromium, driven by
// playwright-core. Started by crates/cli/tests/page.rs, which runs the real `accrue serve`
// and passes its address, tokens and the screenshot folder in the environment.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.ACCRUE_BASE;
const HR = process.env.ACCRUE_HR;
const EXEC = process.env.ACCRUE_EXEC;
const SHOTS = process.env.ACCRUE_SCREENSHOTS;
const PLAN = 'msp-fy2027';
const TIMEOUT = 60_000;
assert.ok(BASE && HR && EXEC && SHOTS, 'ACCRUE_BASE, ACCRUE_HR, ACCRUE_EXEC and ACCRUE_SCREENSHOTS are set by page.rs');
mkdirSync(SHOTS, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // The closed network here makes Chromium's background services hang without these.
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
});

async function api(path, token, body) {
  const response = await fetch(BASE + path, {
    method: body ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined,
  });
  assert.equal(response.status, 200, await response.clone().text());
  return response.json();
}

async function signIn(page, token) {
  await page.goto(BASE + '/');
  await page.getByLabel('Access token').fill(token);
  await page.locator('#signin-form button[type=submit]').click();
}

/** Signs in as hr on the sample MSP plan and waits for its baseline. */
async function hrOnPlan(page) {
  await signIn(page, HR);
  await page.locator('#plan').selectOption(PLAN);
  await page.locator('#param-ae_base_rate').waitFor();
  await page.locator('#baseline-total').waitFor();
}

async function runRate(page, rate) {
  await page.getByLabel('ae_base_rate').fill(rate);
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.locator('#delta-total').waitFor();
}

const cells = (page, table, key) => page.locator(`#${table} td[data-key="${key}"]`).allInnerTexts();

const tests = {
  async hr_changes_a_rate_and_sees_the_apis_deltas_string_for_string(page) {
    await hrOnPlan(page);
    await runRate(page, '0.06');
    const expected = await api('/v1/simulate', HR, {
      plan: PLAN, data: PLAN, changes: [{ set: { name: 'ae_base_rate', value: '0.06' } }], top: 5,
    });
    assert.equal(await page.locator('#delta-total').innerText(), expected.delta.total);
    assert.equal(await page.locator('#scenario-total').innerText(), expected.scenario.total);
    assert.equal(await page.locator('#cos-scenario').innerText(), expected.cost_of_sales.scenario);
    assert.deepEqual(await cells(page, 'role-deltas', 'delta'), Object.values(expected.delta.by_role));
    assert.deepEqual(await cells(page, 'payee-table', 'delta'), expected.payees.map((p) => p.delta));
    assert.deepEqual(await cells(page, 'payee-table', 'payee'), expected.payees.map((p) => p.payee));
    assert.equal(await page.locator('#winners li').count(), expected.winners.length);
    assert.ok(await page.locator('#curves svg').count() >= 1, 'payout curves are drawn');
  },

  async hr_sorts_and_searches_the_payee_table(page) {
    await hrOnPlan(page);
    await runRate(page, '0.06');
    const header = page.locator('#payee-table button[data-sort="delta"]');
    await header.click();
    const down = (await cells(page, 'payee-table', 'delta')).map(Number);
    assert.deepEqual(down, [...down].sort((a, b) => b - a), 'largest change first');
    assert.equal(await page.locator('#payee-table th[aria-sort="descending"]').count(), 1);
    await page.locator('#payee-table button[data-sort="delta"]').press('Enter');
    const up = (await cells(page, 'payee-table', 'delta')).map(Number);
    assert.deepEqual(up, [...up].sort((a, b) => a - b), 'smallest change first, from the keyboard');
    await page.getByLabel('Search payees').fill('enterprise_ae');
    const roles = await cells(page, 'payee-table', 'role');
    assert.ok(roles.length > 0 && roles.every((r) => r === 'enterprise_ae'), roles.join(','));
  },

  async a_broken_value_is_explained_next_to_its_input(page) {
    await hrOnPlan(page);
    await page.getByLabel('ae_base_rate').fill('five percent');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const message = page.locator('#param-ae_base_rate-field-error');
    await message.waitFor();
    assert.match(await message.innerText(), /five percent/);
    assert.equal(await page.getByLabel('ae_base_rate').getAttribute('aria-invalid'), 'true');
  },

  async a_wrong_token_gets_a_clear_message(page) {
    await signIn(page, 'not-a-real-token');
    const message = page.locator('#token-error');
    await message.waitFor();
    assert.match(await message.innerText(), /not valid/);
    assert.ok(await page.locator('#app').isHidden());
  },

  async exec_sees_the_alignment_verdict(page) {
    await signIn(page, EXEC);
    // The first plan's verdict is in before the switch (the race this test once lost at
    // random): switching must not leave the first plan's verdict standing for the new one.
    await page.locator('#verdict.aligned, #verdict.misaligned').waitFor();
    assert.notEqual(await page.locator('#plan').inputValue(), PLAN, 'the page opens on another plan first');
    await page.locator('#plan').selectOption(PLAN);
    const verdict = page.locator(`#verdict[data-plan="${PLAN}/${PLAN}"]`);
    await verdict.waitFor();
    const expected = await api('/v1/alignment', EXEC, { plan: PLAN, data: PLAN });
    assert.match(await verdict.innerText(), new RegExp(`^${expected.verdict === 'aligned' ? 'Aligned' : 'Misaligned'}:`));
    assert.equal(await page.locator('#findings li').count(), Math.max(1, expected.summary.length + expected.findings.filter((f) => f.kind === 'unresponsive').length));
    assert.ok(await page.locator('#align-charts svg').count() >= 1, 'pay vs profit charts are drawn');
    assert.ok(await page.locator('#tab-hr').isHidden(), 'exec does not see the what-if tab');
    assert.match(await page.locator('#role-note').innerText(), /executive/);
  },

  async hr_does_not_see_the_exec_view(page) {
    await hrOnPlan(page);
    assert.ok(await page.locator('#tab-exec').isHidden());
    assert.ok(await page.locator('#view-exec').isHidden());
    assert.match(await page.locator('#role-note').innerText(), /alignment view is for exec and finance/);
  },

  async hr_saves_a_scenario_reloads_and_reopens_it(page) {
    await hrOnPlan(page);
    await runRate(page, '0.065');
    const delta = await page.locator('#delta-total').innerText();
    await page.getByLabel('Save this scenario as').fill('AE base 6.5 %');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('button', { name: 'Open AE base 6.5 %' }).first().waitFor();
    await page.reload();
    await page.locator('#baseline-total').waitFor();
    await page.getByRole('button', { name: 'Open AE base 6.5 %' }).first().click();
    await page.locator('#summary', { hasText: 'Re-opened' }).waitFor();
    assert.equal(await page.getByLabel('ae_base_rate').inputValue(), '0.065');
    assert.equal(await page.locator('#delta-total').innerText(), delta);
  },

  async hr_on_a_phone_width_screen(page) {
    await page.setViewportSize({ width: 390, height: 844 });
    await hrOnPlan(page);
    await runRate(page, '0.06');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const wide = await page.evaluate(() => [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5).map((e) => e.tagName + '#' + e.id + '.' + e.className).join(' '));
    assert.ok(overflow <= 1, `the page scrolls sideways by ${overflow} px: ${wide}`);
  },

  async monte_carlo_shows_percentiles_and_can_be_cancelled(page) {
    await hrOnPlan(page);
    await page.getByLabel('Draws').fill('200');
    await page.getByRole('button', { name: 'Run Monte Carlo' }).click();
    await page.locator('#mc-p50').waitFor({ timeout: TIMEOUT });
    const expected = await api('/v1/montecarlo', HR, { plan: PLAN, data: PLAN, changes: [], draws: 200, seed: 7 });
    assert.equal(await page.locator('#mc-p50').innerText(), expected.total.p50);
    assert.equal(await page.locator('#mc-over').innerText(), expected.p_over_budget ?? '—');
    await page.screenshot({ path: join(SHOTS, 'monte_carlo_result.png'), fullPage: true });
    // The most draws the API takes: a run that cannot finish before the Cancel click lands,
    // however slow the machine (5,000 draws could, and then "Cancelled" never showed).
    await page.getByLabel('Draws').fill('100000');
    await page.getByRole('button', { name: 'Run Monte Carlo' }).click();
    await page.locator('#mc-status .spinner').waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('#mc-status', { hasText: 'Cancelled' }).waitFor();
  },
};

const only = process.argv[2];
let failed = 0;
for (const [name, test] of Object.entries(tests)) {
  if (only && !name.includes(only)) continue;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(TIMEOUT);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(err.message));
  const started = Date.now();
  try {
    await test(page);
    assert.deepEqual(problems, [], 'no script errors on the page');
    console.log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    failed += 1;
    console.log(`FAIL ${name}: ${err.stack || err}`);
  } finally {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true }).catch(() => {});
    await context.close();
  }
}
await browser.close();
process.exit(failed ? 1 : 0);
