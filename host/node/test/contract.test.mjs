// The contract as jco sees it: wit/ parses with jco's own WIT parser (the
// wasm-tools parser compiled into jco), and `jco wit` on the shipped
// component names the package and interfaces of wit/. (`credit-host wit`
// prints the interfaces themselves; tests/all/vectors.rs compares them with
// wit/.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { HERE } from '../credit.mjs';

const WIT = join(HERE, '..', '..', 'wit');
// The package version wit/ declares (the component must carry the same).
const VERSION = readFileSync(join(WIT, 'world.wit'), 'utf8').match(/^package storefront:credit@(\d+\.\d+\.\d+);/m)[1];
const V = VERSION.replaceAll('.', '\\.');
const JCO = join(HERE, 'node_modules', '.bin', 'jco');
const bindgen = await import(join(HERE, 'node_modules', '@bytecodealliance', 'jco', 'obj', 'js-component-bindgen-component.js'));
await bindgen.$init;

/** wit/ as one source text: world.wit (with the package line) first. */
function witSource() {
  const files = readdirSync(WIT).filter((f) => f.endsWith('.wit')).sort((a, b) => (a === 'world.wit' ? -1 : b === 'world.wit' ? 1 : a.localeCompare(b)));
  return files.map((f) => readFileSync(join(WIT, f), 'utf8')).join('\n');
}

test("wit/ parses with jco's WIT parser", () => {
  const out = mkdtempSync(join(tmpdir(), 'credit-types-'));
  execFileSync(process.execPath, [JCO, 'types', WIT, '--world-name', 'credit-account', '-o', out, '--quiet']);
  const written = readdirSync(join(out, 'interfaces'));
  assert.equal(written.length, 9, `${written}`);
  // The same parser, given the text, so that a broken text shows it refuses.
  const files = bindgen.generateTypes('credit', { wit: { tag: 'source', val: witSource() }, world: 'credit-account' }).map(([name]) => name);
  for (const iface of ['accounts', 'bank', 'billing', 'checkout', 'migration', 'queries', 'reports', 'store', 'types']) {
    assert.ok(files.includes(`interfaces/storefront-credit-${iface}.d.ts`), `${iface} in ${files}`);
  }
  // The parser does refuse what is not WIT, so the check above can fail.
  assert.throws(() => bindgen.generateTypes('credit', { wit: { tag: 'source', val: witSource().replace('record money {', 'record money') }, world: 'credit-account' }));
});

test('jco wit on the shipped component names the package and its interfaces', () => {
  const printed = execFileSync(process.execPath, [JCO, 'wit', join(HERE, 'build', 'credit-fast.wasm')], { encoding: 'utf8' });
  assert.match(printed, new RegExp(`import storefront:credit/store@${V};`));
  for (const iface of ['accounts', 'bank', 'checkout', 'billing', 'migration', 'queries', 'reports']) {
    assert.match(printed, new RegExp(`export storefront:credit/${iface}@${V};`));
  }
  assert.doesNotMatch(printed, /import wasi:/, 'no WASI imports');
});
