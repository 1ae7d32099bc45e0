// What a JavaScript host must get right, each shown through the real
// component (jco transpile of the shipped build).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { CreditHost, CreditWorker, CreditError, TrapError, TimeoutError, MemoryStore, HERE } from '../credit.mjs';

const FAST = join(HERE, 'gen', 'fast');
const FAULTY = join(HERE, 'gen', 'faulty');
const DAY = Date.UTC(2026, 2, 2, 9);

const ctx = (key, now = DAY) => ({ idempotencyKey: key, nowMs: BigInt(now) });
const openReq = (accountId, creditLimit = '1000.00') => ({
  accountId,
  customerId: `cust-${accountId}`,
  currency: 'GBP',
  creditLimit,
  tolerance: { tag: 'none' },
  terms: { netDays: 30, basis: 'invoice-date', discount: undefined, instalments: [] },
  policy: {
    graceDays: 0,
    lateFee: undefined,
    interest: undefined,
    reminders: [],
    holdAfterDaysOverdue: undefined,
    smallDifferenceMax: '0',
    smallDifferenceTreatment: 'write-off',
    statementDay: undefined,
  },
  openedBy: 'ops',
});
const authReq = (accountId, orderId, amount) => ({ accountId, orderId, amount: { amount, currency: 'GBP' }, holdTtlS: undefined });

/** Every entry of a store, to compare before and after. */
const dump = (store) => JSON.stringify(store.entries().map(([k, v]) => [k, Buffer.from(v).toString('hex')]));

test('the generated code reads the store import by its unversioned name', async () => {
  const dir = FAST;
  const bindings = await import(join(dir, 'credit.js'));
  const getCoreModule = (name) => new WebAssembly.Module(readFileSync(join(dir, name)));
  const store = new MemoryStore();
  const only = { get: (k) => store.get(k), put: (k, v) => store.put(k, v), delete: (k) => store.delete(k), scan: (p, s, l) => store.scan(p, s, l) };
  // The name the .d.ts shows is not the one read: instantiation fails.
  const quiet = console.error;
  console.error = () => {};
  try {
    assert.throws(() => bindings.instantiate(getCoreModule, { 'storefront:credit/store@0.8.0': only, 'storefront:credit/types@0.8.0': {} }));
  } finally {
    console.error = quiet;
  }
  const root = bindings.instantiate(getCoreModule, { 'storefront:credit/store': only, 'storefront:credit/types': {} });
  assert.equal(root.accounts.openAccount(ctx('k1'), openReq('acme')).accountId, 'acme');
});

test('values: camelCase fields, u64 and s64 as BigInt, variants as { tag, val }', async () => {
  const host = await CreditHost.load(FAST);
  const summary = host.call('shop', 'accounts.open-account', ctx('k1'), openReq('acme'));
  assert.equal(summary.figures.availableCredit, '1000.00');
  assert.equal(typeof summary.entryCount, 'bigint');
  assert.equal(summary.openedAtMs, BigInt(DAY));
  assert.deepEqual(summary.toleranceRule, { tag: 'none' });
  const auth = host.call('shop', 'checkout.authorize', ctx('k2'), authReq('acme', 'SO-1', '10.00'));
  assert.equal(auth.tag, 'approved');
  assert.equal(auth.val.hold.holdId, 'H-acme-1');
  const page = host.call('shop', 'queries.ledger', 'acme', undefined, 10);
  assert.deepEqual(page.entries.map((e) => e.seq), [1n, 2n]);
  assert.deepEqual(host.call('shop', 'queries.ledger', 'acme', 1n, 10).entries.map((e) => e.seq), [2n]);
});

test('a WIT err becomes a CreditError with its case and value; nothing changed', async () => {
  const host = await CreditHost.load(FAST);
  host.call('shop', 'accounts.open-account', ctx('k1'), openReq('acme'));
  const before = dump(host.store('shop'));
  // What jco alone throws says nothing useful:
  const raw = (() => {
    try {
      host.instance.queries.getAccount('nobody', BigInt(DAY));
    } catch (e) {
      return e;
    }
  })();
  assert.match(raw.message, /\[object Object\]/);
  assert.deepEqual(raw.payload, { tag: 'account-not-found', val: 'nobody' });
  // The host's error carries the case, as Rust callers match on it:
  assert.throws(() => host.call('shop', 'queries.get-account', 'nobody', BigInt(DAY)), (e) => e instanceof CreditError && e.tag === 'account-not-found' && e.val === 'nobody' && e.message === 'account-not-found: nobody');
  assert.throws(() => host.call('shop', 'accounts.open-account', ctx('k2'), openReq('acme')), (e) => e.tag === 'account-already-exists');
  assert.throws(() => host.call('shop', 'checkout.authorize', ctx('k3'), authReq('acme', 'SO-1', '1.001')), (e) => e.tag === 'amount-too-precise' && e.val === 'amount');
  assert.equal(dump(host.store('shop')), before);
});

test('a store that answers with a Promise is refused: the call traps and changes nothing', async () => {
  const inner = new MemoryStore();
  let asyncReads = false;
  const store = {
    get: (k) => (asyncReads ? Promise.resolve(inner.get(k)) : inner.get(k)),
    put: (k, v) => inner.put(k, v),
    delete: (k) => inner.delete(k),
    scan: (p, s, l) => inner.scan(p, s, l),
    entries: () => inner.entries(),
  };
  const host = await CreditHost.load(FAST, () => store);
  host.call('shop', 'accounts.open-account', ctx('k1'), openReq('acme'));
  const before = dump(inner);
  asyncReads = true;
  assert.throws(() => host.call('shop', 'checkout.authorize', ctx('k2'), authReq('acme', 'SO-1', '10.00')), (e) => e instanceof TrapError && /returned a Promise/.test(e.message));
  assert.equal(dump(inner), before);
  asyncReads = false;
  assert.equal(host.call('shop', 'checkout.authorize', ctx('k2'), authReq('acme', 'SO-1', '10.00')).tag, 'approved');
});

test('one store per merchant: the same ids never meet', async () => {
  const host = await CreditHost.load(FAST);
  host.call('north', 'accounts.open-account', ctx('k1'), openReq('acme', '1000.00'));
  host.call('south', 'accounts.open-account', ctx('k1'), openReq('acme', '50.00'));
  assert.equal(host.call('north', 'checkout.authorize', ctx('k2'), authReq('acme', 'SO-1', '100.00')).tag, 'approved');
  assert.equal(host.call('south', 'checkout.authorize', ctx('k2'), authReq('acme', 'SO-1', '100.00')).val.reason, 'insufficient-credit');
  assert.notEqual(dump(host.store('north')), dump(host.store('south')));
});

test('a trap rolls back what the call wrote and the next call gets a new instance', async () => {
  const host = await CreditHost.load(FAULTY);
  host.call('shop', 'accounts.open-account', ctx('k1'), openReq('acme'));
  const before = dump(host.store('shop'));
  // FAULT-PANIC panics after the hold is written.
  for (const order of ['FAULT-PANIC', 'FAULT-ALLOC']) {
    assert.throws(() => host.call('shop', 'checkout.authorize', ctx(`k-${order}`), authReq('acme', order, '10.00')), TrapError);
    assert.equal(dump(host.store('shop')), before, order);
  }
  assert.equal(host.instances, 2, 'a new instance after each trap (the second made by the second call)');
  assert.equal(host.call('shop', 'checkout.authorize', ctx('k3'), authReq('acme', 'SO-1', '10.00')).tag, 'approved');
  assert.equal(host.instances, 3);
});

test('in a worker, a runaway call is stopped by the watchdog, reported, and changes nothing', async () => {
  const w = new CreditWorker(FAULTY, { timeoutMs: 1500 });
  try {
    await w.call('shop', 'accounts.open-account', ctx('k1'), openReq('acme'));
    const before = dump(w.store('shop'));
    await assert.rejects(w.call('shop', 'checkout.authorize', ctx('k2'), authReq('acme', 'FAULT-LOOP', '10.00')), TimeoutError);
    assert.equal(w.restarts, 1);
    assert.equal(dump(w.store('shop')), before);
    await assert.rejects(w.call('shop', 'checkout.authorize', ctx('k3'), authReq('acme', 'FAULT-ALLOC', '10.00')), TrapError);
    await assert.rejects(w.call('shop', 'queries.get-account', 'nobody', BigInt(DAY)), (e) => e instanceof CreditError && e.tag === 'account-not-found');
    // The new worker started from the committed data: the account is there.
    const auth = await w.call('shop', 'checkout.authorize', ctx('k4'), authReq('acme', 'SO-1', '10.00'));
    assert.equal(auth.tag, 'approved');
    assert.equal(w.store('shop').get('acct/acme') !== undefined, true);
  } finally {
    await w.close();
  }
});

test('a worker keeps the committed data in the calling thread, call by call', async () => {
  const w = new CreditWorker(FAST, { timeoutMs: 5000 });
  const local = await CreditHost.load(FAST);
  try {
    for (const [i, [fn, ...args]] of [
      ['accounts.open-account', ctx('k1'), openReq('acme')],
      ['checkout.authorize', ctx('k2'), authReq('acme', 'SO-1', '10.00')],
      ['checkout.void-hold', ctx('k3'), 'H-acme-1'],
    ].entries()) {
      const a = await w.call('shop', fn, ...args);
      const b = local.call('shop', fn, ...args);
      assert.deepEqual(a, b, `call ${i}`);
    }
    assert.equal(dump(w.store('shop')), dump(local.store('shop')));
  } finally {
    await w.close();
  }
});
