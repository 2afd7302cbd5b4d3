// Node: the peers (pkijs + WebCrypto, @peculiar/x509) and hoviat's package (each backend) on the
// same workloads; wasm start-up. Usage: node node.mjs WORKLOADS_DIR PKG_DIR OUT.json
import { readFileSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { check, timeMany, startupRuns, uniqueWasm, firstCall, whereTimeGoes } from './suite.js';
import { createRequire } from 'node:module';
import nc from 'node:crypto';
import { load, MAIN, hoviatVerify, probeBackends } from './workloads.mjs';

const [dir, pkg, out] = process.argv.slice(2);
const here = path.dirname(fileURLToPath(import.meta.url));
const budget = Number(process.env.BENCH_BUDGET_MS || 3000);
const work = MAIN.map((n) => load(dir, n));
const h = await import(pathToFileURL(path.resolve(pkg, 'node/index.mjs')).href);
const pkijs = await import(pathToFileURL(path.join(here, '..', 'dist', 'pkijs.js')).href);
const x509 = await import(pathToFileURL(path.join(here, '..', 'dist', 'x509.js')).href);

const probe = await probeBackends(h, work[0], ['wasm', 'node', 'webcrypto']);
const impls = [];
if (probe.optionKnown) {
  for (const [b, r] of Object.entries(probe.backends)) if (r.ok) impls.push({ id: `hoviat-${b}`, label: `hoviat package, backend ${b}`, verify: hoviatVerify(h, b), hoviat: true });
} else {
  impls.push({ id: 'hoviat-wasm', label: 'hoviat package (wasm core; this build has no backend option)', verify: hoviatVerify(h, 'wasm'), hoviat: true });
}
impls.push({ id: 'pkijs', label: 'pkijs + WebCrypto', verify: pkijs.verify });
impls.push({ id: 'x509', label: '@peculiar/x509 chain builder + WebCrypto', verify: x509.verify });

const results = { platform: 'node', node: process.version, openssl: process.versions.openssl, probe, impls: [], startup: {} };
for (const impl of impls) {
  for (const w of work) await check(impl.verify, w).catch((e) => { throw new Error(`node ${impl.label} ${w.name}: ${e.message}`); });
  results.impls.push({ id: impl.id, label: impl.label, hoviat: !!impl.hoviat, workloads: {} });
}
for (const w of work) {
  const r = await timeMany(impls.map((i) => [i.id, i.verify]), w, { budgetMs: budget * impls.length });
  for (const row of results.impls) {
    row.workloads[w.name] = r[row.id];
    process.stderr.write(`node ${row.id} ${w.name}: median ${r[row.id].median_us.toFixed(0)} us\n`);
  }
}

// Where hoviat's time goes in Node: the wasm pass alone, and node:crypto's own cost for the
// checks it hands out (on this thread one after another; the package's default split, all but
// one P-384/P-521 check on libuv's thread pool).
// The package's Node build carries one module (the full one, core.wasm: the lite variant is
// browser-only): its wasm-bindgen glue, instantiated here on its own.
const passGlue = createRequire(import.meta.url)(path.resolve(pkg, 'node/glue-core.cjs'))();
passGlue.initSync({ module: new WebAssembly.Module(readFileSync(path.join(pkg, 'web', 'core.wasm'))) });
const HASH = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' };
const nodeArgs = (k) => {
  const c = k.c;
  if (c.kind === 'ecdsa') return [HASH[c.hash], c.message, { key: k.key, dsaEncoding: 'ieee-p1363' }, c.signature];
  if (c.kind === 'rsa-pss') return [HASH[c.hash], c.message, { key: k.key, padding: nc.constants.RSA_PKCS1_PSS_PADDING, saltLength: c.saltLength }, c.signature];
  return [HASH[c.hash], c.message, k.key, c.signature];
};
results.floor = {};
for (const w of work) {
  const r = await whereTimeGoes(passGlue, w, (c) => ({ key: nc.createPublicKey({ key: c.spki, format: 'der', type: 'spki' }), slow: c.kind === 'ecdsa' && c.namedCurve !== 'P-256' }), {
    serial: async (ks) => ks.map((k) => nc.verify(...nodeArgs(k))),
    poolSplit: async (ks) => {
      const away = ks.filter((k) => k.slow).slice(1);
      const pool = away.map((k) => new Promise((res, rej) => nc.verify(...nodeArgs(k), (e, ok) => (e ? rej(e) : res(ok)))));
      const here = ks.filter((k) => !away.includes(k)).map((k) => nc.verify(...nodeArgs(k)));
      return here.concat(await Promise.all(pool));
    },
  });
  results.floor[w.name] = r;
  process.stderr.write(`node where time goes ${w.name}: wasm pass ${r.wasmPass.median_us.toFixed(0)} us, checks serial ${r.serial.median_us.toFixed(0)}, pool split ${r.poolSplit.median_us.toFixed(0)}\n`);
}

// wasm start-up: compile + instantiate, fresh each time, through the wasm-bindgen glue.
for (const variant of ['lite', 'core'].filter((v) => existsSync(path.join(pkg, 'web', `${v}.wasm`)))) {
  const bytes = readFileSync(path.join(pkg, 'web', `${variant}.wasm`));
  // The glue is a factory (npm/make-glue.mjs): each call gives independent glue.
  const makeGlue = (await import(pathToFileURL(path.resolve(pkg, 'web', `glue-${variant}.js`)).href)).default;
  const mods = [];
  for (let i = 0; i < 15; i++) mods.push(makeGlue());
  const w = work[0];
  const opts = { origin: w.origin, nonce: w.nonce, trustAnchors: [w.anchorsPem], intermediates: [w.intermediatesPem], at: w.at };
  const r = await startupRuns(
    async (i) => { mods[i].initSync({ module: new WebAssembly.Module(uniqueWasm(bytes, i)) }); },
    async (i) => { firstCall(mods[i], w, opts); },
  );
  results.startup[variant] = r.startup;
  results.firstVerify = { ...(results.firstVerify || {}), [variant]: r.first };
  process.stderr.write(`node start-up ${variant}: median ${results.startup[variant].median_us.toFixed(0)} us\n`);
}
writeFileSync(out, JSON.stringify(results, null, 1));
