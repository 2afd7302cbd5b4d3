// The page a bank's web team writes, built by Vite and by webpack from the packed tarball.
// It reports to window.__results; run.mjs checks them against the native verdicts.
import { verifyToken, createNonce, HoviatError, init, defaultBackend, connect as connectMain, __panicForTest } from 'hoviat';
import { connect } from 'hoviat/virtual';

const results = { cases: [], checks: {} };
const code = (e) => (e instanceof HoviatError ? e.code : 'NOT_A_HOVIATERROR: ' + e);
async function run() {
  results.defaultBackend = defaultBackend;
  // Nothing loaded at import time: the synchronous functions say so.
  try { createNonce(); results.checks.beforeInit = 'NO ERROR'; } catch (e) { results.checks.beforeInit = code(e); }
  if (new URLSearchParams(location.search).has('blocked')) {
    // A CSP without 'wasm-unsafe-eval': the failure is a HoviatError, twice (nothing cached).
    try { await verifyToken('{}', { origin: location.origin, nonce: 'x', trustAnchors: 'x' }); results.checks.blocked = 'LOADED'; } catch (e) { results.checks.blocked = code(e); results.checks.blockedMessage = e.message; }
    try { await init(); results.checks.blockedAgain = 'LOADED'; } catch (e) { results.checks.blockedAgain = code(e); }
    return;
  }
  const cases = await (await fetch('/cases.json')).json();
  for (const c of cases) {
    let got;
    try {
      const r = await verifyToken(c.token, { origin: c.origin, nonce: c.nonce, trustAnchors: c.trustAnchors,
        intermediates: c.intermediates, crls: c.crls, at: c.at, requireRevocation: c.requireRevocation });
      got = { ok: true, nationalCode: r.holder.nationalCode };
    } catch (e) {
      got = { ok: false, code: code(e) };
    }
    results.cases.push({ name: c.name, got, native: c.native });
  }
  results.checks.nonce = createNonce().length;
  try { await connectMain({ transport: 'virtual' }); results.checks.mainVirtual = 'CONNECTED'; } catch (e) { results.checks.mainVirtual = code(e); }
  const card = await connect({ transport: 'virtual' });
  const nonce = createNonce();
  const { token } = await card.authenticate({ nonce, pin: '123456' });
  const verify = (backend) => verifyToken(token, { origin: location.origin, nonce, ...card.testRegistry, backend })
    .then((r) => (/^\d{10}$/.test(r.holder.nationalCode) ? 'ok' : 'bad'), code);
  results.checks.virtual = await verify();
  results.checks.wasmBackend = await verify('wasm');
  // INTERNAL_PANIC, then recovery from the compiled module: sync and async calls, twice.
  for (const round of [1, 2]) {
    try { __panicForTest(); results.checks['panic' + round] = 'NO PANIC'; } catch (e) { results.checks['panic' + round] = code(e); }
    try { results.checks['nonceAfterPanic' + round] = createNonce().length; } catch (e) { results.checks['nonceAfterPanic' + round] = code(e); }
    results.checks['verifyAfterPanic' + round] = await verify();
  }
}
run().catch((e) => { results.fatal = String((e && e.stack) || e); }).finally(() => { window.__results = results; });
