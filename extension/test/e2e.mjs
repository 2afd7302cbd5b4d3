// End-to-end test of hoviat's extension and native host: headless Chromium with the real
// unpacked extension, hoviat-host registered in the profile, pcscd + vpcd + the virtual PIV card
// (started by scripts/extension-tests.sh), a page on 127.0.0.1 using extension/page-client.js.
// Prints "ok NAME" / "FAIL NAME: why"; the shell script counts them.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import {
  BIN, EXT, HOST_BIN, HOST_NAME, NETNS_PID, NONCE, ORIGIN, PAGE, PKI, TRUST, WORK,
  assert, fail, failureCount, hostPids, killSim, run, sleep, startSim, stopSim, test,
  assertNothingPersonal, assertPresenceOnly, assertSharedInfo, assertVersion, faDigits, holders, tokenOriginTests,
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
// Runs a page-client call inside the page without a user gesture (a script on its own);
// resolves { ok, value } or { ok: false, code, message }.
function inPage(page, action, arg) {
  return page.evaluate(({ action, arg }) => window.runAction(action, arg), { action, arg });
}
// Starts a page-client call from a real click in the page (the tab brought to the front first);
// opResult() collects its result.
async function clickAction(page, action, arg, { front = true } = {}) {
  await page.evaluate(({ action, arg }) => window.arm(action, arg), { action, arg });
  if (front) await page.bringToFront();
  await page.click('#go');
}
async function opResult(page, ms = 60000) {
  await page.waitForFunction(() => window.op !== null, null, { timeout: ms, polling: 100 });
  return page.evaluate(() => window.op);
}
const SHOTS = process.env.SHOTS || WORK;
const isPinPage = (p) => p.url().includes('/pin.html');
const waitWindow = (ctx, ms = 20000) => ctx.waitForEvent('page', { predicate: isPinPage, timeout: ms });
const openWindows = (ctx) => ctx.pages().filter((p) => isPinPage(p) && !p.isClosed());
const text = (pp, id) => pp.evaluate((i) => document.getElementById(i).textContent, id);
async function closeAll(ctx) {
  for (const p of openWindows(ctx)) await p.close().catch(() => {});
}
// Clicks a button that closes its own window (Playwright may report the target closed).
async function clickClosing(pp, sel) {
  await pp.click(sel, { noWaitAfter: true }).catch((e) => {
    if (!/closed/i.test(e.message)) throw e;
  });
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

    // ---- What a page learns without the user: that a card is in, nothing else.
    // (First, before any click in the page: it has no user activation yet.)
    await test('info-share-needs-user-gesture', async () => {
      const r = await inPage(page, 'info-share');
      assert(!r.ok && r.code === 'EXTENSION_NO_USER_GESTURE', `${r.code}: ${r.message}`);
      await sleep(500);
      assert(openWindows(ctx).length === 0, 'the window opened without a user gesture');
    });
    await test('info-without-confirmation-is-presence-only', async () => {
      const r = await inPage(page, 'info');
      assertPresenceOnly(r, true);
      assert(openWindows(ctx).length === 0, 'a window opened for a presence check');
      // Even from a click, info without share opens nothing and gives nothing personal.
      await clickAction(page, 'info');
      assertPresenceOnly(await opResult(page), true);
      assert(openWindows(ctx).length === 0, 'a window opened for a presence check');
      assertNothingPersonal(await page.evaluate(() => window.seen.join('\n')));
    });
    await test('info-share-confirmed-in-persian-window', async () => {
      const win = waitWindow(ctx);
      await clickAction(page, 'info-share');
      const pp = await win;
      assert(pp.url().startsWith(`chrome-extension://${EXT_ID}/pin.html`), pp.url());
      await pp.waitForFunction((o) => document.getElementById('origin').textContent === o
        && !document.getElementById('ok').disabled, ORIGIN, { timeout: 15000 });
      // Persian first, right to left; the window says who asks and what it will receive.
      const fa = await pp.evaluate(() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir, title: document.getElementById('title').textContent, list: document.getElementById('share-list').textContent, ok: document.getElementById('ok').textContent }));
      assert(fa.lang === 'fa' && fa.dir === 'rtl', JSON.stringify(fa));
      assert(fa.title.includes('اشتراک') && fa.ok === 'اجازه می‌دهم', JSON.stringify(fa));
      assert(fa.list.includes(faDigits(holders()[1].nationalCode)) && fa.list.includes(holders()[1].surname) && fa.list.includes('Virtual PCD 00 00'), fa.list);
      // Until the user allows, the page has nothing.
      assertNothingPersonal(await page.evaluate(() => window.seen.join('\n')));
      await pp.screenshot({ path: path.join(SHOTS, 'chromium-share-fa.png') });
      await pp.click('#lang');
      const en = await pp.evaluate(() => ({ lang: document.documentElement.lang, dir: document.documentElement.dir, title: document.getElementById('title').textContent, ok: document.getElementById('ok').textContent, who: document.getElementById('who').textContent, list: document.getElementById('share-list').textContent }));
      assert(en.lang === 'en' && en.dir === 'ltr' && en.title === "Share your card's details" && en.ok === 'Allow' && en.who.includes(ORIGIN), JSON.stringify(en));
      assert(en.list.includes(`National code: ${holders()[1].nationalCode}`), en.list);
      await pp.screenshot({ path: path.join(SHOTS, 'chromium-share-en.png') });
      await pp.click('#lang'); // back to Persian, remembered for the next window
      await clickClosing(pp, '#ok');
      const r = await opResult(page);
      assertSharedInfo(r);
    });
    await test('info-share-declined-gives-nothing', async () => {
      const seenBefore = await page.evaluate(() => window.seen.length);
      const win = waitWindow(ctx);
      await clickAction(page, 'info-share');
      const pp = await win;
      await pp.waitForFunction(() => !document.getElementById('ok').disabled, null, { timeout: 15000 });
      await clickClosing(pp, '#cancel');
      const r = await opResult(page);
      assert(!r.ok && r.code === 'USER_CANCELLED', `${r.code}: ${r.message}`);
      assertNothingPersonal(await page.evaluate((n) => window.seen.slice(n).join('\n'), seenBefore));
    });
    // The user declined: the page cannot re-open the window at once (a loop of windows).
    await test('cancel-then-cooldown-no-window-loop', async () => {
      await clickAction(page, 'authenticate', NONCE);
      const r = await opResult(page);
      assert(!r.ok && r.code === 'EXTENSION_COOLDOWN', `${r.code}: ${r.message}`);
      await sleep(500);
      assert(openWindows(ctx).length === 0, 'a window opened during the cooldown');
      await sleep(5000); // the first cooldown (5 s) is over
    });

    // Authentication: wrong PIN first (the window says so and asks again), then the right one.
    let token = null;
    await test('authenticate-pin-in-extension-window', async () => {
      const win = waitWindow(ctx);
      await clickAction(page, 'authenticate', NONCE);
      const pp = await win;
      assert(pp.url().startsWith(`chrome-extension://${EXT_ID}/pin.html`), pp.url());
      await pp.waitForFunction((o) => document.getElementById('origin').textContent === o
        && !document.getElementById('pin-box').hidden, ORIGIN, { timeout: 15000 });
      assert((await text(pp, 'tries')).includes(faDigits(3)), `tries: ${await text(pp, 'tries')}`);
      assert((await text(pp, 'share-list')).includes(faDigits(holders()[1].nationalCode)), 'the window does not show what is shared');
      await pp.fill('#pin', '000000');
      await pp.click('#ok');
      await pp.waitForFunction((two) => document.getElementById('tries').textContent.includes(two)
        && document.getElementById('error').textContent === 'رمز اشتباه است.', faDigits(2), { timeout: 15000 });
      await pp.waitForSelector('#pin:not([disabled])');
      await pp.screenshot({ path: path.join(SHOTS, 'chromium-pin-fa.png') });
      await pp.click('#lang');
      assert(/2 tries left/.test(await text(pp, 'tries')) && (await text(pp, 'error')) === 'Wrong PIN.', `${await text(pp, 'tries')} ${await text(pp, 'error')}`);
      await pp.screenshot({ path: path.join(SHOTS, 'chromium-pin-en.png') });
      await pp.click('#lang');
      await pp.fill('#pin', '۱۲۳۴۵۶'); // Persian digits are accepted
      await clickClosing(pp, '#ok');
      const r = await opResult(page);
      assert(r.ok, `${r.code}: ${r.message}`);
      token = r.value;
      assert(token.format === 'web-eid:1.0' && token.algorithm === 'ES256', JSON.stringify(token).slice(0, 200));
      for (const st of ['detecting-card', 'waiting-for-pin', 'verifying-pin', 'signing', 'done']) {
        assert(r.statuses.includes(st), `status ${st} missing from ${r.statuses.join(',')}`);
      }
      await pp.waitForEvent('close', { timeout: 5000 }).catch(() => {});
      assert(pp.isClosed(), 'the PIN window stayed open');
      fs.writeFileSync(path.join(WORK, 'token.json'), JSON.stringify(token));
    });
    await test('pin-never-reaches-the-page', async () => {
      const seen = await page.evaluate(() => window.seen.join('\n'));
      assert(seen.length > 0 && seen.includes('web-eid:1.0'), 'the page saw no messages at all');
      // The PINs typed were 000000 and 123456: neither may appear as a value, nor any "pin" field.
      for (const bad of ['"123456"', '"000000"', '"pin"', '۱۲۳۴۵۶']) {
        assert(!seen.includes(bad), `${bad} appeared in a message the page received`);
      }
    });
    await tokenOriginTests('', () => Boolean(token));
    // The same flow through the npm package a relying party's page uses (scripts/build-pkg).
    await test('npm-package-authenticates-through-extension', async () => {
      assert(fs.existsSync('pkg/web/index.js'), 'pkg/ is not built (scripts/build-pkg)');
      const win = waitWindow(ctx);
      await clickAction(page, 'npm-authenticate', NONCE);
      const pp = await win;
      await pp.waitForSelector('#pin:not([disabled])');
      await pp.waitForFunction(() => !document.getElementById('pin-box').hidden);
      await pp.fill('#pin', '123456');
      await clickClosing(pp, '#ok');
      const r = await opResult(page);
      assert(r.ok, `${r.code}: ${r.message}`);
      assert(r.value.transport === 'extension' && r.value.origin === ORIGIN, `${r.value.transport} ${r.value.origin}`);
      assert(r.statuses.includes('signing') && r.statuses.includes('done'), r.statuses.join(','));
      fs.writeFileSync(path.join(WORK, 'token-npm.json'), JSON.stringify(r.value.token));
      const v = await run(BIN, ['verify-token', '--token', path.join(WORK, 'token-npm.json'), '--origin', ORIGIN, '--nonce', NONCE, ...TRUST]);
      assert(v.code === 0 && JSON.parse(v.stdout).verified === true, `exit ${v.code}: ${v.stdout.slice(0, 300)}`);
      const other = await run(BIN, ['verify-token', '--token', path.join(WORK, 'token-npm.json'), '--origin', 'https://bank.example.ir', '--nonce', NONCE, ...TRUST]);
      assert(other.code === 1, `another origin accepted: ${other.stdout.slice(0, 200)}`);
    });
    // Right after a login the card is reset (its PIN no longer verified); another
    // authentication asks the holder for the PIN again.
    await test('pin-asked-at-every-authentication', async () => {
      const win = waitWindow(ctx, 10000);
      await clickAction(page, 'authenticate', NONCE);
      const pp = await win;
      await pp.waitForFunction(() => !document.getElementById('pin-box').hidden && !document.getElementById('pin').disabled);
      await pp.fill('#pin', '123456');
      await clickClosing(pp, '#ok');
      const r = await opResult(page);
      assert(r.ok && r.statuses.includes('waiting-for-pin'), `${r.code}: ${r.message} ${r.statuses}`);
    });
    await test('authenticate-needs-user-gesture', async () => {
      const r = await inPage(page, 'authenticate', NONCE);
      assert(!r.ok && r.code === 'EXTENSION_NO_USER_GESTURE', `${r.code}: ${r.message}`);
      await sleep(500);
      assert(openWindows(ctx).length === 0, 'the window opened without a user gesture');
    });
    await test('page-cannot-supply-origin', async () => {
      const r = await page.evaluate((nonce) => window.rawRequest({ hoviat: 'request', id: 'forge1', action: 'authenticate', params: { nonce, origin: 'https://bank.example.ir' } }), NONCE);
      assert(r && r.ok === false && r.error.code === 'EXTENSION_BAD_REQUEST', JSON.stringify(r));
    });
    await test('page-cannot-choose-reader', async () => {
      for (const [action, params] of [['authenticate', { nonce: NONCE, reader: 'Virtual PCD 00 00' }], ['info', { share: true, reader: 'Virtual PCD 00 00' }]]) {
        const r = await page.evaluate((m) => window.rawRequest(m), { hoviat: 'request', id: `rd-${action}`, action, params });
        assert(r && r.ok === false && r.error.code === 'EXTENSION_BAD_REQUEST' && /window/.test(r.error.message), JSON.stringify(r));
      }
    });

    // ---- Tabs: a background tab cannot start; one page cannot keep another busy.
    const page2 = await openPage(ctx);
    await test('background-tab-cannot-start', async () => {
      // The page takes a click, then waits until the user opened another tab in the same window
      // before it asks: refused (the tab is no longer the visible, active one).
      await page.evaluate((nonce) => window.arm('authenticate', nonce, 1500), NONCE);
      await page.bringToFront();
      await page.click('#go');
      const other = await sw.evaluate(async (url) => (await chrome.tabs.create({ url, active: true })).id, PAGE);
      try {
        const r = await opResult(page, 20000).catch(async (e) => {
          const d = await page.evaluate(() => ({ vis: document.visibilityState, op: window.op, pending: window.pending, statuses: window.statuses, seen: window.seen.slice(-4) }));
          throw new Error(`${e.message} ${JSON.stringify(d)} windows ${openWindows(ctx).length}`);
        });
        assert(!r.ok && r.code === 'EXTENSION_TAB_NOT_ACTIVE', `${r.code}: ${r.message}`);
        assert(openWindows(ctx).length === 0, 'a background tab opened the window');
      } finally {
        await sw.evaluate((id) => chrome.tabs.remove(id), other).catch(() => {});
        await closeAll(ctx);
      }
    });
    await test('lock-is-per-tab', async () => {
      // Tab A waits in the PIN window; tab B still learns card presence, then (the user now
      // acting there) starts its own authentication, which ends A's.
      let win = waitWindow(ctx);
      await clickAction(page, 'authenticate', NONCE);
      const wa = await win;
      await wa.waitForFunction(() => !document.getElementById('pin-box').hidden);
      // A second operation from the same tab is refused while the first runs.
      const same = await page.evaluate((nonce) => window.rawRequest({ hoviat: 'request', id: 'same-tab', action: 'info', params: { share: true } }), NONCE);
      assert(same && same.error && same.error.code === 'EXTENSION_BUSY', JSON.stringify(same));
      assertPresenceOnly(await inPage(page2, 'info'), true);
      win = waitWindow(ctx);
      await clickAction(page2, 'authenticate', NONCE);
      const ra = await opResult(page);
      assert(!ra.ok && ra.code === 'EXTENSION_CANCELLED' && /another page/.test(ra.message), `${ra.code}: ${ra.message}`);
      const wb = await win;
      await wb.waitForFunction(() => !document.getElementById('pin-box').hidden && !document.getElementById('pin').disabled);
      await wb.fill('#pin', '123456');
      await clickClosing(wb, '#ok');
      const rb = await opResult(page2);
      assert(rb.ok && rb.value.format === 'web-eid:1.0', `${rb.code}: ${rb.message}`);
      await sleep(300);
      assert(wa.isClosed(), "tab A's window stayed open");
    });
    await page2.close();
    await page.bringToFront();
    await test('pin-window-cancel', async () => {
      const win = waitWindow(ctx);
      await clickAction(page, 'authenticate', NONCE);
      const pp = await win;
      await pp.waitForSelector('#cancel');
      await pp.waitForFunction(() => !document.getElementById('pin-box').hidden);
      await clickClosing(pp, '#cancel');
      const r = await opResult(page);
      assert(!r.ok && r.code === 'USER_CANCELLED', `${r.code}: ${r.message}`);
      // Again at once: refused without a window, for longer than after the first cancel.
      await clickAction(page, 'authenticate', NONCE);
      const again = await opResult(page);
      assert(!again.ok && again.code === 'EXTENSION_COOLDOWN', `${again.code}: ${again.message}`);
      const secs = Number((/in (\d+) s/.exec(again.message) || [])[1]);
      assert(secs >= 4, `cooldown of ${secs} s after a cancel`);
      assert(openWindows(ctx).length === 0, 'a window opened during the cooldown');
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
    await sleep(10500); // the cooldown of the cancel above
    await test('no-card', async () => {
      assertPresenceOnly(await inPage(page, 'info'), false);
    });
    await test('cancel-while-waiting-for-card', async () => {
      await clickAction(page, 'info-share');
      await page.waitForFunction(() => window.statuses && window.statuses.includes('detecting-card'), null, { timeout: 3000 });
      const c = await page.evaluate(async () => (await window.hoviat.ExtensionTransport.detect(1000)).cancel());
      const r = await opResult(page);
      assert(!r.ok && r.code === 'EXTENSION_CANCELLED', `${r.code}: ${r.message}`);
      assert(Array.isArray(c.cancelled) && c.cancelled.length === 1, JSON.stringify(c));
    });
    let killed = [];
    await test('host-killed-mid-operation', async () => {
      await sleep(300);
      await clickAction(page, 'info-share');
      await page.waitForFunction(() => window.statuses && window.statuses.includes('detecting-card'), null, { timeout: 3000 });
      killed = await hostPids();
      assert(killed.length === 1, `host processes: ${killed.join(',')}`);
      process.kill(killed[0], 'SIGKILL');
      const r = await opResult(page);
      assert(!r.ok && r.code === 'EXTENSION_HOST_DISCONNECTED', `${r.code}: ${r.message}`);
    });
    await startSim();
    await test('recovers-after-host-killed', async () => {
      assertPresenceOnly(await inPage(page, 'info'), true);
      const now = await hostPids();
      assert(now.length === 1 && !killed.includes(now[0]), `host processes now ${now.join(',')}, killed ${killed.join(',')}`);
      const sws = ctx.serviceWorkers().filter((w) => w.url().includes(EXT_ID));
      assert(sws.length === 1, 'the service worker is gone');
    });
    // Two cards in two readers: the user picks one in the window (the page cannot).
    await test('reader-chosen-by-user-in-window', async () => {
      const args = [BIN, 'sim', 'card', '--pki', PKI, '--profile', 'piv', '--holder', '0', '--port', '35964'];
      const [cmd, ...rest] = NETNS_PID ? ['nsenter', '-t', NETNS_PID, '-n', ...args] : args;
      const log = fs.openSync(path.join(WORK, 'sim2.log'), 'a');
      const sim2 = spawn(cmd, rest, { stdio: ['ignore', log, log] });
      try {
        for (let i = 0; i < 80; i++) {
          const l = JSON.parse((await run(BIN, ['card', 'list'])).stdout || '{"readers":[]}');
          if (l.readers.filter((x) => x.cardPresent).length === 2) break;
          await sleep(100);
        }
        const win = waitWindow(ctx);
        await clickAction(page, 'info-share');
        const pp = await win;
        await pp.waitForFunction(() => !document.getElementById('reader-box').hidden && document.getElementById('reader').options.length === 2, null, { timeout: 15000 });
        await pp.selectOption('#reader', 'Virtual PCD 00 01');
        await pp.click('#ok');
        await pp.waitForFunction((nc) => document.getElementById('share-list').textContent.includes(nc)
          && !document.getElementById('ok').disabled, faDigits(holders()[0].nationalCode), { timeout: 15000 });
        await clickClosing(pp, '#ok');
        const r = await opResult(page);
        assertSharedInfo(r, 0, 'Virtual PCD 00 01');
      } finally {
        sim2.kill('SIGTERM');
        await sleep(500);
      }
    });
    await test('card-removed-mid-operation', async () => {
      await startSim(['--remove-after', '3']);
      await clickAction(page, 'info-share');
      const r = await opResult(page);
      assert(!r.ok && r.code === 'CARD_REMOVED', `${r.code}: ${r.message}`);
      await closeAll(ctx);
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
