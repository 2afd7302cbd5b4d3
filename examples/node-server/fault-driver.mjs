// Load and flood driver for scripts/fault-tests.sh (issue 15): real logins with the virtual card
// against example servers, slow-connection and challenge floods from other loopback addresses.
// Prints one JSON object (the figures) on stdout. Subcommands:
//   login-once --a URL --b URL --origin O --out FILE        challenge at A, login at B (200), replay
//                                                            at A and B (401 NONCE_REPLAYED); saves the body
//   replay --file F --targets URL,URL [--deadline-ms D]      sends saved login bodies again; none may be 200
//   load --pairs A1,B1[;A2,B2] --origin O --seconds S --workers N --deadline-ms D --save FILE
//        logins in a loop (challenge at one instance of a pair, login at the other, replay, session
//        read at the first): every answer within the deadline, per-second outcomes, saved bodies
//   slow --target URL --from 127.0.0.2,... --per-address N --seconds S --line-every-ms M
//        slow clients: incomplete request heads, one header line every M ms
//   flood --target URL --from ADDRS --requests N --concurrency C   challenge requests as fast as possible
import http from 'node:http';
import { writeFileSync, readFileSync, appendFileSync } from 'node:fs';
import net from 'node:net';
import { connect } from 'hoviat/virtual';

const args = process.argv.slice(2);
const cmd = args[0];
const opt = (name, def) => { const i = args.indexOf(`--${name}`); return i > 0 ? args[i + 1] : def; };

/** One HTTP request on a fresh connection; never longer than deadlineMs (then status 0). */
function request(url, { method = 'GET', body, cookie, deadlineMs = 10_000, localAddress } = {}) {
  const u = new URL(url);
  const t0 = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (r) => { if (!done) { done = true; clearTimeout(timer); resolve({ ms: Date.now() - t0, ...r }); } };
    const headers = { connection: 'close' };
    if (body !== undefined) { headers['content-type'] = 'application/json'; headers['content-length'] = Buffer.byteLength(body); }
    if (cookie) headers.cookie = cookie;
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method, headers, agent: false, localAddress }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { b += c; });
      res.on('end', () => {
        let j = null; try { j = JSON.parse(b); } catch { /* not JSON */ }
        const set = [].concat(res.headers['set-cookie'] || []).map((c) => c.split(';')[0]);
        finish({ status: res.statusCode, json: j, code: j && j.error ? j.error.code : null, set });
      });
      res.on('error', (e) => finish({ status: -1, error: e.code || e.message }));
    });
    const timer = setTimeout(() => { req.destroy(); finish({ status: 0, error: 'deadline' }); }, deadlineMs);
    req.on('error', (e) => finish({ status: -1, error: e.code || e.message }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const card = await connect({ transport: 'virtual' });
const pick = (set, name) => (set || []).find((c) => c.startsWith(name + '=') || c.startsWith('__Host-' + name + '='));

/** One login flow: challenge at `a`, login at `b`, replay at both, session read at `a`. */
async function flow(a, b, origin, deadlineMs, rec, localAddress) {
  const c = await request(a + '/api/challenge', { method: 'POST', body: '{}', deadlineMs, localAddress });
  rec('challenge', c);
  if (c.status !== 200) return null;
  const pre = pick(c.set, 'hoviat_prelogin');
  const { nonce } = c.json;
  const { token } = await card.authenticate({ nonce, pin: '123456', origin });
  const body = JSON.stringify({ nonce, token });
  const l = await request(b + '/api/login', { method: 'POST', body, cookie: pre, deadlineMs, localAddress });
  rec('login', l);
  if (l.status !== 200) return null;
  const saved = { body, cookie: pre };
  for (const t of [a, b]) rec('replay', await request(t + '/api/login', { method: 'POST', body, cookie: pre, deadlineMs, localAddress }));
  const sid = pick(l.set, 'hoviat_session');
  rec('session', await request(a + '/api/session', { cookie: sid, deadlineMs, localAddress }));
  return saved;
}

function stats() {
  const s = { requests: 0, overDeadline: 0, errors: 0, byKind: {}, replayAccepted: 0, maxMs: 0, sessionShared: 0, sessionMissing: 0 };
  const rec = (kind, r) => {
    s.requests += 1;
    s.maxMs = Math.max(s.maxMs, r.ms);
    if (r.status === 0) s.overDeadline += 1;
    if (r.status < 0) s.errors += 1;
    const k = `${kind} ${r.status}${r.code ? ' ' + r.code : ''}${r.error ? ' ' + r.error : ''}`;
    s.byKind[k] = (s.byKind[k] || 0) + 1;
    if (kind === 'replay' && r.status === 200) s.replayAccepted += 1;
    if (kind === 'session') { if (r.status === 200) s.sessionShared += 1; else if (r.status === 401) s.sessionMissing += 1; }
  };
  return [s, rec];
}

if (cmd === 'prepare') {
  // A challenge at A and its token, saved for `replay` (whose first send is the login).
  const c = await request(opt('a') + '/api/challenge', { method: 'POST', body: '{}' });
  if (c.status !== 200) { console.log(JSON.stringify({ ok: false, status: c.status, code: c.code })); process.exit(1); }
  const { token } = await card.authenticate({ nonce: c.json.nonce, pin: '123456', origin: opt('origin') });
  writeFileSync(opt('out'), JSON.stringify([{ body: JSON.stringify({ nonce: c.json.nonce, token }), cookie: pick(c.set, 'hoviat_prelogin') }]));
  console.log(JSON.stringify({ ok: true }));
} else if (cmd === 'login-once') {
  const [s, rec] = stats();
  const saved = await flow(opt('a'), opt('b'), opt('origin'), 10_000, rec);
  if (saved) writeFileSync(opt('out'), JSON.stringify([saved]));
  console.log(JSON.stringify({ ok: !!saved, ...s }));
} else if (cmd === 'replay') {
  const [s, rec] = stats();
  const saved = JSON.parse(readFileSync(opt('file'), 'utf8') || '[]');
  const deadlineMs = Number(opt('deadline-ms', 10_000));
  for (const t of opt('targets').split(',')) {
    for (const x of saved) rec('replay', await request(t + '/api/login', { method: 'POST', body: x.body, cookie: x.cookie, deadlineMs }));
  }
  console.log(JSON.stringify({ replayed: saved.length, ...s }));
} else if (cmd === 'load') {
  const pairs = opt('pairs').split(';').map((p) => p.split(','));
  const origin = opt('origin');
  const seconds = Number(opt('seconds', 20));
  const deadlineMs = Number(opt('deadline-ms', 6000));
  const workers = Number(opt('workers', 4));
  const save = opt('save');
  const [s, rec] = stats();
  const t0 = Date.now();
  const perSecond = []; // [logins ok, logins failed] per second since start
  const end = t0 + seconds * 1000;
  const savedAll = [];
  async function worker(w) {
    let i = w;
    while (Date.now() < end) {
      const [x, y] = pairs[i % pairs.length];
      const [a, b] = (i >> 1) % 2 ? [x, y] : [y, x];
      i += 1;
      const sec = Math.floor((Date.now() - t0) / 1000);
      perSecond[sec] = perSecond[sec] || [0, 0];
      // Users come from many addresses (127.0.1.1-200), as behind a real site.
      const saved = await flow(a, b, origin, deadlineMs, rec, `127.0.1.${1 + (i % 200)}`).catch(() => null);
      perSecond[sec][saved ? 0 : 1] += 1;
      if (saved) { savedAll.push(saved); if (save) appendFileSync(save, JSON.stringify(saved) + '\n'); }
      if (!saved) await new Promise((r) => setTimeout(r, 100));
    }
  }
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  console.log(JSON.stringify({ seconds, logins: savedAll.length, perSecond: perSecond.map((x) => x || [0, 0]), ...s }));
} else if (cmd === 'slow') {
  // Slow clients: each connection sends an incomplete request head, then a header line every
  // M ms, and never finishes it. Counts how many the server accepted and how long they lived.
  const u = new URL(opt('target'));
  const from = opt('from').split(',');
  const per = Number(opt('per-address', 100));
  const seconds = Number(opt('seconds', 10));
  const every = Number(opt('line-every-ms', 1000));
  // opened: connects that succeeded; refusedFast: closed by the server within 500 ms of connecting.
  const lives = []; let opened = 0; let refusedFast = 0; let open = 0; let maxOpen = 0;
  const t0 = Date.now();
  await new Promise((resolveAll) => {
    let pending = from.length * per;
    const one = (addr) => {
      const s = net.connect({ host: u.hostname, port: Number(u.port), localAddress: addr });
      let timer;
      let n = 0;
      let connectedAt = 0;
      s.on('connect', () => {
        connectedAt = Date.now();
        opened += 1; open += 1; maxOpen = Math.max(maxOpen, open);
        s.write(`GET /api/config HTTP/1.1\r\nHost: ${u.host}\r\n`);
        timer = setInterval(() => { n += 1; s.write(`X-Slow-${n}: ${'a'.repeat(10)}\r\n`); }, every);
      });
      s.on('data', () => {});
      s.on('error', () => {});
      s.on('close', () => {
        clearInterval(timer);
        if (connectedAt) open -= 1;
        // Alive from connect to close; a connection closed within 500 ms was refused at once.
        const life = connectedAt ? Date.now() - connectedAt : 0;
        if (life < 500) refusedFast += 1; else lives.push(life);
        if (--pending === 0) resolveAll();
      });
      setTimeout(() => s.destroy(), seconds * 1000);
    };
    for (const a of from) for (let i = 0; i < per; i++) one(a);
  });
  lives.sort((x, y) => x - y);
  console.log(JSON.stringify({ attempted: from.length * per, opened, refusedFast, maxOpen, heldMsMedian: lives[lives.length >> 1] || 0, heldMsMax: lives[lives.length - 1] || 0, elapsedMs: Date.now() - t0 }));
} else if (cmd === 'flood') {
  const targets = opt('target').split(','); // several: requests alternate between them
  const from = opt('from').split(',');
  const n = Number(opt('requests', 1000));
  const conc = Number(opt('concurrency', 20));
  const by = {}; let k = 0; let maxMs = 0;
  const t0 = Date.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (k < n) {
      const i = k++;
      const r = await request(targets[i % targets.length] + '/api/challenge', { method: 'POST', body: '{}', deadlineMs: 5000, localAddress: from[Math.floor(i / targets.length) % from.length] });
      maxMs = Math.max(maxMs, r.ms);
      const key = `${r.status}${r.code ? ' ' + r.code : ''}`;
      by[key] = (by[key] || 0) + 1;
    }
  }));
  console.log(JSON.stringify({ requests: n, elapsedMs: Date.now() - t0, maxMs, byStatus: by }));
} else {
  console.error('usage: see the comment at the top');
  process.exit(2);
}
