// FAKE DASTINE SERVICE — TEST EQUIPMENT ONLY. It is not the vendor's middleware and holds no
// licence: it speaks the message shape documented in ../shared/reference/esign.md on the
// loopback (ws on --port, default 51356; wss on --ssl-port, default 51357, with a self-signed
// certificate for localhost.dastine.pki.co.ir made at start) and signs with the keys of a test
// registry made by `hoviat testpki` + `hoviat testpki-keys` (public knowledge), by running
// `openssl cms -sign`. Its "licensed configuration" is a file given at start: SetConfig is
// accepted only with exactly that text (standing for the vendor's signature check), else 86.
//
// Control (for the tests), on the same ports over plain HTTP(S):
//   POST /__fake/inject {command, result? | hang? | close? | raw?}  the next call of command
//        answers `result`, never answers, closes the socket, or sends `raw` as is
//   GET  /__fake/state  {calls, overlaps, configured}  (overlaps: a command that arrived while
//        another was being answered; the client must send one at a time)
//   POST /__fake/card {profile, holder, layout?, seed?}  insert a virtual card (the npm
//        package's VirtualCard, loaded from --virtual-module): from then on the token's
//        certificate is the card's signing certificate, and CmsSign / NIDSign have the card
//        sign (VirtualCard.registrySign: what the registry's secure session makes the card do)
//        with its own key, as the counter's card-signature records need; {} removes it
//
// Usage: node fake-dastine.mjs [--pki DIR] --licensed-config FILE [--port N] [--ssl-port N]
//        [--virtual-module PATH]   (PATH: pkg/node/virtual.mjs, or the installed hoviat/virtual)
//        [--card PROFILE:HOLDER[:iran]]   a virtual card inserted from the start (the demo's)
// Prints "fake-dastine: listening ws:N wss:M" when ready.
import http from 'node:http';
import https from 'node:https';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WebSocketServer } from 'ws';

const args = process.argv.slice(2);
const arg = (k, d) => { const i = args.indexOf('--' + k); return i >= 0 ? args[i + 1] : d; };
const PKI = arg('pki');
const VIRTUAL_MODULE = arg('virtual-module');
const LICENSED = readFileSync(arg('licensed-config'), 'utf8');
const PORT = Number(arg('port', 51356));
const SSL_PORT = Number(arg('ssl-port', 51357));
const VERSION = arg('version', '5.8.38.0');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'fake-dastine-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));

// The test registry's holders with a key: 00-good (RSA), 01-good (EC P-256), ...
const holders = (PKI ? readdirSync(path.join(PKI, 'holders')) : [])
  .filter((f) => f.endsWith('.key.pem'))
  .map((f) => {
    const base = path.join(PKI, 'holders', f.replace(/\.key\.pem$/, ''));
    const pem = readFileSync(base + '.pem', 'utf8');
    const der = Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    const subject = execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253', '-in', base + '.pem']).toString().replace(/^subject=\s*/, '').trim();
    return { name: path.basename(base), cert: base + '.pem', key: base + '.key.pem', der, subject, sha1: createHash('sha1').update(der).digest('hex') };
  })
  .sort((a, b) => a.name.localeCompare(b.name));
const good = holders.filter((h) => /-good$/.test(h.name));

// The inserted virtual card, when the test put one in (POST /__fake/card).
let card = null;
async function insertCard(o) {
  if (!o || o.profile === undefined) { card = null; return; }
  const { VirtualCard } = await import(VIRTUAL_MODULE || 'hoviat/virtual');
  const vc = new VirtualCard(o);
  const certs = vc.info().certificates || [];
  const c = certs.find((x) => x.slot === 'ir-nid-sign') || certs[0];
  card = { vc, der: Buffer.from(c.der, 'base64'), subject: c.subject || '' };
}
function cardSign(dataB64, attach, hash) {
  return Buffer.from(card.vc.registrySign(Buffer.from(dataB64, 'base64'), { hash, attach })).toString('base64');
}

const injected = new Map(); // command -> action
const state = { calls: [], overlaps: 0, configured: false };

function cmsSign(holder, dataB64, attach, md) {
  const inF = path.join(tmp, 'in.bin');
  const outF = path.join(tmp, 'out.der');
  writeFileSync(inF, Buffer.from(dataB64, 'base64'));
  const a = ['cms', '-sign', '-binary', '-in', inF, '-signer', holder.cert, '-inkey', holder.key, '-md', md, '-outform', 'DER', '-out', outF];
  if (attach) a.push('-nodetach');
  execFileSync('openssl', a, { stdio: ['ignore', 'ignore', 'pipe'] });
  return readFileSync(outF).toString('base64');
}

const isB64 = (s) => typeof s === 'string' && /^[A-Za-z0-9+/]*={0,2}$/.test(s) && s.length % 4 === 0;
const truthy = (v) => !(v === false || v === 'false' || v === 0 || v === '0');

// One connection = one session of the middleware (selected certificate, PIN state).
function session(ws) {
  const s = { selected: null, authenticated: false, busy: false };
  const reply = (command, Result, extra) => ws.send(JSON.stringify({ command, Result: String(Result), ...extra }));
  ws.on('message', async (buf) => {
    let m;
    try { m = JSON.parse(buf.toString()); } catch { return; }
    if (s.busy) state.overlaps++;
    state.calls.push(m.command);
    const act = injected.get(m.command);
    if (act) injected.delete(m.command);
    if (act && act.hang) return;
    if (act && act.close) { ws.close(); return; }
    if (act && act.raw !== undefined) { ws.send(act.raw); return; }
    s.busy = true;
    await new Promise((r) => setTimeout(r, 20)); // the middleware takes a moment
    s.busy = false;
    if (act && act.result !== undefined) { reply(m.command, act.result); return; }
    if (m.src !== 'dastine.js' || typeof m.info !== 'string' || m.info.length !== 15) { reply(m.command, 10); return; }
    const cmd = m.command;
    if (cmd === 'DastineIsAlive') return reply(cmd, 0);
    if (cmd === 'GetVersion') return reply(cmd, VERSION);
    if (cmd === 'SetConfig') {
      if (m.config !== LICENSED) return reply(cmd, 86);
      state.configured = true;
      s.configured = true;
      return reply(cmd, 0);
    }
    if (!s.configured) return reply(cmd, 81); // no licensed configuration for this page yet
    switch (cmd) {
      case 'SelectCertificateFromTokenByUI':
        if (card) { s.selected = { card: true, der: card.der }; return reply(cmd, 0); }
        s.selected = good.find((h) => !m.issuer || h.subject.includes(m.issuer)) || null;
        return reply(cmd, s.selected ? 0 : 89);
      case 'SelectCertificateFromWindowsByUI':
        s.selected = good.find((h) => !m.issuer || h.subject.includes(m.issuer)) || null;
        return reply(cmd, s.selected ? 0 : 89);
      case 'SelectCertificateFromTokenBySubject':
      case 'SelectCertificateFromWindowsBySubject':
        s.selected = holders.find((h) => h.subject === m.subjectDn) || null;
        return reply(cmd, s.selected ? 0 : 11);
      case 'SelectCertificateByThumbprint':
        s.selected = holders.find((h) => h.sha1 === String(m.Thumbprint).toLowerCase()) || null;
        return reply(cmd, s.selected ? 0 : 11);
      case 'GetSelectedCertificate':
        return reply(cmd, s.selected ? s.selected.der.toString('base64') : 11);
      case 'CmsSign': {
        if (!s.selected) return reply(cmd, 11);
        if (!isB64(m.data)) return reply(cmd, 34);
        const md = { SHA1: 'sha1', SHA256: 'sha256', SHA384: 'sha384', SHA512: 'sha512' }[m.hash || 'SHA1'];
        if (!md) return reply(cmd, 12);
        if (s.selected.card) {
          if (!card) return reply(cmd, 89); // the card was taken out
          try { return reply(cmd, cardSign(m.data, truthy(m.attach), m.hash || 'SHA1')); } catch { return reply(cmd, 56); }
        }
        try { return reply(cmd, cmsSign(s.selected, m.data, truthy(m.attach), md)); } catch { return reply(cmd, 56); }
      }
      case 'NIDAuthenticateByPIN':
        s.authenticated = true; // no PIN window here: the tests inject 13, 14, 29 ...
        return reply(cmd, 0);
      case 'NIDSign': {
        if (!s.authenticated) return reply(cmd, 93);
        if (!isB64(m.data)) return reply(cmd, 34);
        if (card) {
          try { return reply(cmd, cardSign(m.data, true, 'SHA256')); } catch { return reply(cmd, 56); }
        }
        const h = (s.selected && !s.selected.card && s.selected) || good[0];
        if (!h) return reply(cmd, 89);
        try { return reply(cmd, cmsSign(h, m.data, true, 'sha256')); } catch { return reply(cmd, 56); }
      }
      default:
        return reply(cmd, 10);
    }
  });
}

function control(req, res) {
  const url = new URL(req.url, 'http://x');
  res.setHeader('access-control-allow-origin', '*'); // the test page injects too
  if (req.method === 'POST' && url.pathname === '/__fake/inject') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const a = JSON.parse(body);
      injected.set(a.command, a);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    return;
  }
  if (req.method === 'POST' && url.pathname === '/__fake/card') {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', async () => {
      try {
        await insertCard(JSON.parse(body || '{}'));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ inserted: !!card, subject: card ? card.subject : null }));
      } catch (e) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(e && e.message || e) }));
      }
    });
    return;
  }
  if (url.pathname === '/__fake/state') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state));
    return;
  }
  if (url.pathname === '/__fake/reset') {
    state.calls = []; state.overlaps = 0; injected.clear();
    res.writeHead(200).end('{}');
    return;
  }
  res.writeHead(404).end();
}

// The https variant's certificate: self-signed, for the vendor's loopback name.
const key = path.join(tmp, 'tls.key');
const crt = path.join(tmp, 'tls.crt');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt,
  '-days', '2', '-subj', '/CN=localhost.dastine.pki.co.ir', '-addext', 'subjectAltName=DNS:localhost.dastine.pki.co.ir'], { stdio: 'ignore' });

const plain = http.createServer(control);
const tls = https.createServer({ key: readFileSync(key), cert: readFileSync(crt) }, control);
for (const srv of [plain, tls]) {
  const wss = new WebSocketServer({ server: srv, path: '/dastine', maxPayload: 64 * 1024 * 1024 });
  wss.on('connection', session);
}
const CARD = arg('card');
if (CARD) {
  const [profile, holder, layout] = CARD.split(':');
  await insertCard({ profile, holder: Number(holder), ...(layout ? { layout } : {}) });
}
await new Promise((r) => plain.listen(PORT, '127.0.0.1', r));
await new Promise((r) => tls.listen(SSL_PORT, '127.0.0.1', r));
console.log(`fake-dastine: listening ws:${plain.address().port} wss:${tls.address().port} (${holders.length} holders)`);
process.on('SIGTERM', () => process.exit(0));
