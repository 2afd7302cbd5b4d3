// TypeScript strict, CommonJS importer (module nodenext / node16): gets the .d.cts types.
import hoviat = require('hoviat');
import virtual = require('hoviat/virtual');

async function main(): Promise<void> {
  const backend: 'node' | 'webcrypto' = hoviat.defaultBackend;
  const card = await virtual.connect({ transport: 'virtual' });
  const anchors: string[] = card.testRegistry.trustAnchors;
  const nonce = hoviat.createNonce();
  const { token } = await card.authenticate({ nonce, pin: '123456', origin: 'https://bank.example.ir' });
  const who = await hoviat.verifyToken(token, { origin: 'https://bank.example.ir', nonce, trustAnchors: anchors, backend });
  // @ts-expect-error: testRegistry may be absent on the main entry's cards
  const none: string[] = (await hoviat.connect()).testRegistry.trustAnchors;
  console.log(who.holder.nationalCode, none);
}
void main();
