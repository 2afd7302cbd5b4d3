// Measurement shared by Node and the Chromium page: checks that an implementation accepts the
// workload and refuses tampered variants, then times full verifications.
const now = () => performance.now();

function quantiles(us) {
  us.sort((a, b) => a - b);
  const q = (p) => us[Math.round((us.length - 1) * p)];
  return { iterations: us.length, median_us: q(0.5), p10_us: q(0.1), p90_us: q(0.9), min_us: us[0] };
}

/** Variants that every verifier must refuse: a flipped signature byte; a validation time after
 *  the holder's certificate expired. */
export function tampered(w) {
  const t = JSON.parse(w.token);
  const bin = atob(t.signature);
  const i = bin.length - 5;
  const flipped = bin.slice(0, i) + String.fromCharCode(bin.charCodeAt(i) ^ 0x01) + bin.slice(i + 1);
  const badSig = { ...w, token: JSON.stringify({ ...t, signature: btoa(flipped) }) };
  const later = new Date(new Date(w.at).getTime() + 20 * 365 * 86400e3).toISOString().replace(/\.\d+Z$/, 'Z');
  return { 'tampered signature': badSig, 'expired at validation time': { ...w, at: later } };
}

/** Throws when verify does not accept w or accepts a tampered w. */
export async function check(verify, w) {
  try { await verify(w); } catch (e) { throw new Error(`refuses the genuine token: ${e && (e.code || e.message)}`); }
  for (const [what, bad] of Object.entries(tampered(w))) {
    let accepted = false;
    try { await verify(bad); accepted = true; } catch { /* refused, as it must */ }
    if (accepted) throw new Error(`accepts the ${what}`);
  }
}

/** Times verify(w): warm-up, then until `iterations` or `budgetMs` (at least minIterations). */
export async function time(verify, w, { iterations = 300, minIterations = 30, warmup = 15, budgetMs = 3000 } = {}) {
  for (let i = 0; i < warmup; i++) await verify(w);
  const us = [];
  const start = now();
  while (us.length < iterations && (us.length < minIterations || now() - start < budgetMs)) {
    const t0 = now();
    await verify(w);
    us.push((now() - t0) * 1000);
  }
  return quantiles(us);
}

/** Median of compile + instantiate of a wasm module, `init(bytes)` doing both, fresh each time. */
export async function startup(init, n = 15) {
  const us = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await init(i);
    us.push((now() - t0) * 1000);
  }
  return quantiles(us);
}

/** Times several implementations on one workload, interleaved: `rounds` rounds, each giving every
 *  implementation an equal slice of `budgetMs`, so that load from elsewhere on a shared machine
 *  falls on all of them alike. Returns {id: quantiles}. */
export async function timeMany(impls, w, { rounds = 10, budgetMs = 3000, minPerRound = 3, warmup = 15, maxIterations = 400 } = {}) {
  const samples = Object.fromEntries(impls.map(([id]) => [id, []]));
  for (const [, verify] of impls) for (let i = 0; i < warmup; i++) await verify(w);
  const slice = budgetMs / rounds / impls.length;
  for (let r = 0; r < rounds; r++) {
    for (const [id, verify] of r % 2 ? [...impls].reverse() : impls) {
      const us = samples[id];
      const start = now();
      let n = 0;
      while (us.length < maxIterations && (n < minPerRound || now() - start < slice)) {
        const t0 = now();
        await verify(w);
        us.push((now() - t0) * 1000);
        n++;
      }
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([id, us]) => [id, quantiles(us)]));
}

/** The module's bytes with a custom section naming run i appended: the same code, but bytes that
 *  V8's in-memory module cache has not seen, so every run compiles from scratch. */
export function uniqueWasm(bytes, i) {
  const name = new TextEncoder().encode(`hoviat-bench-${i}`);
  const out = new Uint8Array(bytes.length + 3 + name.length);
  out.set(bytes, 0);
  out.set([0, 1 + name.length, name.length], bytes.length);
  out.set(name, bytes.length + 3);
  return out;
}

/** Start-up runs: for each i, `init(i)` (compile + instantiate, timed) then `first(i)` (the first
 *  verification on that fresh instance, timed). Returns {startup, first} quantiles. */
export async function startupRuns(init, first, n = 15) {
  const a = [], b = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    await init(i);
    const t1 = now();
    await first(i);
    a.push((t1 - t0) * 1000);
    b.push((now() - t1) * 1000);
  }
  return { startup: quantiles(a), first: quantiles(b) };
}

/** The first call on a fresh instance: a whole verification where the module can do one (core);
 *  in a module without signature code (lite), the wasm step that parses and validates and hands
 *  out the signature checks. Throws when neither succeeds. */
export function firstCall(glue, w, opts) {
  try {
    return glue.verifyToken(w.token, opts);
  } catch (e) {
    if (typeof glue.VerifyJob !== 'function') throw e;
    const step = new glue.VerifyJob(w.token, opts).step([]);
    if (!step || (!step.done && !(typeof step.checks === 'string' && step.bytes))) throw new Error('VerifyJob.step gave neither a verdict nor checks');
    return step;
  }
}

/** Where a hoviat verification's time goes on this platform: the wasm pass alone (parse, path,
 *  token checks; the signature checks only recorded), and the signature checks alone through the
 *  platform's cryptography (keys imported beforehand), one after another and all at once.
 *  `glue`: the lite wasm-bindgen module (its VerifyJob); `verifiers`: {name: async (checks) =>
 *  [bool]} over prepared checks; `prepare(check)`: an imported key etc. Returns quantiles. */
export async function whereTimeGoes(glue, w, prepare, verifiers, budgetMs = 1500) {
  // The trust parsed once, as the package keeps PEM text it was given before (npm/api.js).
  const trustStore = glue.trustStoreNew({ trustAnchors: [w.anchorsPem], intermediates: w.intermediatesPem ? [w.intermediatesPem] : [] });
  const opts = { origin: w.origin, nonce: w.nonce, trustStore, at: w.at };
  // The step's checks unpacked as npm/api.js pendingChecks does (JSON text + one byte buffer).
  const unpack = (step) => {
    const list = JSON.parse(step.checks);
    for (const c of list) for (const k of ['spki', 'message', 'signature']) c[k] = step.bytes.subarray(c[k][0], c[k][0] + c[k][1]);
    return list;
  };
  const pass = () => {
    const job = new glue.VerifyJob(w.token, opts);
    try { return unpack(job.step([])); } finally { job.free(); }
  };
  const pending = pass();
  const checks = await Promise.all(pending.map(async (c) => ({ c, ...(await prepare(c)) })));
  const out = {
    // RSA key size from the SPKI length (modulus bytes plus ~38 bytes of structure).
    checks: pending.map((c) => (c.kind === 'ecdsa' ? `ECDSA ${c.namedCurve}` : `RSA-${Math.round((c.spki.length - 38) / 128) * 1024}${c.kind === 'rsa-pss' ? ' PSS' : ''}`)),
    wasmPass: await time(pass, w, { budgetMs }),
  };
  for (const [name, f] of Object.entries(verifiers)) {
    out[name] = await time(async () => {
      const r = await f(checks);
      if (!r.every((x) => x === true)) throw new Error(`${name}: a genuine signature did not verify`);
    }, w, { budgetMs });
  }
  glue.trustStoreFree(trustStore);
  return out;
}
