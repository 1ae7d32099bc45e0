// The finance team's and the customer's pages in a real browser: Debian's
// headless Chromium driven by puppeteer-core, against `credit-host
// serve-http` on a simulated store. Every figure checked here is compared
// with the component's own answer over the JSON API (an API key for the
// same merchant), never with a number written in this file. Each page gets
// an axe-core check (no serious or critical finding) and a screenshot in
// target/browser-screenshots/.
//
// Needs the host's command line: target/debug/credit-host-cli, which the
// Rust suite builds (the same `credit_host::cli::main` as credit-host; or
// set CREDIT_HOST), and Chromium (`apt-get install chromium`; or set
// CHROMIUM).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = process.env.CREDIT_HOST ?? join(ROOT, 'target/debug/credit-host-cli');
// The compiled component, kept between commands: each starts in
// milliseconds instead of compiling it again.
const CACHE = ['--component-cache', join(ROOT, 'target/browser-component-cache')];
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = join(ROOT, 'target/browser-screenshots');
const SHOP = 'northwind-trade';
const PASSWORD = { ada: 'correct horse battery', carl: 'staple lamp window', vic: 'seven blue herons' };
const EMAIL = (who) => `${who}@northwind.example`;

let dir, server, base, apiKey, customerLink, browser;

function host(args, input) {
  return execFileSync(BIN, [...CACHE, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** The component's answer to `fn` over the JSON API: the `ok` value. */
async function component(fn, args) {
  const r = await fetch(`${base}/v1/${fn}`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(args) });
  const body = await r.json();
  assert.equal(r.status, 200, `${fn}: ${JSON.stringify(body)}`);
  return body.ok;
}

/** `1,234.50` as the component writes it: `1234.50`. */
const plain = (shown) => shown.replaceAll(',', '').trim();

async function axeCheck(page, name) {
  await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async () => (await globalThis.axe.run(document, { resultTypes: ['violations'] })).violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help })));
  const serious = found.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(serious, [], `${name}: axe-core found ${JSON.stringify(serious)}`);
  console.log(`axe-core on ${name}: ${found.length ? JSON.stringify(found) : 'no finding'}`);
  return found;
}

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(who, { javascript = true } = {}) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setJavaScriptEnabled(javascript);
  await page.setBypassCSP(true); // lets axe-core's script in; the pages themselves run none
  await page.setViewport({ width: 1100, height: 900 });
  await page.goto(`${base}/staff/accounts`);
  assert.match(page.url(), /\/staff\/sign-in$/, 'signed out, the pages send you to sign in');
  await page.type('#merchant', SHOP);
  await page.type('#email', EMAIL(who));
  await page.type('#password', PASSWORD[who]);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
  assert.match(page.url(), /\/staff\/accounts$/, await page.$eval('main', (m) => m.textContent));
  return page;
}

async function cells(page, selector) {
  return page.$$eval(`${selector} tbody tr`, (rows) => rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent.trim())));
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'credit-browser-'));
  const db = join(dir, 'store.sqlite');
  // Three months of trade ending with the last month, so that today's
  // pages show a store in business (not a year-old one all over 90 days).
  const now = new Date();
  const start = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1)).toISOString().slice(0, 10);
  host(['simulate', '--customers', '8', '--months', '3', '--start', start, '--no-documents', '--db', db, '--out', join(dir, 'out')]);
  host(['users', '--db', db, 'add', '--merchant', SHOP, '--email', EMAIL('ada'), '--role', 'admin'], PASSWORD.ada + '\n');
  host(['users', '--db', db, 'add', '--merchant', SHOP, '--email', EMAIL('carl'), '--role', 'controller'], PASSWORD.carl + '\n');
  host(['users', '--db', db, 'add', '--merchant', SHOP, '--email', EMAIL('vic'), '--role', 'viewer'], PASSWORD.vic + '\n');
  apiKey = host(['api-keys', '--db', db, 'issue', '--merchant', SHOP]).trim();
  // Two bank lines no rule matches, booked yesterday, for the bank page.
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
  const entry = (ref, amount, payer, text) =>
    `<Ntry><Amt Ccy="GBP">${amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>${yesterday}</Dt></BookgDt><AcctSvcrRef>${ref}</AcctSvcrRef>` +
    `<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>${payer}</Nm></Dbtr></RltdPties><RmtInf><Ustrd>${text}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>`;
  const statement = join(dir, 'statement.xml');
  writeFileSync(
    statement,
    `<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt><Stmt><Id>S</Id>` +
      entry('BR-1', '12.34', 'Mystery Ltd', 'see letter') +
      entry('BR-2', '0.87', 'Bank', 'interest') +
      `</Stmt></BkToCstmrStmt></Document>`,
  );
  host(['bank-import', statement, '--db', db, '--merchant', SHOP]);
  server = spawn(BIN, [...CACHE, 'serve-http', '--db', db, '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stderr.on('data', () => {});
  base = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[0-9.:]+)/);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`serve-http exited ${code}: ${out}`)));
  });
  customerLink = host(['customer-links', '--db', db, 'issue', '--merchant', SHOP, '--account', 'c0006', '--base-url', base]).trim();
  browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
});

after(async () => {
  await browser?.close();
  if (server && server.exitCode === null) {
    const stopped = new Promise((resolve) => server.on('exit', resolve));
    server.kill('SIGTERM');
    await stopped;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the debtor list shows what the component answers, and its filters narrow it', async () => {
  const page = await signIn('ada');
  const rows = await cells(page, '#accounts');
  const all = await component('queries/list-accounts', { limit: 100 });
  assert.equal(rows.length, all.length, 'one row per account');
  const today = new Date().toISOString().slice(0, 10);
  const debtors = (await component('reports/debtors', { q: { 'as-of': today, sort: 'balance', limit: 100 } })).rows;
  assert.deepEqual(rows.map((r) => r[0]), debtors.map((d) => d['account-id']), 'in the order reports.debtors gives');
  for (const [r, d] of rows.map((r, i) => [r, debtors[i]])) {
    assert.deepEqual([r[1], plain(r[3]), plain(r[4]), Number(r[5]), plain(r[6])], [d['customer-id'], d.balance, d.overdue, d['days-overdue'], d['credit-limit']], r[0]);
    const a = await component('queries/get-account', { 'account-id': r[0] });
    assert.equal(plain(r[3]), a.balance, `${r[0]}: the list's balance is get-account's`);
  }
  await axeCheck(page, 'accounts');
  await shot(page, '01-accounts');

  await page.select('select[name=sort]', 'days-overdue');
  await page.type('input[name=days-overdue-min]', '1');
  await Promise.all([page.waitForNavigation(), page.click('form.filters button')]);
  assert.match(page.url(), /sort=days-overdue/);
  const late = await cells(page, '#accounts');
  const expected = (await component('reports/debtors', { q: { 'as-of': today, sort: 'days-overdue', 'days-overdue-min': 1, limit: 100 } })).rows;
  assert.deepEqual(late.map((r) => r[0]), expected.map((r) => r['account-id']), 'the same accounts in the same order as reports.debtors');
  assert.ok(late.length > 0 && late.length <= rows.length);

  // The administrator's users page.
  await page.click('nav a[href="/staff/users"]');
  await page.waitForSelector('#users');
  const users = (await cells(page, '#users')).map((r) => [r[0], r[1]]);
  assert.deepEqual(users, [[`${EMAIL('ada')} (you)`, 'administrator'], [EMAIL('carl'), 'credit controller'], [EMAIL('vic'), 'viewer']]);
  await axeCheck(page, 'users');
  await shot(page, '07-users');

  const refused = await page.goto(`${base}/staff/accounts?overdue-min=lots`);
  assert.equal(refused.status(), 400);
  assert.match(await page.$eval('.notice', (n) => n.textContent), /refused this search.*Nothing was searched/s);
});

test('aging, the charts and early warnings agree with the reports', async () => {
  const page = await signIn('vic');
  await page.goto(`${base}/staff/aging`);
  const today = new Date().toISOString().slice(0, 10);
  const aging = await component('reports/aging', { req: { 'as-of': today, basis: 'due-date', edges: [], limit: 100 } });
  const [totals] = await cells(page, '#aging-totals');
  assert.equal(totals[0], aging.totals[0].currency);
  assert.deepEqual(totals.slice(2, 2 + aging['bucket-labels'].length).map(plain), aging.totals[0].buckets);
  assert.equal(plain(totals[2 + aging['bucket-labels'].length]), aging.totals[0].total);
  const charts = await page.$$eval('svg[role=img]', (s) => s.map((svg) => ({ title: svg.querySelector('title').textContent, bars: svg.querySelectorAll('rect[height]').length })));
  assert.deepEqual(charts.map((c) => c.title), ['Owed by age, GBP', 'Invoiced and collected per month, GBP', 'Exposure against limit, highest utilisation first']);
  assert.ok(charts.every((c) => c.bars > 0), JSON.stringify(charts));
  // The chart's columns carry the same figures as the table.
  const drawn = await page.$$eval('#aging-GBP-t', (t) => t.map((x) => x.closest('svg').querySelectorAll('rect.a title').length));
  assert.deepEqual(drawn, [aging['bucket-labels'].length]);
  await axeCheck(page, 'aging');
  await shot(page, '02-aging-and-charts');

  await page.goto(`${base}/staff/warnings`);
  const expected = await component('reports/warnings', { 'as-of': today, rules: { window: 5, 'utilisation-percent': '90', 'bounce-days': 30, 'first-overdue-days': 30 }, limit: 100 });
  const shown = (await page.$$('#warnings')).length ? (await cells(page, '#warnings')).map((r) => r[0]) : [];
  assert.deepEqual(shown, expected.rows.map((r) => r['account-id']));
  await axeCheck(page, 'warnings');
  await shot(page, '03-warnings');

  // A viewer reads, and is offered no form that changes anything, nor
  // the users page.
  await page.goto(`${base}/staff/accounts/c0002`);
  assert.equal((await page.$$('form[action*="/payments"], form[action*="/notes"], form[action*="/limit"], form[action*="/terms"]')).length, 0);
  assert.equal((await page.$$('nav a[href="/staff/users"]')).length, 0);
  assert.equal((await page.goto(`${base}/staff/users`)).status(), 403);
});

test('a controller records a payment through the account page and the component has it', async () => {
  const page = await signIn('carl');
  const beforeAccount = await component('queries/get-account', { 'account-id': 'c0006' });
  await page.goto(`${base}/staff/accounts/c0006`);
  assert.equal(plain(await page.$eval('#balance', (e) => e.textContent)), beforeAccount.figures['posted-debt']);
  assert.equal(plain(await page.$eval('#limit', (e) => e.textContent)), beforeAccount.figures['credit-limit']);
  assert.equal(plain(await page.$eval('#available', (e) => e.textContent)), beforeAccount.figures['available-credit']);
  const [newest] = await cells(page, '#ledger');
  assert.equal(Number(newest[0]), beforeAccount['entry-count'], 'the ledger starts at the newest entry');
  assert.equal((await page.$$('form[action*="/limit"]')).length, 0, 'a controller cannot change limits');
  await axeCheck(page, 'account');
  await shot(page, '04-account-c0006');

  await page.type('#pay-amount', '100.00');
  await page.type('#pay-reference', 'BACS 4471');
  await Promise.all([page.waitForNavigation(), page.click('#payment-form button')]);
  assert.match(page.url(), /\/staff\/accounts\/c0006$/);
  const afterAccount = await component('queries/get-account', { 'account-id': 'c0006' });
  const cents = (s) => Math.round(Number(s) * 100);
  assert.equal(cents(afterAccount.balance), cents(beforeAccount.balance) - 10000, 'the balance fell by the payment');
  const payments = await component('queries/payments', { 'account-id': 'c0006', limit: 100 });
  const paid = payments[payments.length - 1];
  assert.deepEqual([paid.amount, paid.method, paid.reference], ['100.00', 'bank-transfer', 'BACS 4471']);
  const [firstShown] = await cells(page, '#payments');
  assert.deepEqual([firstShown[0], plain(firstShown[4])], [paid['payment-id'], '100.00']);
  assert.equal(plain(await page.$eval('#balance', (e) => e.textContent)), afterAccount.figures['posted-debt']);
  const notes = await cells(page, '#notes');
  assert.ok(notes.some((n) => n[1] === EMAIL('carl') && n[2].includes(paid['payment-id'])), 'the note names who recorded it');
  await shot(page, '05-account-c0006-after-payment');

  // A payment the component refuses (received tomorrow) is shown as refused
  // and records nothing.
  const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
  await page.$eval('#pay-received', (e, d) => { e.removeAttribute('max'); e.value = d; }, tomorrow);
  await page.type('#pay-amount', '5.00');
  const refused = await Promise.all([page.waitForNavigation(), page.click('#payment-form button')]);
  assert.equal(refused[0].status(), 422);
  assert.match(await page.$eval('.notice', (n) => n.textContent), /Refused, nothing changed: date in future \("received-on"\)\./);
  assert.equal((await component('queries/payments', { 'account-id': 'c0006', limit: 100 })).length, payments.length);
});

test('a controller settles a bank line on the bank page and the component has it', async () => {
  const page = await signIn('carl');
  await page.goto(`${base}/staff/bank`);
  const waiting = await component('bank/bank-review', { after: null, limit: 10 });
  const rows = await cells(page, '#bank-lines');
  assert.deepEqual(rows.map((r) => r[0]), waiting.map((i) => i.line['entry-ref']), 'one row per waiting line, in order');
  assert.deepEqual(rows.map((r) => r[0]), ['BR-1', 'BR-2']);
  assert.match(rows[0][5], /^unknown payer: /);
  await axeCheck(page, 'bank lines');
  await shot(page, '08-bank-lines');

  const form = 'form[aria-label="Settle BR-1"]';
  await page.type(`${form} input[name=account]`, 'c0001');
  await Promise.all([page.waitForNavigation(), page.click(`${form} button`)]);
  assert.match(page.url(), /\/staff\/bank$/);
  const left = await component('bank/bank-review', { after: null, limit: 10 });
  assert.deepEqual(left.map((i) => i.line['entry-ref']), ['BR-2']);
  const payments = await component('queries/payments', { 'account-id': 'c0001', after: null, limit: 100 });
  const paid = payments.find((p) => p.reference === 'BR-1');
  assert.deepEqual([paid.amount, paid.method], ['12.34', 'bank-transfer']);
  assert.deepEqual((await cells(page, '#bank-lines')).map((r) => r[0]), ['BR-2']);
});

test('the accessibility check finds what it should (so a clean page means something)', async () => {
  const page = await signIn('vic');
  await page.evaluate(() => document.querySelector('main').insertAdjacentHTML('beforeend', '<img src="/x.png"><input type="text">'));
  await assert.rejects(axeCheck(page, 'a page spoiled on purpose'), /image-alt.*label|label.*image-alt/s);
});

test('the pages work without JavaScript and print without forms', async () => {
  const page = await signIn('ada', { javascript: false });
  await page.goto(`${base}/staff/accounts/c0001`);
  const a = await component('queries/get-account', { 'account-id': 'c0001' });
  assert.equal(plain(await page.$eval('#balance', (e) => e.textContent)), a.figures['posted-debt']);
  await page.emulateMediaType('print');
  const shown = await page.$$eval('form', (fs) => fs.filter((f) => getComputedStyle(f).display !== 'none').length);
  assert.equal(shown, 0, 'forms are not printed');
  await page.emulateMediaType('screen');
});

test("the customer's own page shows the component's figures", async () => {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setBypassCSP(true);
  await page.setViewport({ width: 1100, height: 900 });
  const r = await page.goto(customerLink);
  assert.equal(r.status(), 200);
  const a = await component('queries/get-account', { 'account-id': 'c0006' });
  assert.equal(plain(await page.$eval('#balance', (e) => e.textContent)), a.figures['posted-debt']);
  assert.equal(plain(await page.$eval('#available', (e) => e.textContent)), a.figures['available-credit']);
  await axeCheck(page, 'my account');
  await shot(page, '06-my-account-c0006');
  const wrong = await page.goto(customerLink.slice(0, -1) + (customerLink.endsWith('A') ? 'B' : 'A'));
  assert.equal(wrong.status(), 404);
});
