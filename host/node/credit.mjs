// A Node.js host for the storefront:credit component, over `jco transpile`
// (see README.md, "Embedding in JavaScript"). One file, no dependencies but
// the generated bindings: copy it, keep what you need.
//
// What the component needs from any host, and how this one gives it:
// - `store` is called synchronously. A store function that returns a
//   Promise would be read as an empty value (jco lowers whatever it gets);
//   `guardStore` refuses it instead, the call traps and is rolled back.
// - One exported call is one unit of work: the host remembers what each
//   write replaced and puts it back when the call answers `err` or traps.
//   Reads see the call's own writes (the store is written in place).
// - Keys carry no merchant: the host keeps one store per merchant and
//   points the import at the caller's merchant for the call.
// - jco reads the import as `imports['storefront:credit/store']` (no
//   version), although its `.d.ts` names it `...store@0.8.0`: both are given.
// - Values are jco's: record fields camelCase, u64/s64 as BigInt, variants
//   `{ tag, val }`, enums as strings, option none as `undefined`.
// - An `err` result is thrown by jco as `ComponentError` whose message is
//   "[object Object] (see error.payload)": `CreditError` carries the WIT
//   case (`.tag`) and its value (`.val`) instead.
// - A trap (a guest panic, a failed allocation, a store that threw) leaves
//   the instance unusable: the next call gets a fresh instance.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** The WIT `error` of a call, thrown by `CreditHost` calls. */
export class CreditError extends Error {
  constructor(tag, val) {
    super(val === undefined ? tag : `${tag}: ${typeof val === 'object' ? JSON.stringify(val) : val}`);
    this.name = 'CreditError';
    /** The WIT error case, e.g. `account-not-found`. */
    this.tag = tag;
    /** Its value, if the case has one (a field name, an id, ...). */
    this.val = val;
  }
}

/** The instance trapped; the call changed nothing and a new instance is used next. */
export class TrapError extends Error {
  constructor(cause) {
    super(`the credit component trapped; the call was rolled back: ${cause?.message ?? cause}`, { cause });
    this.name = 'TrapError';
  }
}

/** Index of the first element of sorted `a` not less than `key`. */
function lowerBound(a, key) {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const CHUNK = 512;

/**
 * Keys in order, as sorted chunks of at most 2 x CHUNK keys: an insert or
 * delete moves at most one chunk's keys, not all of them.
 */
class SortedKeys {
  constructor(keys = []) {
    const sorted = [...keys].sort();
    this.chunks = [];
    for (let i = 0; i < sorted.length; i += CHUNK) this.chunks.push(sorted.slice(i, i + CHUNK));
    if (this.chunks.length === 0) this.chunks.push([]);
  }
  /** The chunk `key` belongs in: the first whose last key is not less than it, else the last. */
  #chunk(key) {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.chunks[mid];
      if (c.length && c[c.length - 1] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  insert(key) {
    const i = this.#chunk(key);
    const c = this.chunks[i];
    c.splice(lowerBound(c, key), 0, key);
    if (c.length > 2 * CHUNK) this.chunks.splice(i + 1, 0, c.splice(CHUNK));
  }
  remove(key) {
    const i = this.#chunk(key);
    const c = this.chunks[i];
    const at = lowerBound(c, key);
    if (c[at] === key) c.splice(at, 1);
    if (c.length === 0 && this.chunks.length > 1) this.chunks.splice(i, 1);
  }
  /** The keys from the first not less than `key`, in order. */
  *from(key) {
    for (let i = this.#chunk(key); i < this.chunks.length; i++) {
      const c = this.chunks[i];
      for (let j = lowerBound(c, key); j < c.length; j++) yield c[j];
      key = '';
    }
  }
}

/**
 * An ordered in-memory key-value store: the `store` interface for one
 * merchant. Keys are printable ASCII, so JavaScript's string order is
 * their byte order.
 */
export class MemoryStore {
  constructor(entries = []) {
    this.map = new Map(entries);
    this.keys = new SortedKeys(this.map.keys());
  }
  get(key) {
    return this.map.get(key);
  }
  put(key, value) {
    if (!this.map.has(key)) this.keys.insert(key);
    this.map.set(key, value);
  }
  delete(key) {
    if (this.map.delete(key)) this.keys.remove(key);
  }
  /** Up to `limit` entries whose key starts with `prefix`, after `startAfter`, in key order. */
  scan(prefix, startAfter, limit) {
    const from = startAfter !== undefined && startAfter !== null && startAfter >= prefix ? startAfter : prefix;
    const out = [];
    for (const k of this.keys.from(from)) {
      if (out.length >= limit || !k.startsWith(prefix)) break;
      if (k === startAfter) continue;
      out.push([k, this.map.get(k)]);
    }
    return out;
  }
  /** Every entry, for copying the store. */
  entries() {
    return [...this.map.entries()];
  }
}

const KEY_LEN_MAX = 256;
const VALUE_LEN_MAX = 1 << 20;

function isThenable(v) {
  return v !== null && (typeof v === 'object' || typeof v === 'function') && typeof v.then === 'function';
}

/**
 * The `store` import over `current()` (the merchant's store for this call),
 * checking what the component asks and what the store answers. Each write
 * is recorded in `undo` (the value it replaced, once per key) so the call
 * can be rolled back.
 */
function guardStore(current, undo) {
  const checkKey = (key) => {
    if (key.length === 0 || key.length > KEY_LEN_MAX || !/^[\x21-\x7e]+$/.test(key)) {
      throw new Error(`component used an invalid store key ${JSON.stringify(key)}`);
    }
  };
  const sync = (name, v) => {
    if (isThenable(v)) throw new Error(`store.${name} returned a Promise: the store import must answer synchronously`);
    return v;
  };
  const remember = (store, key) => {
    if (!undo.has(key)) undo.set(key, store.get(key));
  };
  return {
    get(key) {
      checkKey(key);
      return sync('get', current().get(key));
    },
    put(key, value) {
      checkKey(key);
      if (value.length > VALUE_LEN_MAX) throw new Error(`component wrote ${value.length} bytes under ${key}`);
      const store = current();
      remember(store, key);
      // The component's buffer is only lent for the call: keep a copy.
      sync('put', store.put(key, Uint8Array.from(value)));
    },
    delete(key) {
      checkKey(key);
      const store = current();
      remember(store, key);
      sync('delete', store.delete(key));
    },
    scan(prefix, startAfter, limit) {
      if (prefix.length > KEY_LEN_MAX || limit > 1000) throw new Error('component asked for an oversized scan');
      return sync('scan', current().scan(prefix, startAfter, limit));
    },
  };
}

/**
 * The component, instantiated in this thread, with one store per merchant.
 *
 *   const host = CreditHost.load('./gen');           // jco output folder
 *   const summary = host.call('shop', 'accounts.open-account', ctx, req);
 *
 * `call` returns the `ok` value or throws `CreditError` / `TrapError`.
 */
export class CreditHost {
  /**
   * @param {object} bindings the module `jco transpile --instantiation sync` wrote
   * @param {(name: string) => WebAssembly.Module} getCoreModule its core modules, compiled
   * @param {(merchant: string) => object} [openStore] a synchronous store per merchant
   */
  constructor(bindings, getCoreModule, openStore = () => new MemoryStore()) {
    this.bindings = bindings;
    this.getCoreModule = getCoreModule;
    this.openStore = openStore;
    this.stores = new Map();
    this.undo = new Map();
    this.merchant = null;
    this.instance = null;
    this.instances = 0;
    /** The keys the last committed call wrote. */
    this.written = [];
    /** The instance's exported functions by `interface.function`. */
    this.functions = new Map();
  }

  /**
   * Loads the transpiled component from `dir` (the folder `jco transpile
   * -o dir --instantiation sync --name credit` wrote) and compiles its core
   * modules once: a new instance after a trap then costs an instantiation,
   * not a compilation.
   */
  static async load(dir, openStore) {
    const bindings = await import(join(dir, 'credit.js'));
    const modules = new Map();
    const getCoreModule = (name) => {
      if (!modules.has(name)) modules.set(name, new WebAssembly.Module(readFileSync(join(dir, name))));
      return modules.get(name);
    };
    return new CreditHost(bindings, getCoreModule, openStore);
  }

  /** The merchant's store (created on first use). */
  store(merchant) {
    let s = this.stores.get(merchant);
    if (!s) {
      s = this.openStore(merchant);
      this.stores.set(merchant, s);
    }
    return s;
  }

  #instantiate() {
    const store = guardStore(() => this.store(this.merchant), this.undo);
    const types = {};
    const imports = {
      // The name the generated code reads...
      'storefront:credit/store': store,
      'storefront:credit/types': types,
      // ...and the one its .d.ts shows.
      'storefront:credit/store@0.8.0': store,
      'storefront:credit/types@0.8.0': types,
    };
    this.instance = this.bindings.instantiate(this.getCoreModule, imports);
    this.functions = new Map();
    this.instances++;
  }

  /**
   * Calls `interface.function` (e.g. `checkout.authorize`) for `merchant`
   * with jco's values, as one unit of work. Returns the `ok` value; throws
   * `CreditError` (the component refused: nothing changed) or `TrapError`
   * (the call trapped: nothing changed, the instance is replaced).
   */
  call(merchant, fn, ...args) {
    if (!this.instance) this.#instantiate();
    let f = this.functions.get(fn);
    if (f === undefined) {
      const [iface, name] = fn.split('.');
      f = this.instance[iface]?.[camel(name ?? '')];
      if (typeof f !== 'function') throw new TypeError(`the component exports no function ${fn}`);
      this.functions.set(fn, f);
    }
    this.merchant = merchant;
    this.undo.clear();
    this.written = [];
    try {
      const value = f(...args);
      this.written = [...this.undo.keys()];
      this.undo.clear();
      return value;
    } catch (e) {
      this.#rollback();
      if (e?.name === 'ComponentError' || (e && 'payload' in e && e.payload?.tag)) {
        throw new CreditError(e.payload.tag, e.payload.val);
      }
      this.instance = null;
      throw new TrapError(e);
    } finally {
      this.merchant = null;
    }
  }

  #rollback() {
    const store = this.store(this.merchant);
    for (const [key, old] of this.undo) {
      if (old === undefined) store.delete(key);
      else store.put(key, old);
    }
    this.undo.clear();
  }

  /**
   * Calls a function with arguments in the vectors' JSON encoding (see
   * tests/vectors and credit_host::values) and answers in it too:
   * `{ ok: ... }` or `{ err: { tag, val } }`. `contract` is the parsed
   * tests/vectors/contract.json: it says which numbers are 64-bit.
   */
  callJson(contract, merchant, fn, argsJson) {
    const sig = contract.functions[fn];
    if (!sig) throw new TypeError(`the component exports no function ${fn}`);
    for (const k of Object.keys(argsJson)) {
      if (!sig.params.some(([p]) => p === k)) throw new TypeError(`${fn}: no parameter ${JSON.stringify(k)}`);
    }
    const args = sig.params.map(([p, ty]) => fromJson(ty, argsJson[p], p));
    const okType = sig.result.result.ok;
    try {
      return { ok: toJson(okType, this.call(merchant, fn, ...args)) };
    } catch (e) {
      if (e instanceof CreditError) {
        const err = { tag: e.tag };
        if (e.val !== undefined) err.val = toJson(errCaseType(sig.result.result.err, e.tag), e.val);
        return { err };
      }
      throw e;
    }
  }
}

function errCaseType(variantType, tag) {
  return variantType.variant.find(([name]) => name === tag)?.[1] ?? null;
}

/** `kebab-case` as jco names record fields and functions: `kebabCase`. */
export function camel(name) {
  return name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
}

/** A vector JSON value of WIT type `ty` (contract.json's notation) as jco's value. */
export function fromJson(ty, v, path) {
  if (typeof ty === 'string') {
    switch (ty) {
      case 'u64':
      case 's64':
        if (!Number.isInteger(v)) throw new TypeError(`${path}: expected an integer, found ${JSON.stringify(v)}`);
        return BigInt(v);
      case 'u8': case 'u16': case 'u32': case 's8': case 's16': case 's32':
        if (!Number.isInteger(v)) throw new TypeError(`${path}: expected an integer, found ${JSON.stringify(v)}`);
        return v;
      case 'string': case 'char':
        if (typeof v !== 'string') throw new TypeError(`${path}: expected a string, found ${JSON.stringify(v)}`);
        return v;
      case 'bool':
        if (typeof v !== 'boolean') throw new TypeError(`${path}: expected a boolean`);
        return v;
      default:
        return v;
    }
  }
  if ('option' in ty) return v === null || v === undefined ? undefined : fromJson(ty.option, v, path);
  if (v === undefined) throw new TypeError(`${path}: missing`);
  if ('list' in ty) return v.map((x, i) => fromJson(ty.list, x, `${path}[${i}]`));
  if ('tuple' in ty) return ty.tuple.map((t, i) => fromJson(t, v[i], `${path}[${i}]`));
  if ('record' in ty) {
    for (const k of Object.keys(v)) {
      if (!ty.record.some(([f]) => f === k)) throw new TypeError(`${path}: unknown field ${JSON.stringify(k)}`);
    }
    const out = {};
    for (const [f, t] of ty.record) out[camel(f)] = fromJson(t, v[f], `${path}.${f}`);
    return out;
  }
  if ('variant' in ty) {
    const c = ty.variant.find(([name]) => name === v.tag);
    if (!c) throw new TypeError(`${path}: no case ${JSON.stringify(v.tag)}`);
    return c[1] === null ? { tag: v.tag } : { tag: v.tag, val: fromJson(c[1], v.val, `${path}.${v.tag}`) };
  }
  if ('enum' in ty) {
    if (!ty.enum.includes(v)) throw new TypeError(`${path}: no case ${JSON.stringify(v)}`);
    return v;
  }
  if ('flags' in ty) return v;
  throw new TypeError(`${path}: unsupported type ${JSON.stringify(ty)}`);
}

/** jco's value of WIT type `ty` as vector JSON (every record field present, WIT names). */
export function toJson(ty, v) {
  if (ty === null) return null;
  if (typeof ty === 'string') {
    if (typeof v === 'bigint') {
      if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new RangeError(`${v} does not fit a JSON number exactly`);
      return Number(v);
    }
    return v;
  }
  if ('option' in ty) return v === undefined || v === null ? null : toJson(ty.option, v);
  if ('list' in ty) return Array.from(v, (x) => toJson(ty.list, x));
  if ('tuple' in ty) return ty.tuple.map((t, i) => toJson(t, v[i]));
  if ('record' in ty) {
    const out = {};
    for (const [f, t] of ty.record) out[f] = toJson(t, v[camel(f)]);
    return out;
  }
  if ('variant' in ty) {
    const c = ty.variant.find(([name]) => name === v.tag);
    return c[1] === null ? { tag: v.tag } : { tag: v.tag, val: toJson(c[1], v.val) };
  }
  return v;
}

/** The folder of this file: where `npm run transpile` leaves the bindings. */
export const HERE = dirname(new URL(import.meta.url).pathname);

/** A call ran past the watchdog and was stopped; it changed nothing. */
export class TimeoutError extends Error {
  constructor(fn, ms) {
    super(`${fn} ran for over ${ms} ms and was stopped; the call was rolled back`);
    this.name = 'TimeoutError';
  }
}

/**
 * The component in a worker thread, for a platform that must stop a
 * runaway call: Node has no fuel, so a watchdog terminates the worker when
 * a call runs past `timeoutMs`, and `resourceLimits` caps its JavaScript
 * heap. The committed data lives here, in this thread: the worker sends
 * back what each committed call wrote, and a new worker starts from this
 * copy, so a stopped call leaves nothing behind.
 *
 *   const w = new CreditWorker('./gen/fast', { timeoutMs: 2000 });
 *   const hold = await w.call('shop', 'checkout.authorize', ctx, req);
 *   await w.close();
 */
export class CreditWorker {
  constructor(dir, { timeoutMs = 5000, resourceLimits = { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32 }, contract = null } = {}) {
    Object.assign(this, { dir, timeoutMs, resourceLimits, contract });
    this.stores = new Map();
    this.queue = Promise.resolve();
    this.nextId = 1;
    this.restarts = 0;
    this.#start();
  }

  /** The committed store of `merchant` (what a new worker starts from). */
  store(merchant) {
    let s = this.stores.get(merchant);
    if (!s) this.stores.set(merchant, (s = new MemoryStore()));
    return s;
  }

  #start() {
    const snapshot = [...this.stores].map(([m, s]) => [m, s.entries()]);
    this.worker = new Worker(new URL(import.meta.url), {
      workerData: { creditWorker: true, dir: this.dir, snapshot, contract: this.contract },
      resourceLimits: this.resourceLimits,
    });
    this.worker.unref();
  }

  /** `CreditHost.call`, in the worker, under the watchdog. */
  call(merchant, fn, ...args) {
    return this.#send({ kind: 'call', merchant, fn, args });
  }

  /** `CreditHost.callJson`, in the worker (give `contract` to the constructor). */
  callJson(merchant, fn, args) {
    return this.#send({ kind: 'json', merchant, fn, args });
  }

  /** Runs `req` after the calls before it: one call at a time. */
  #send(req) {
    const run = () => new Promise((resolve, reject) => {
      const id = this.nextId++;
      const worker = this.worker;
      let done = false;
      const finish = () => {
        done = true;
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
      };
      const onMessage = (m) => {
        if (m.id !== id) return;
        finish();
        if ('ok' in m) {
          const store = this.store(req.merchant);
          for (const [k, v] of m.writes) v === null ? store.delete(k) : store.put(k, v);
          resolve(m.ok);
        } else if (m.error.name === 'CreditError') reject(new CreditError(m.error.tag, m.error.val));
        else if (m.error.name === 'TrapError') reject(new TrapError(m.error.message));
        else reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
      };
      const onError = (e) => {
        // The worker died (out of memory, ...): nothing it did is kept.
        if (done) return;
        finish();
        this.restarts++;
        this.#start();
        reject(new TrapError(e));
      };
      const timer = setTimeout(() => {
        if (done) return;
        finish();
        worker.terminate();
        this.restarts++;
        this.#start();
        reject(new TimeoutError(req.fn, this.timeoutMs));
      }, this.timeoutMs);
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.postMessage({ id, ...req });
    });
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  /** Stops the worker. */
  close() {
    return this.worker.terminate();
  }
}

// The worker's side: a CreditHost over a copy of the committed stores.
if (!isMainThread && workerData?.creditWorker) {
  // jco's generated code checks process.env.JCO_DEBUG at every step of a
  // call; Node's env object asks the C library each time (about 0.2 µs a
  // read). In this thread, which only runs the component, a plain copy
  // answers the same (JCO_DEBUG set at start still works) for 0.04 µs.
  process.env = { ...process.env };
  const stores = new Map(workerData.snapshot.map(([m, entries]) => [m, new MemoryStore(entries)]));
  const host = await CreditHost.load(workerData.dir, (m) => stores.get(m) ?? new MemoryStore());
  host.stores = stores;
  parentPort.on('message', ({ id, kind, merchant, fn, args }) => {
    try {
      const ok = kind === 'json' ? host.callJson(workerData.contract, merchant, fn, args) : host.call(merchant, fn, ...args);
      const store = host.store(merchant);
      const writes = host.written.map((k) => [k, store.get(k) ?? null]);
      parentPort.postMessage({ id, ok, writes });
    } catch (e) {
      parentPort.postMessage({ id, error: { name: e.name, message: e.message, tag: e.tag, val: e.val } });
    }
  });
}
