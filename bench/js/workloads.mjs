// Reads the workloads written by `hoviat bench workloads --out DIR`.
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

export function load(dir, name) {
  const d = path.join(dir, name);
  const p = JSON.parse(readFileSync(path.join(d, 'params.json'), 'utf8'));
  return {
    name,
    token: readFileSync(path.join(d, 'token.json'), 'utf8'),
    anchorsPem: readFileSync(path.join(d, 'anchors.pem'), 'utf8'),
    intermediatesPem: existsSync(path.join(d, 'intermediates.pem')) ? readFileSync(path.join(d, 'intermediates.pem'), 'utf8') : '',
    origin: p.origin, nonce: p.nonce, at: p.at,
  };
}

export const MAIN = ['es256', 'es384', 'rs256'];
export const SCALING = ['chain-1', 'chain-2', 'chain-3', 'chain-4', 'chain-5', 'anchors-1', 'anchors-10', 'anchors-100', 'anchors-1000'];

/** The hoviat package's verify for one backend (the option is passed as it is). */
export function hoviatVerify(h, backend) {
  return (w) => h.verifyToken(w.token, {
    origin: w.origin, nonce: w.nonce, trustAnchors: [w.anchorsPem],
    intermediates: w.intermediatesPem ? [w.intermediatesPem] : [], at: w.at, ...(backend ? { backend } : {}),
  });
}

/** Which backends the package really has: passes each, and a bogus one. Returns
 *  {optionKnown, backends: {name: {ok, ran?, why?}}}. When a bogus backend is accepted, the build
 *  ignores the option and only the build's own (wasm) code runs. */
export async function probeBackends(h, w, names) {
  let optionKnown = true;
  try { await hoviatVerify(h, 'no-such-backend')(w); optionKnown = false; } catch { /* refused: the option is read */ }
  const backends = {};
  for (const b of names) {
    try {
      const r = await hoviatVerify(h, b)(w);
      backends[b] = { ok: true, ran: (r && (r.backend || (r.verification && r.verification.backend))) || (optionKnown ? b : 'wasm (option ignored by this build)') };
    } catch (e) {
      backends[b] = { ok: false, why: `${e && e.code ? e.code + ': ' : ''}${e && e.message}` };
    }
  }
  return { optionKnown, backends };
}
