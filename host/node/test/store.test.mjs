// MemoryStore against a plain sorted model: scans by prefix and start,
// across chunk boundaries, after inserts and deletes in random order.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { MemoryStore } from '../credit.mjs';

test('scan agrees with a sorted list through 20,000 random puts and deletes', () => {
  let seed = 7;
  const rand = (n) => ((seed = (seed * 1103515245 + 12345) % 2147483648) % n);
  const store = new MemoryStore();
  const model = new Map();
  const key = () => `${['acct', 'hold', 'open'][rand(3)]}/${String(rand(3000)).padStart(5, '0')}`;
  for (let i = 0; i < 20000; i++) {
    const k = key();
    if (rand(4) === 0) {
      store.delete(k);
      model.delete(k);
    } else {
      store.put(k, Uint8Array.of(i & 255));
      model.set(k, Uint8Array.of(i & 255));
    }
    if (i % 500 === 0 || i === 19999) {
      const sorted = [...model.keys()].sort();
      for (const prefix of ['acct/', 'hold/0', 'open/00', 'zzz']) {
        const after = rand(2) ? undefined : key();
        const limit = 1 + rand(1000);
        const want = sorted.filter((x) => x.startsWith(prefix) && (after === undefined || x > after)).slice(0, limit);
        assert.deepEqual(store.scan(prefix, after, limit).map(([k]) => k), want, `${prefix} after ${after} limit ${limit}`);
      }
    }
  }
  assert.equal(store.entries().length, model.size);
});
