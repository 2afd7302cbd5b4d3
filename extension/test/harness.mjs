// What the browser end-to-end tests share (e2e.mjs: Chromium, e2e-firefox.mjs: Firefox): the
// environment scripts/extension-tests.sh passes, "ok NAME" / "FAIL NAME: why" reporting, child
// processes, and the virtual card behind pcscd.
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const env = (k) => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`missing environment variable ${k}`);
  return v;
};
export const BIN = env('BIN');
export const HOST_BIN = env('HOST_BIN');
export const EXT = env('EXT');
export const PORT = env('PORT');
export const PKI = env('PKI');
export const NONCE = env('NONCE');
export const WORK = env('WORK');
export const AT = env('AT');
export const NETNS_PID = process.env.NETNS_PID || '';
export const ORIGIN = `http://127.0.0.1:${PORT}`;
export const PAGE = `${ORIGIN}/extension/test/page.html`;
export const HOST_NAME = 'ir.hoviat.host';
// Trust arguments for `hoviat verify-token` (the test PKI made by scripts/extension-tests.sh).
export const TRUST = ['--trust-anchor', `${PKI}/root.pem`, '--intermediate', `${PKI}/ca-rsa.pem`, '--intermediate', `${PKI}/ca-ec.pem`, '--at', AT];

let failures = 0;
export const failureCount = () => failures;
export const ok = (name) => console.log(`ok ${name}`);
export const fail = (name, why) => {
  failures += 1;
  console.log(`FAIL ${name}: ${String(why).replace(/\s+/g, ' ').slice(0, 400)}`);
};
export async function test(name, fn) {
  try {
    await fn();
    ok(name);
  } catch (e) {
    fail(name, e && e.stack ? e.message : e);
  }
}
export function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function run(cmd, args, opts = {}) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 60000, ...opts }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
export const hostPids = async () => (await run('pgrep', ['-x', 'hoviat-host'])).stdout.split(/\s+/).filter(Boolean).map(Number);

// ---- The virtual card ----------------------------------------------------------------------
let sim = null;
export async function cardPresent(want) {
  for (let i = 0; i < 80; i++) {
    const r = await run(BIN, ['card', 'list']);
    try {
      const j = JSON.parse(r.stdout);
      if (j.readers.length && j.readers[0].cardPresent === want) return true;
    } catch (_) { /* not yet */ }
    await sleep(100);
  }
  return false;
}
export async function startSim(extra = []) {
  await stopSim();
  const args = [BIN, 'sim', 'card', '--pki', PKI, '--profile', 'piv', '--holder', '1', ...extra];
  const [cmd, ...rest] = NETNS_PID ? ['nsenter', '-t', NETNS_PID, '-n', ...args] : args;
  const log = fs.openSync(path.join(WORK, 'sim.log'), 'a');
  sim = spawn(cmd, rest, { stdio: ['ignore', log, log] });
  if (!(await cardPresent(true))) throw new Error(`pcscd never saw the virtual card: ${fs.readFileSync(path.join(WORK, 'sim.log'), 'utf8').slice(-300)}`);
}
export async function stopSim() {
  if (!sim) return;
  const p = sim;
  sim = null;
  if (p.exitCode === null && p.signalCode === null) {
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await Promise.race([exited, sleep(3000)]);
  }
  if (!(await cardPresent(false))) throw new Error('pcscd still sees a card after the simulator stopped');
}
// For the final clean-up of a run that failed half-way.
export function killSim() {
  if (sim) sim.kill('SIGTERM');
}

// The token a browser produced (written to WORK/token.json) verifies with the CLI for the page's
// origin and for no other: the origin binding a relying party relies on.
export async function tokenOriginTests(prefix, hasToken, nonce = NONCE) {
  const file = path.join(WORK, 'token.json');
  await test(`${prefix}token-verifies-for-page-origin`, async () => {
    assert(hasToken(), 'no token');
    const r = await run(BIN, ['verify-token', '--token', file, '--origin', ORIGIN, '--nonce', nonce, ...TRUST]);
    const j = JSON.parse(r.stdout);
    assert(r.code === 0 && j.verified === true, `exit ${r.code}: ${r.stdout.slice(0, 300)}`);
  });
  await test(`${prefix}token-fails-for-another-origin`, async () => {
    assert(hasToken(), 'no token');
    for (const other of [`http://localhost:${PORT}`, 'https://bank.example.ir']) {
      const r = await run(BIN, ['verify-token', '--token', file, '--origin', other, '--nonce', nonce, ...TRUST]);
      const code = JSON.parse(r.stdout).error?.code;
      assert(r.code === 1 && ['ORIGIN_MISMATCH', 'TOKEN_SIGNATURE_INVALID'].includes(code), `${other}: exit ${r.code} ${code}`);
    }
  });
}

// What the page gets from the extension's `version` and `info` on the virtual PIV card, the same
// in every browser (r: the page's {ok, value, code, message, statuses}).
export function assertVersion(r) {
  assert(r.ok, `${r.code}: ${r.message}`);
  assert(r.value.host.name === 'hoviat-host' && r.value.host.protocol === 1 && r.value.protocol === 1, JSON.stringify(r.value));
}

// The test PKI's holders (manifest.json of `hoviat testpki`): names and national codes.
export const holders = () => JSON.parse(fs.readFileSync(path.join(PKI, 'manifest.json'), 'utf8')).holders;

// Nothing a page may learn without the user: no certificate (DER or subject), no name, no
// national code, no chip serial, no reader name, no PIN state. `text`: everything the page got.
export function assertNothingPersonal(text) {
  const bad = ['certificates', 'subject', 'cardSerial', 'serialNumber', '"der"', 'MII', 'Virtual PCD', 'triesLeft', 'pins', 'atr', 'PNOIR'];
  for (const h of holders()) bad.push(h.nationalCode, h.surname, h.givenName, h.serial);
  for (const b of bad) assert(!text.includes(b), `the page got ${JSON.stringify(b)}: ${text.slice(0, 300)}`);
}

// `info` without confirmation: exactly { cardPresent }.
export function assertPresenceOnly(r, present) {
  assert(r.ok, `${r.code}: ${r.message}`);
  assert(JSON.stringify(r.value) === JSON.stringify({ cardPresent: present }), `info gave ${JSON.stringify(r.value).slice(0, 300)}`);
  assertNothingPersonal(JSON.stringify(r));
}

// `info` the user agreed to share: the card's certificate (of holder `h`), PIN state, reader.
export function assertSharedInfo(r, h = 1, reader = 'Virtual PCD 00 00') {
  assert(r.ok, `${r.code}: ${r.message}`);
  const v = r.value;
  assert(v.cardPresent === true && v.profile === 'piv' && v.certificates.length === 1, JSON.stringify(v).slice(0, 300));
  assert(v.certificates[0].subject.includes(holders()[h].nationalCode), `subject ${v.certificates[0].subject}`);
  assert(v.certificates[0].der.startsWith('MII'), 'no certificate DER');
  assert(v.pins[0].state === 'triesLeft' && v.pins[0].triesLeft === 3, JSON.stringify(v.pins));
  assert(v.reader === reader, `reader ${v.reader}`);
  assert(r.statuses[0] === 'detecting-card' && r.statuses.includes('reading-certificate'), r.statuses.join(','));
}

// Persian digits, as the extension's window writes numbers.
export const faDigits = (s) => String(s).replace(/[0-9]/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[Number(d)]);
