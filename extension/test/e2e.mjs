// End-to-end test of hoviat's extension and native host: headless Chromium with the real
// unpacked extension, hoviat-host registered in the profile, pcscd + vpcd + the virtual PIV card
// (started by scripts/extension-tests.sh), a page on 127.0.0.1 using extension/page-client.js.
// Prints "ok NAME" / "FAIL NAME: why"; the shell script counts them.
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  BIN, EXT, HOST_BIN, HOST_NAME, NONCE, ORIGIN, PAGE, TRUST, WORK,
  assert, fail, failureCount, hostPids, killSim, run, sleep, startSim, stopSim, test,
  assertInfo, assertVersion, tokenOriginTests,
} from './harness.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const EXT_ID = 'jeooianbhgjgdmmjihimenmfblleifon';

// ---- Browsers --------------------------------------------------------------------------------
function hostManifest(dir, hostPath) {
  fs.mkdirSync(path.join(dir, 'NativeMessagingHosts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'NativeMessagingHosts', `${HOST_NAME}.json`), JSON.stringify({
    name: HOST_NAME,
    description: 'hoviat test host',
    path: hostPath,
    type: 'stdio',
    allowed_origins: [`chrome-extension://${EXT_ID}/`],
  }));
}
async function launch(profile, withExtension) {
  const args = withExtension ? [`--disable-extensions-except=${EXT}`, `--load-extension=${EXT}`] : [];
  return chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args,
    env: { ...process.env, HOVIAT_HOST_CARD_WAIT_SECS: '4', HOVIAT_HOST_LOG: path.join(WORK, 'host.log') },
  });
}
async function openPage(ctx) {
  const page = await ctx.newPage();
  await page.goto(PAGE);
  await page.waitForFunction(() => window.pageReady === true);
  return page;
}
// Runs a page-client call inside the page; resolves { ok, value } or { ok: false, code, message }.
function inPage(page, action, arg) {
  return page.evaluate(({ action, arg }) => window.runAction(action, arg), { action, arg });
}

async function main() {
  fs.mkdirSync(WORK, { recursive: true });
  await startSim();
  const profile = path.join(WORK, 'profile');
  hostManifest(profile, HOST_BIN);
  const ctx = await launch(profile, true);
  let page;
  try {
    const sw = ctx.serviceWorkers()[0] ?? (await ctx.waitForEvent('serviceworker', { timeout: 15000 }));
    await test('extension-service-worker-loaded', async () => {
      assert(sw.url() === `chrome-extension://${EXT_ID}/sw.js`, `service worker at ${sw.url()} (the id comes from the manifest key)`);
    });
    page = await openPage(ctx);

    await test('extension-detected', async () => {
      const v = await page.evaluate(async () => (await window.hoviat.ExtensionTransport.detect(3000)).extensionVersion);
      assert(v === '0.1.0', `ready version ${v}`);
    });
    await test('version-through-host', async () => {
      const r = await inPage(page, 'version');
      assertVersion(r);
    });
    await test('info', async () => {
      const r = await inPage(page, 'info');
      assertInfo(r);
    });

    // Authentication: wrong PIN first (the window says so and asks again), then the right one.
    let token = null;
    await test('authenticate-pin-in-extension-window', async () => {
      const pinPage = ctx.waitForEvent('page', { predicate: (p) => p.url().includes('/pin.html'), timeout: 20000 });
      const result = inPage(page, 'authenticate', NONCE);
      const pp = await pinPage;
      assert(pp.url().startsWith(`chrome-extension://${EXT_ID}/pin.html`), pp.url());
      await pp.waitForFunction((o) => document.getElementById('who').textContent.includes(o), ORIGIN, { timeout: 10000 });
      await pp.fill('#pin', '000000');
      await pp.click('#ok');
      await pp.waitForFunction(() => /2 tries left/.test(document.getElementById('tries').textContent)
        && /wrong PIN/i.test(document.getElementById('error').textContent), null, { timeout: 15000 });
      await pp.waitForSelector('#pin:not([disabled])');
      await pp.fill('#pin', '123456');
      await pp.click('#ok');
      const r = await result;
      assert(r.ok, `${r.code}: ${r.message}`);
      token = r.value;
      assert(token.format === 'web-eid:1.0' && token.algorithm === 'ES256', JSON.stringify(token).slice(0, 200));
      for (const s of ['detecting-card', 'waiting-for-pin', 'verifying-pin', 'signing', 'done']) {
        assert(r.statuses.includes(s), `status ${s} missing from ${r.statuses.join(',')}`);
      }
      await pp.waitForEvent('close', { timeout: 5000 }).catch(() => {});
      assert(pp.isClosed(), 'the PIN window stayed open');
      fs.writeFileSync(path.join(WORK, 'token.json'), JSON.stringify(token));
    });
    await test('pin-never-reaches-the-page', async () => {
      const seen = await page.evaluate(() => window.seen.join('\n'));
      assert(seen.length > 0 && seen.includes('web-eid:1.0'), 'the page saw no messages at all');
      // The PINs typed were 000000 and 123456: neither may appear as a value, nor any "pin" field.
      for (const bad of ['"123456"', '"000000"', '"pin"']) {
        assert(!seen.includes(bad), `${bad} appeared in a message the page received`);
      }
    });
    await tokenOriginTests('', () => Boolean(token));
    // The same flow through the npm package a relying party's page uses (scripts/build-pkg).
    await test('npm-package-authenticates-through-extension', async () => {
      assert(fs.existsSync('pkg/web/index.js'), 'pkg/ is not built (scripts/build-pkg)');
      const pinPage = ctx.waitForEvent('page', { predicate: (p) => p.url().includes('/pin.html'), timeout: 20000 });
      const result = page.evaluate(async (nonce) => {
        const hoviat = await import('/pkg/web/index.js');
        const statuses = [];
        try {
          const card = await hoviat.connect({ transport: 'extension', onStatus: (s) => statuses.push(s) });
          const { token, origin } = await card.authenticate({ nonce });
          return { ok: true, token, origin, transport: card.transport, statuses };
        } catch (e) {
          return { ok: false, code: e.code, message: e.message, isHoviatError: e instanceof hoviat.HoviatError };
        }
      }, NONCE);
      const pp = await pinPage;
      await pp.fill('#pin', '123456');
      await pp.click('#ok');
      const r = await result;
      assert(r.ok, `${r.code}: ${r.message}`);
      assert(r.transport === 'extension' && r.origin === ORIGIN, `${r.transport} ${r.origin}`);
      assert(r.statuses.includes('signing') && r.statuses.includes('done'), r.statuses.join(','));
      fs.writeFileSync(path.join(WORK, 'token-npm.json'), JSON.stringify(r.token));
      const v = await run(BIN, ['verify-token', '--token', path.join(WORK, 'token-npm.json'), '--origin', ORIGIN, '--nonce', NONCE, ...TRUST]);
      assert(v.code === 0 && JSON.parse(v.stdout).verified === true, `exit ${v.code}: ${v.stdout.slice(0, 300)}`);
      const other = await run(BIN, ['verify-token', '--token', path.join(WORK, 'token-npm.json'), '--origin', 'https://bank.example.ir', '--nonce', NONCE, ...TRUST]);
      assert(other.code === 1, `another origin accepted: ${other.stdout.slice(0, 200)}`);
    });
    // Right after a login the card may still be unlocked (pcscd keeps it powered briefly):
    // another authentication must still ask the holder for the PIN.
    await test('pin-asked-even-when-card-still-unlocked', async () => {
      const pinPage = ctx.waitForEvent('page', { predicate: (p) => p.url().includes('/pin.html'), timeout: 10000 });
      const result = inPage(page, 'authenticate', NONCE);
      const pp = await pinPage;
      await pp.fill('#pin', '123456');
      await pp.click('#ok');
      const r = await result;
      assert(r.ok && r.statuses.includes('waiting-for-pin'), `${r.code}: ${r.message} ${r.statuses}`);
    });
    await test('page-cannot-supply-origin', async () => {
      const r = await page.evaluate((nonce) => window.rawRequest({ hoviat: 'request', id: 'forge1', action: 'authenticate', params: { nonce, origin: 'https://bank.example.ir' } }), NONCE);
      assert(r && r.ok === false && r.error.code === 'EXTENSION_BAD_REQUEST', JSON.stringify(r));
    });
    await test('pin-window-cancel', async () => {
      const pinPage = ctx.waitForEvent('page', { predicate: (p) => p.url().includes('/pin.html'), timeout: 20000 });
      const result = inPage(page, 'authenticate', NONCE);
      const pp = await pinPage;
      await pp.waitForSelector('#cancel');
      // The click closes the window: Playwright may report the target closed.
      await pp.click('#cancel', { noWaitAfter: true }).catch((e) => {
        if (!/closed/i.test(e.message)) throw e;
      });
      const r = await result;
      assert(!r.ok && r.code === 'USER_CANCELLED', `${r.code}: ${r.message}`);
    });

    // Hostile page messages.
    await test('hostile-wrong-types', async () => {
      const cases = [
        { hoviat: 'request', id: 'h1', action: 42, params: {} },
        { hoviat: 'request', id: 'h2', action: 'format-disk', params: {} },
        { hoviat: 'request', id: 'h3', action: 'info', params: 'x' },
        { hoviat: 'request', id: 'h4', action: 'info', params: [] },
        { hoviat: 'request', id: 'h5', action: 'authenticate', params: { nonce: 'short' } },
        { hoviat: 'request', id: 'h6', action: 'authenticate', params: { nonce: 12345 } },
        { hoviat: 'request', id: 'h7', action: 'info', params: {}, extra: true },
        { hoviat: 'request', id: 'h8', action: 'info', params: { reader: { toString: null } } },
        { hoviat: 'request', id: 'h9', action: 'info', params: { pin: '123456' } },
      ];
      for (const c of cases) {
        const r = await page.evaluate((m) => window.rawRequest(m), c);
        assert(r && r.ok === false && r.error.code === 'EXTENSION_BAD_REQUEST', `${JSON.stringify(c)} -> ${JSON.stringify(r)}`);
      }
      // Without a usable id there is nothing to answer to: dropped, and the next request works.
      const none = await page.evaluate(() => window.rawRequest({ hoviat: 'request', id: { x: 1 }, action: 'version' }, 500));
      assert(none === null, `answered ${JSON.stringify(none)}`);
    });
    await test('hostile-huge-payloads', async () => {
      const t0 = Date.now();
      const r1 = await page.evaluate(() => window.rawRequest({ hoviat: 'request', id: 'big1', action: 'authenticate', params: { nonce: 'A'.repeat(10 * 1024 * 1024) } }));
      assert(r1 && r1.error && r1.error.code === 'EXTENSION_BAD_REQUEST', JSON.stringify(r1).slice(0, 200));
      const r2 = await page.evaluate(() => window.rawRequest({ hoviat: 'request', id: 'big2', action: 'info', params: { reader: 'R'.repeat(5 * 1024 * 1024) } }));
      assert(r2 && r2.error && r2.error.code === 'EXTENSION_BAD_REQUEST', JSON.stringify(r2).slice(0, 200));
      const r3 = await page.evaluate(() => window.rawRequest({ hoviat: 'request', id: 'big3', action: 'info', params: {}, blob: new Array(200000).fill('xxxxxxxxxx') }));
      assert(r3 && r3.error && r3.error.code === 'EXTENSION_BAD_REQUEST', JSON.stringify(r3).slice(0, 200));
      const r4 = await page.evaluate(() => window.rawRequest({ hoviat: 'request', id: 'I'.repeat(1024 * 1024), action: 'version' }, 500));
      assert(r4 === null, 'a request with a 1 MiB id was answered');
      assert(Date.now() - t0 < 20000, `took ${Date.now() - t0} ms`);
    });
    await test('hostile-flood-rate-limited', async () => {
      await sleep(1100);
      const r = await page.evaluate(async () => {
        const codes = {};
        let answered = 0;
        const h = (ev) => {
          const d = ev.data;
          if (ev.source !== window || !d || d.hoviat !== 'response' || !String(d.id).startsWith('flood')) return;
          answered += 1;
          const c = d.ok ? 'ok' : d.error.code;
          codes[c] = (codes[c] || 0) + 1;
        };
        window.addEventListener('message', h);
        for (let i = 0; i < 5000; i++) window.postMessage({ hoviat: 'request', id: `flood${i}`, action: 'version', params: {} }, location.origin);
        await new Promise((r) => setTimeout(r, 3000));
        window.removeEventListener('message', h);
        return { codes, answered };
      });
      assert((r.codes.EXTENSION_RATE_LIMITED || 0) >= 1, JSON.stringify(r));
      assert((r.codes.ok || 0) + (r.codes.EXTENSION_BUSY || 0) <= 20, `more than the rate limit went through: ${JSON.stringify(r)}`);
      assert(r.answered < 100, `a flood is answered message by message: ${JSON.stringify(r)}`);
      await sleep(1100);
      const v = await inPage(page, 'version');
      assert(v.ok, `after the flood: ${v.code}: ${v.message}`);
    });

    // Card missing, cancel, and a host killed in the middle of an operation.
    await stopSim();
    await test('no-card', async () => {
      const r = await inPage(page, 'info');
      assert(!r.ok && r.code === 'NO_CARD', `${r.code}: ${r.message}`);
      assert(r.statuses[0] === 'detecting-card', r.statuses.join(','));
    });
    await test('cancel-while-waiting-for-card', async () => {
      const result = inPage(page, 'info');
      await page.waitForFunction(() => window.statuses && window.statuses.includes('detecting-card'), null, { timeout: 3000 });
      const c = await page.evaluate(async () => (await window.hoviat.ExtensionTransport.detect(1000)).cancel());
      const r = await result;
      assert(!r.ok && r.code === 'EXTENSION_CANCELLED', `${r.code}: ${r.message}`);
      assert(Array.isArray(c.cancelled) && c.cancelled.length === 1, JSON.stringify(c));
    });
    let killed = [];
    await test('host-killed-mid-operation', async () => {
      await sleep(300);
      const result = inPage(page, 'info');
      await page.waitForFunction(() => window.statuses && window.statuses.includes('detecting-card'), null, { timeout: 3000 });
      killed = await hostPids();
      assert(killed.length === 1, `host processes: ${killed.join(',')}`);
      process.kill(killed[0], 'SIGKILL');
      const r = await result;
      assert(!r.ok && r.code === 'EXTENSION_HOST_DISCONNECTED', `${r.code}: ${r.message}`);
    });
    await startSim();
    await test('recovers-after-host-killed', async () => {
      const r = await inPage(page, 'info');
      assert(r.ok && r.value.profile === 'piv', `${r.code}: ${r.message}`);
      const now = await hostPids();
      assert(now.length === 1 && !killed.includes(now[0]), `host processes now ${now.join(',')}, killed ${killed.join(',')}`);
      const sws = ctx.serviceWorkers().filter((w) => w.url().includes(EXT_ID));
      assert(sws.length === 1, 'the service worker is gone');
    });
    await test('card-removed-mid-operation', async () => {
      await startSim(['--remove-after', '3']);
      const r = await inPage(page, 'info');
      assert(!r.ok && r.code === 'CARD_REMOVED', `${r.code}: ${r.message}`);
      await stopSim();
    });
    await test('host-exits-when-browser-closes-pipe', async () => {
      const before = await hostPids();
      assert(before.length === 1, `host processes: ${before.join(',')}`);
      await ctx.close();
      for (let i = 0; i < 50 && (await hostPids()).length; i++) await sleep(100);
      assert((await hostPids()).length === 0, 'hoviat-host still runs after the browser closed');
      const log = fs.readFileSync(path.join(WORK, 'host.log'), 'utf8');
      assert(log.includes('the browser closed the pipe'), 'no clean exit in the host log');
      assert(!/123456|000000/.test(log), 'a PIN appears in the host log');
    });
  } finally {
    await ctx.close().catch(() => {});
  }

  // A profile without the host manifest, then with a host of another protocol version.
  const profile2 = path.join(WORK, 'profile2');
  fs.mkdirSync(profile2, { recursive: true });
  const ctx2 = await launch(profile2, true);
  try {
    const p2 = await openPage(ctx2);
    await test('host-missing', async () => {
      const r = await inPage(p2, 'version');
      assert(!r.ok && r.code === 'EXTENSION_HOST_MISSING', `${r.code}: ${r.message}`);
    });
    const fake = path.join(WORK, 'fake-host.py');
    fs.writeFileSync(fake, `#!/usr/bin/env python3
import json, struct, sys
while True:
    n = sys.stdin.buffer.read(4)
    if len(n) < 4: sys.exit(0)
    req = json.loads(sys.stdin.buffer.read(struct.unpack('=I', n)[0]))
    out = json.dumps({"v": 2, "id": req.get("id"), "ok": True, "result": {"name": "hoviat-host", "version": "9.0.0", "protocol": 2}}).encode()
    sys.stdout.buffer.write(struct.pack('=I', len(out)) + out); sys.stdout.buffer.flush()
`, { mode: 0o755 });
    hostManifest(profile2, fake);
    await test('host-version-mismatch', async () => {
      const r = await inPage(p2, 'version');
      assert(!r.ok && r.code === 'EXTENSION_HOST_VERSION_MISMATCH', `${r.code}: ${r.message}`);
    });
  } finally {
    await ctx2.close().catch(() => {});
  }

  // No extension at all.
  const ctx3 = await launch(path.join(WORK, 'profile3'), false);
  try {
    const p3 = await openPage(ctx3);
    await test('extension-missing', async () => {
      const r = await p3.evaluate(async () => {
        try {
          await window.hoviat.ExtensionTransport.detect(700);
          return 'detected';
        } catch (e) {
          return e.code;
        }
      });
      assert(r === 'EXTENSION_MISSING', r);
    });
  } finally {
    await ctx3.close().catch(() => {});
  }
  await stopSim().catch(() => {});
}

main()
  .catch((e) => fail('harness', e && e.stack ? e.stack : e))
  .finally(async () => {
    killSim();
    console.log(`e2e: ${failureCount()} failed`);
    process.exit(failureCount() ? 1 : 0);
  });
