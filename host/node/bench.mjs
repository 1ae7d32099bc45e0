// What a call costs in Node.js, for `credit-host bench --only hosts`, which
// runs it beside the same measurements in wasmtime and prints one table.
// Prints one JSON object per build on standard output.
//
//   node bench.mjs [calls]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { CreditHost, CreditWorker, HERE } from './credit.mjs';

const calls = Number(process.argv[2] ?? 20000);
const ACCOUNTS = 500;
const DAY = Date.UTC(2026, 2, 2, 9);
const ctx = (key) => ({ idempotencyKey: key, nowMs: BigInt(DAY) });
const openReq = (accountId) => ({
  accountId, customerId: `c-${accountId}`, currency: 'GBP', creditLimit: '1000000.00', tolerance: { tag: 'none' },
  terms: { netDays: 30, basis: 'invoice-date', discount: undefined, instalments: [] },
  // The policy of `credit-host bench`'s accounts.
  policy: {
    graceDays: 7, lateFee: '15.00', interest: { annualRatePercent: '8', dayCount: 'actual365-fixed' },
    reminders: [{ offsetDays: 0, level: 1 }, { offsetDays: 7, level: 2 }], holdAfterDaysOverdue: 30,
    smallDifferenceMax: '0.05', smallDifferenceTreatment: 'write-off', statementDay: undefined,
  },
  openedBy: 'bench',
});
const acct = (i) => `a${String(i % ACCOUNTS).padStart(4, '0')}`;
const auth = (i, amount) => ({ accountId: acct(i), orderId: `O${amount === '1.00' ? 1 : 2}-${i}`, amount: { amount, currency: 'GBP' }, holdTtlS: undefined });

const stats = (samples) => {
  const s = Float64Array.from(samples).sort();
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { median_us: +(at(0.5) * 1000).toFixed(2), p99_us: +(at(0.99) * 1000).toFixed(2) };
};
const time = (n, f) => {
  const out = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    f(i);
    out[i] = performance.now() - t;
  }
  return stats(out);
};

for (const build of ['fast', 'small']) {
  const dir = join(HERE, 'gen', build);
  const core = readFileSync(join(dir, 'credit.core.wasm'));
  let t = performance.now();
  new WebAssembly.Module(core);
  const compile_ms = +(performance.now() - t).toFixed(1);

  const host = await CreditHost.load(dir);
  // A new instance from the compiled modules (what a trap costs).
  const inst = [];
  for (let i = 0; i < 20; i++) {
    host.instance = null;
    t = performance.now();
    host.call('warm', 'queries.list-accounts', undefined, 1);
    inst.push(performance.now() - t);
  }
  const instantiate = stats(inst);

  for (let i = 0; i < ACCOUNTS; i++) host.call('bench', 'accounts.open-account', ctx(`open-${i}`), openReq(acct(i)));
  const approve = time(calls, (i) => {
    if (host.call('bench', 'checkout.authorize', ctx(`ap-${i}`), auth(i, '1.00')).tag !== 'approved') throw new Error('declined');
  });
  const decline = time(calls, (i) => {
    if (host.call('bench', 'checkout.authorize', ctx(`de-${i}`), auth(i, '9999999.00')).tag !== 'declined') throw new Error('approved');
  });
  const read = time(calls, (i) => host.call('bench', 'queries.get-account', acct(i), BigInt(DAY)));

  // Through a worker with the watchdog: the round trip of a message each way.
  const w = new CreditWorker(dir, { timeoutMs: 10000 });
  for (let i = 0; i < ACCOUNTS; i++) await w.call('bench', 'accounts.open-account', ctx(`open-${i}`), openReq(acct(i)));
  const n = Math.min(calls, 5000);
  const ws = new Array(n);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await w.call('bench', 'checkout.authorize', ctx(`ap-${i}`), auth(i, '1.00'));
    ws[i] = performance.now() - t0;
  }
  await w.close();
  console.log(JSON.stringify({ build, bytes: readFileSync(join(HERE, 'build', `credit-${build}.wasm`)).length, compile_ms, instantiate, approve, decline, read, worker_approve: stats(ws), node: process.version }));
}
