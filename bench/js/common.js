// Shared by the peers' verifiers (pkijs, @peculiar/x509): token parsing and the web-eid:1.0
// token signature over H(origin) || H(nonce) through WebCrypto (token.md).
export function b64(s) {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function pemBlocks(text) {
  const out = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  let m;
  while ((m = re.exec(text))) out.push(b64(m[1].replace(/\s+/g, '')));
  return out;
}

const ALGS = {
  ES256: { hash: 'SHA-256', key: { name: 'ECDSA', namedCurve: 'P-256' }, sig: { name: 'ECDSA', hash: 'SHA-256' }, sigLen: 64 },
  ES384: { hash: 'SHA-384', key: { name: 'ECDSA', namedCurve: 'P-384' }, sig: { name: 'ECDSA', hash: 'SHA-384' }, sigLen: 96 },
  RS256: { hash: 'SHA-256', key: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, sig: { name: 'RSASSA-PKCS1-v1_5' } },
  RS384: { hash: 'SHA-384', key: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' }, sig: { name: 'RSASSA-PKCS1-v1_5' } },
};

/** Parses a web-eid:1.0 token: {alg, certDer, signature}; throws on anything malformed. */
export function parseToken(tokenJson) {
  if (tokenJson.length < 100 || tokenJson.length > 10000) throw new Error('TOKEN_TOO_LARGE');
  const t = JSON.parse(tokenJson);
  if (typeof t.format !== 'string' || !/^web-eid:1(\.\d+)?$/.test(t.format)) throw new Error('TOKEN_FORMAT_UNSUPPORTED');
  const alg = ALGS[t.algorithm];
  if (!alg) throw new Error('TOKEN_ALGORITHM_UNSUPPORTED');
  const signature = b64(t.signature);
  if (alg.sigLen && signature.length !== alg.sigLen) throw new Error('TOKEN_SIGNATURE_MALFORMED');
  return { alg, certDer: b64(t.unverifiedCertificate), signature };
}

const enc = new TextEncoder();

/** Verifies the token signature with the holder's SubjectPublicKeyInfo (DER). Throws when it fails. */
export async function verifyTokenSignature(subtle, spkiDer, tok, origin, nonce) {
  // importKey fails when the key does not match the algorithm (curve or type).
  const key = await subtle.importKey('spki', spkiDer, tok.alg.key, false, ['verify']);
  const [ho, hn] = await Promise.all([subtle.digest(tok.alg.hash, enc.encode(origin)), subtle.digest(tok.alg.hash, enc.encode(nonce))]);
  const data = new Uint8Array(ho.byteLength + hn.byteLength);
  data.set(new Uint8Array(ho), 0);
  data.set(new Uint8Array(hn), ho.byteLength);
  if (!(await subtle.verify(tok.alg.sig, key, tok.signature, data))) throw new Error('TOKEN_SIGNATURE_INVALID');
}
