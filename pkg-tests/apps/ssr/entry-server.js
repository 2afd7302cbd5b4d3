// A server entry bundled by Vite with ssr.noExternal: true (hoviat inside the bundle).
import { verifyToken, init, createNonce, HoviatError } from 'hoviat';
import { connect } from 'hoviat/virtual';

export async function run(cases, wasm) {
  if (wasm) await init({ wasm });
  const out = [];
  for (const c of cases) {
    try {
      const r = await verifyToken(c.token, { origin: c.origin, nonce: c.nonce, trustAnchors: c.trustAnchors,
        intermediates: c.intermediates, crls: c.crls, at: c.at, requireRevocation: c.requireRevocation });
      out.push({ name: c.name, got: { ok: true, nationalCode: r.holder.nationalCode }, native: c.native });
    } catch (e) {
      out.push({ name: c.name, got: { ok: false, code: e instanceof HoviatError ? e.code : 'NOT_A_HOVIATERROR: ' + e }, native: c.native });
    }
  }
  return out;
}

export async function virtualRoundTrip() {
  const card = await connect({ transport: 'virtual' });
  const nonce = createNonce();
  const origin = 'https://bank.example.ir';
  const { token } = await card.authenticate({ nonce, origin, pin: '123456' });
  return (await verifyToken(token, { origin, nonce, ...card.testRegistry })).holder.nationalCode;
}
