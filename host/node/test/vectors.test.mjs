// Every conformance vector through the component in Node.js, for each
// build: the same answers as the Rust host, every field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

import { CreditHost, MemoryStore, HERE } from '../credit.mjs';

const VECTORS = join(HERE, '..', '..', 'tests', 'vectors');
const contract = JSON.parse(readFileSync(join(VECTORS, 'contract.json'), 'utf8'));
const files = readdirSync(VECTORS).filter((f) => f.endsWith('.json') && f !== 'contract.json').sort();

/** Runs one vector on fresh stores; returns [calls, mismatches]. */
export function runVector(host, vector) {
  let calls = 0;
  const mismatches = [];
  vector.steps.forEach((step, i) => {
    const merchant = step.merchant ?? vector.merchant;
    if (step.call) {
      const got = host.callJson(contract, merchant, step.call, step.args ?? {});
      calls++;
      try {
        assert.deepStrictEqual(got, step.expect);
      } catch {
        mismatches.push({ step: i, call: step.call, expected: step.expect, got });
      }
    } else if (step['store-put']) {
      const { key, 'value-hex': hex } = step['store-put'];
      host.store(merchant).put(key, Uint8Array.from(Buffer.from(hex, 'hex')));
    } else if (step['store-delete']) {
      host.store(merchant).delete(step['store-delete'].key);
    } else {
      throw new Error(`step ${i}: needs call, store-put or store-delete`);
    }
  });
  return [calls, mismatches];
}

for (const build of ['fast', 'small']) {
  test(`every vector gives its expected answers (${build} build)`, async (t) => {
    assert.ok(files.length >= 12, `vectors missing: ${files}`);
    let total = 0;
    for (const file of files) {
      const vector = JSON.parse(readFileSync(join(VECTORS, file), 'utf8'));
      const host = await CreditHost.load(join(HERE, 'gen', build), () => new MemoryStore());
      const [calls, mismatches] = runVector(host, vector);
      total += calls;
      assert.deepStrictEqual(mismatches, [], `${file}: ${mismatches.length} answers differ`);
    }
    t.diagnostic(`${files.length} vectors, ${total} calls`);
    assert.ok(total > 600);
  });
}

test('a changed answer is found at its step', async () => {
  const vector = JSON.parse(readFileSync(join(VECTORS, 'payments.json'), 'utf8'));
  const step = vector.steps.findIndex((s) => s.about?.startsWith('980.00 for INV-acme-1'));
  assert.equal(vector.steps[step].expect.ok.payment.allocations[0].discount, '20.00');
  vector.steps[step].expect.ok.payment.allocations[0].discount = '19.99';
  const host = await CreditHost.load(join(HERE, 'gen', 'fast'));
  const [, mismatches] = runVector(host, vector);
  assert.deepStrictEqual(mismatches.map((m) => m.step), [step]);
});
