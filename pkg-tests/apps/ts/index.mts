// TypeScript strict, ESM importer (module nodenext / node16).
import { verifyToken, init, defaultBackend, createNonce, HoviatError, TrustStore, type VerifiedIdentity, type HoviatErrorCode } from 'hoviat';
import { connect, VirtualCard } from 'hoviat/virtual';

const backend: 'node' | 'webcrypto' = defaultBackend;
await init();
const card = await connect({ transport: 'virtual' });
// testRegistry is not optional on the virtual transport: no `!` needed under strict.
const anchors: string[] = card.testRegistry.trustAnchors;
const nonce: string = createNonce();
const { token } = await card.authenticate({ nonce, pin: '123456', origin: 'https://bank.example.ir' });
const who: VerifiedIdentity = await verifyToken(token, { origin: 'https://bank.example.ir', nonce, trust: new TrustStore({ trustAnchors: anchors }), backend });
const vc = new VirtualCard({ holder: 1 });
const crls: string[] = vc.crls();
try { await verifyToken('{}', { origin: 'x', nonce: 'y' }); } catch (e) { if (e instanceof HoviatError) { const c: HoviatErrorCode | (string & {}) = e.code; console.log(c); } }
// @ts-expect-error: not a backend
await verifyToken(token, { origin: 'x', nonce: 'y', backend: 'quantum' });
console.log(who.holder.nationalCode, crls.length);
// verifySignature and the Dastine transport (issue 19).
import { verifySignature, connect as connectMain, type VerifiedSignature, type DastineCard } from 'hoviat';
const signed: VerifiedSignature = await verifySignature('MIAGCSqGSIb3DQEHAqCAMIACAQEx', { trustAnchors: anchors, content: 'متن', allowSha1: false, backend });
const legacy: boolean = signed.legacySha1 || signed.signers.some((s) => s.legacySha1);
const dastine: DastineCard = await connectMain({ transport: 'dastine', dastine: { config: '<Configuration/>', retries: 1 } });
const cms: string = await dastine.cmsSign(new Uint8Array([1, 2]), { attach: false, hash: 'SHA256' });
// @ts-expect-error: Dastine has no MD5
await dastine.cmsSign('x', { hash: 'MD5' });
console.log(legacy, cms.length);
