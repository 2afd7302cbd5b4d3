// Issue 15: demo mode (the public test registry) refused with trust options, on a public listen
// host and for a public origin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer, checkDemo } from '../server.mjs';

const server = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../server.mjs');
const run = (...args) => spawnSync(process.execPath, [server, '--port', '0', ...args], { encoding: 'utf8', timeout: 8000 });

test('the CLI refuses trust options without --no-demo, and demo mode off loopback', () => {
  for (const args of [
    ['--trust-anchor', '/nonexistent/root.pem'],
    ['--crl', '/nonexistent/ca.crl'],
    ['--host', '0.0.0.0'],
    ['--origin', 'https://bank.example.ir'],
    ['--no-demo'],
  ]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: status ${r.status}, stderr ${r.stderr}`);
    assert.match(r.stderr, /demo|--trust-anchor/);
  }
});

test('createServer refuses demo mode with trust or a public origin', async () => {
  const trust = { trustAnchors: [] };
  await assert.rejects(createServer({ demo: true, trust }), { code: 'CONFIG_UNSAFE' });
  await assert.rejects(createServer({ origin: 'https://bank.example.ir' }), { code: 'CONFIG_UNSAFE' });
  assert.throws(() => checkDemo({ demo: true, host: '192.0.2.1' }), { code: 'CONFIG_UNSAFE' });
  for (const ok of ['127.0.0.1', 'localhost', '[::1]', '::1']) checkDemo({ demo: true, host: ok });
  checkDemo({ demo: true, origin: 'http://[::1]:8080' });
  checkDemo({ demo: false, trust, origin: 'https://bank.example.ir', host: '0.0.0.0' });
});
