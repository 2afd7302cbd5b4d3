// The job done with @peculiar/x509: parse token and certificates, X509ChainBuilder (names,
// AKI/SKI, signatures), chain must end at a configured anchor, every certificate valid at the
// validation time, issuers are CAs, holder checks, token signature via WebCrypto. Bundled by esbuild.
// tsyringe (inside @peculiar/x509) needs a Reflect metadata polyfill: the one its README names.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { parseToken, pemBlocks, verifyTokenSignature } from './common.js';

export const name = '@peculiar/x509';

function sameBytes(a, b) {
  const x = new Uint8Array(a), y = new Uint8Array(b);
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

export async function verify(w) {
  const tok = parseToken(w.token);
  const holder = new x509.X509Certificate(tok.certDer);
  const anchors = pemBlocks(w.anchorsPem).map((d) => new x509.X509Certificate(d));
  const inters = pemBlocks(w.intermediatesPem).map((d) => new x509.X509Certificate(d));
  const at = new Date(w.at);
  const bc = holder.getExtension(x509.BasicConstraintsExtension);
  if (bc && bc.ca) throw new Error('CERT_IS_CA');
  const ku = holder.getExtension(x509.KeyUsagesExtension);
  if (ku && !(ku.usages & x509.KeyUsageFlags.digitalSignature)) throw new Error('CERT_KEY_USAGE');
  const builder = new x509.X509ChainBuilder({ certificates: [...inters, ...anchors] });
  const chain = await builder.build(holder);
  const top = chain[chain.length - 1];
  if (!anchors.some((a) => sameBytes(a.rawData, top.rawData))) throw new Error('CERT_UNTRUSTED');
  for (let i = 0; i < chain.length; i++) {
    const c = chain[i];
    if (at < c.notBefore) throw new Error('CERT_NOT_YET_VALID');
    if (at > c.notAfter) throw new Error('CERT_EXPIRED');
    if (i > 0) {
      const b = c.getExtension(x509.BasicConstraintsExtension);
      if (!b || !b.ca) throw new Error('CERT_ISSUER_NOT_CA');
    }
  }
  await verifyTokenSignature(globalThis.crypto.subtle, holder.publicKey.rawData, tok, w.origin, w.nonce);
  return { ok: true, chain: chain.length };
}
