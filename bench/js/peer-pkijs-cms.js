// The CMS job done with pkijs + WebCrypto, as a web team would: ContentInfo -> SignedData,
// SignedData.verify({ checkChain: true, trustedCerts, checkDate }) — signed attributes,
// messageDigest, the signature and the chain to the trusted root (embedded intermediates).
// Bundled by esbuild (bench/build-peers.mjs).
import * as pkijs from 'pkijs';

export const name = 'pkijs SignedData + WebCrypto';

function der(b64) {
  const s = atob(b64);
  const u = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) u[i] = s.charCodeAt(i);
  return u;
}

function pemDer(pem) {
  return der(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''));
}

/** w: {cms (base64), root (PEM), at (RFC 3339)}. Resolves when valid, throws otherwise. */
export async function verify(w) {
  const ci = pkijs.ContentInfo.fromBER(der(w.cms));
  const sd = new pkijs.SignedData({ schema: ci.content });
  const root = pkijs.Certificate.fromBER(pemDer(w.root));
  const ok = await sd.verify({ signer: 0, checkChain: true, trustedCerts: [root], checkDate: new Date(w.at) });
  if (ok !== true) throw new Error('pkijs: not verified');
  return true;
}
