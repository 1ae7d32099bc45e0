// Writes the component builds with `credit-host component` and transpiles
// each with jco into gen/<build>/ (ES modules + core wasm), the folders
// CreditHost.load reads. Run from anywhere: `npm run transpile`.
//
//   gen/fast    the shipped component (opt-level 3)
//   gen/small   the size-optimised build for capped platforms
//   gen/faulty  a test build that panics, loops or hoards memory on request
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(dirname(fileURLToPath(import.meta.url)));
const root = join(here, '..', '..');
const builds = process.argv.slice(2).length ? process.argv.slice(2) : ['fast', 'small', 'faulty'];
mkdirSync(join(here, 'build'), { recursive: true });
// The host's command line as `cargo test --workspace` builds it (the tests
// package's `credit-host-cli`): after that command this is a no-op, where
// `cargo run -p credit-host` would resolve features differently and build
// the host (and binaryen) a second time.
execFileSync('cargo', ['test', '--workspace', '--no-run', '--quiet'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
const exe = join(process.env.CARGO_TARGET_DIR ?? join(root, 'target'), 'debug', 'credit-host-cli');
for (const build of builds) {
  const wasm = join(here, 'build', `credit-${build}.wasm`);
  execFileSync(exe, ['component', '--build', build, '--out', wasm], { stdio: 'inherit' });
  const out = join(here, 'gen', build);
  rmSync(out, { recursive: true, force: true });
  // --instantiation sync: we compile the core modules once and instantiate
  // them again after a trap; the default (async) mode fetches and compiles
  // on every instantiation.
  execFileSync(process.execPath, [join(here, 'node_modules', '.bin', 'jco'), 'transpile', wasm, '-o', out, '--name', 'credit', '--instantiation', 'sync', '--quiet'], { stdio: 'inherit' });
}
