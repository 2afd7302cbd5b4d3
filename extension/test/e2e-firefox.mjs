// End-to-end test of hoviat's extension and native host in headless Firefox (firefox-esr): the
// same unpacked extension directory as the Chromium test, installed as a temporary add-on (id
// from browser_specific_settings.gecko.id), hoviat-host registered in a private HOME's
// ~/.mozilla/native-messaging-hosts/, pcscd + vpcd + the virtual PIV card and the page on
// 127.0.0.1 from scripts/extension-tests.sh. Prints "ok NAME" / "FAIL NAME: why".
//
// Firefox is driven over Marionette (./marionette.mjs), not WebDriver BiDi (puppeteer): Firefox's
// BiDi agent skips extension documents (remote/shared/BrowsingContextUtils.sys.mjs,
// isBrowsingContextCompatible: "Skip extension contexts until we support debugging
// webextensions, see Bug 1755014"), so it shows the PIN window as an empty about:blank and
// cannot type the PIN there. Marionette switches to that window like to any other, so the PIN
// is typed into the real pin.html as a user would.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Marionette } from './marionette.mjs';
import {
  EXT, HOST_BIN, HOST_NAME, NONCE, ORIGIN, PAGE, WORK,
  assert, fail, failureCount, hostPids, killSim, run, sleep, startSim, stopSim, test,
  assertNothingPersonal, assertPresenceOnly, assertSharedInfo, assertVersion, faDigits, holders, tokenOriginTests,
} from './harness.mjs';

const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
const SHOTS = process.env.SHOTS || WORK;
const GECKO_ID = 'hoviat@hoviat.ir';
// A private HOME: Firefox reads ~/.mozilla/native-messaging-hosts/ from it, and nothing of this
// run reaches the machine's real profile or manifests.
const HOME = path.join(WORK, 'home');
const HOST_LOG = path.join(WORK, 'host.log');
const MANIFEST = path.join(HOME, '.mozilla', 'native-messaging-hosts', `${HOST_NAME}.json`);
const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

function hostManifest(allowed) {
  fs.mkdirSync(path.dirname(MANIFEST), { recursive: true });
  fs.writeFileSync(MANIFEST, JSON.stringify({
    name: HOST_NAME,
    description: 'hoviat test host',
    path: HOST_BIN,
    type: 'stdio',
    allowed_extensions: allowed,
  }));
}

// Polls fn() until it returns a truthy value; throws `what` after `ms` (a deadline against
// hangs, not a speed requirement).
async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what}${last ? ` (${last.message})` : ''}`);
    await sleep(100);
  }
}

// ---- Firefox over Marionette -----------------------------------------------------------------
async function launch(name) {
  const profile = path.join(WORK, `profile-${name}`);
  fs.mkdirSync(profile, { recursive: true });
  fs.mkdirSync(HOME, { recursive: true });
  // Port 0: Firefox picks a free port and writes it to MarionetteActivePort in the profile.
  fs.writeFileSync(path.join(profile, 'user.js'), 'user_pref("marionette.port", 0);\n');
  const log = fs.openSync(path.join(WORK, `firefox-${name}.log`), 'a');
  const proc = spawn(FIREFOX, ['-marionette', '-headless', '-no-remote', '-profile', profile], {
    stdio: ['ignore', log, log],
    env: {
      ...process.env,
      HOME,
      MOZ_CRASHREPORTER_DISABLE: '1',
      HOVIAT_HOST_CARD_WAIT_SECS: '4',
      HOVIAT_HOST_LOG: HOST_LOG,
    },
  });
  const exited = new Promise((r) => proc.once('exit', r));
  try {
    const port = await until('Firefox did not open its Marionette port', () => {
      if (proc.exitCode !== null) throw new Error(`firefox exited ${proc.exitCode}`);
      try {
        return Number(fs.readFileSync(path.join(profile, 'MarionetteActivePort'), 'utf8')) || null;
      } catch (_) {
        return null;
      }
    }, 60000);
    const m = await Marionette.connect(port);
    await m.send('WebDriver:NewSession', { capabilities: { alwaysMatch: { acceptInsecureCerts: false } } });
    await m.send('WebDriver:SetTimeouts', { script: 60000, implicit: 0, pageLoad: 30000 });
    const quit = async () => {
      await m.send('Marionette:Quit', { flags: ['eAttemptQuit'] }).catch(() => {});
      m.close();
      await Promise.race([exited, sleep(10000)]);
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    };
    return { m, proc, quit };
  } catch (e) {
    proc.kill('SIGKILL');
    throw e;
  }
}

// Runs an async function (given as source) in the current window; resolves with its value.
async function evalIn(m, fnSource, ...args) {
  const r = await m.value('WebDriver:ExecuteAsyncScript', {
    script: `const done = arguments[arguments.length - 1];
      Promise.resolve().then(() => (${fnSource})(...Array.from(arguments).slice(0, -1)))
        .then((v) => done({ v }), (e) => done({ thrown: String(e && e.stack || e) }));`,
    args,
  });
  if (r && r.thrown) throw new Error(`in the page: ${r.thrown}`);
  return r ? r.v : undefined;
}

// Starts a page-client call in the page without waiting for it (authenticate waits for the PIN
// window); pageResult() collects { ok, value, statuses } or { ok: false, code, message }.
async function startInPage(m, action, arg) {
  await m.value('WebDriver:ExecuteScript', {
    script: `const [action, arg] = arguments;
      window.op = null;
      window.runAction(action, arg).then((r) => { window.op = r; });
      return true;`,
    args: [action, arg === undefined ? null : arg],
  });
}
// Starts a page-client call from a real click on the page's #go button (the extension opens
// its window only after a user gesture).
async function clickStart(m, action, arg) {
  await m.value('WebDriver:ExecuteScript', {
    script: 'const [action, arg] = arguments; window.arm(action, arg); return true;',
    args: [action, arg === undefined ? null : arg],
  });
  await m.send('WebDriver:ElementClick', { id: await find(m, '#go') });
}
const pageResult = (m, ms = 60000) => until('the page got no answer', () => m.value('WebDriver:ExecuteScript', { script: 'return window.op;', args: [] }), ms);
async function inPage(m, action, arg) {
  await startInPage(m, action, arg);
  return pageResult(m);
}

async function find(m, css) {
  const el = await m.value('WebDriver:FindElement', { using: 'css selector', value: css });
  return el[ELEMENT];
}
const textOf = async (m, css) => m.value('WebDriver:GetElementText', { id: await find(m, css) });

// Waits for the extension's PIN window and switches to it.
async function switchToPinWindow(m, mainHandle) {
  return until('no PIN window opened', async () => {
    const handles = await m.value('WebDriver:GetWindowHandles');
    for (const h of handles) {
      if (h === mainHandle) continue;
      await m.send('WebDriver:SwitchToWindow', { handle: h, focus: true });
      const url = await m.value('WebDriver:GetCurrentURL');
      if (/^moz-extension:\/\/[0-9a-f-]+\/pin\.html#[0-9a-f]{32}$/.test(url)) return h;
    }
    await m.send('WebDriver:SwitchToWindow', { handle: mainHandle });
    return null;
  });
}
async function typePin(m, pin) {
  const field = await until('the PIN field is not enabled', () => find(m, '#pin:not([disabled])'), 15000);
  await m.send('WebDriver:ElementClear', { id: field });
  await m.send('WebDriver:ElementSendKeys', { id: field, text: pin });
  await m.send('WebDriver:ElementClick', { id: await find(m, '#ok') });
}
const windowGone = (m, handle) => until('the PIN window stayed open', async () => !(await m.value('WebDriver:GetWindowHandles')).includes(handle), 10000);

async function main() {
  fs.mkdirSync(WORK, { recursive: true });
  await startSim();
  // First a manifest that allows another add-on id only: Firefox must refuse to start the host.
  hostManifest(['someone-else@example.org']);
  const ff = await launch('main');
  const { m } = ff;
  try {
    await test('firefox-extension-installed', async () => {
      const id = await m.value('Addon:Install', { path: EXT, temporary: true });
      assert(id === GECKO_ID, `installed as ${id} (the id comes from browser_specific_settings.gecko.id)`);
    });
    await m.send('WebDriver:Navigate', { url: PAGE });
    await until('the test page did not load', () => m.value('WebDriver:ExecuteScript', { script: 'return window.pageReady === true;', args: [] }));
    const mainHandle = await m.value('WebDriver:GetWindowHandle');

    await test('firefox-extension-detected', async () => {
      const v = await evalIn(m, `async () => (await window.hoviat.ExtensionTransport.detect(3000)).extensionVersion`);
      assert(v === '0.1.0', `ready version ${v}`);
    });
    await test('firefox-host-refused-for-another-gecko-id', async () => {
      const r = await inPage(m, 'version');
      assert(!r.ok && r.code === 'EXTENSION_HOST_MISSING', `${r.code}: ${r.message}`);
    });
    hostManifest([GECKO_ID]);
    await test('firefox-version-through-host', async () => {
      const r = await inPage(m, 'version');
      assertVersion(r);
    });
    await test('firefox-starts-host-with-manifest-and-addon-id', async () => {
      // Firefox passes the manifest's path and the add-on id (Chromium: the extension origin).
      const log = fs.readFileSync(HOST_LOG, 'utf8');
      assert(log.includes(`started by ${MANIFEST} ${GECKO_ID}`), `host log: ${log.slice(0, 300)}`);
    });
    // Before any click in the page (no user activation yet): the window does not open.
    await test('firefox-info-share-needs-user-gesture', async () => {
      const r = await inPage(m, 'info-share');
      assert(!r.ok && r.code === 'EXTENSION_NO_USER_GESTURE', `${r.code}: ${r.message}`);
      assert((await m.value('WebDriver:GetWindowHandles')).length === 1, 'a window opened');
    });
    await test('firefox-info-without-confirmation-is-presence-only', async () => {
      assertPresenceOnly(await inPage(m, 'info'), true);
      await clickStart(m, 'info');
      assertPresenceOnly(await pageResult(m), true);
      assertNothingPersonal(await m.value('WebDriver:ExecuteScript', { script: 'return window.seen.join("\\n");', args: [] }));
    });
    await test('firefox-info-share-confirmed-in-persian-window', async () => {
      await clickStart(m, 'info-share');
      const win = await switchToPinWindow(m, mainHandle);
      try {
        await until('the window does not name the page origin', async () => (await textOf(m, '#origin')) === ORIGIN, 10000);
        await until('the window shows no certificate', async () => (await textOf(m, '#share-list')).includes(faDigits(holders()[1].nationalCode)), 10000);
        const fa = await m.value('WebDriver:ExecuteScript', { script: 'return [document.documentElement.lang, document.documentElement.dir, document.getElementById("ok").textContent];', args: [] });
        assert(fa.join('|') === 'fa|rtl|اجازه می‌دهم', fa.join('|'));
        const shot = await m.value('WebDriver:TakeScreenshot', { full: false, hash: false });
        fs.writeFileSync(path.join(SHOTS, 'firefox-share-fa.png'), Buffer.from(shot, 'base64'));
        await m.send('WebDriver:ElementClick', { id: await find(m, '#lang') });
        assert((await textOf(m, '#ok')) === 'Allow', 'no English on the toggle');
        await m.send('WebDriver:ElementClick', { id: await find(m, '#lang') });
        await m.send('WebDriver:ElementClick', { id: await find(m, '#ok') }).catch((e) => {
          if (!/no such window|closed|discarded/i.test(e.message)) throw e;
        });
        await windowGone(m, win);
      } finally {
        await m.send('WebDriver:SwitchToWindow', { handle: mainHandle });
      }
      assertSharedInfo(await pageResult(m));
    });

    // Authentication: wrong PIN first (the window says so and asks again), then the right one,
    // both typed into the extension's PIN window.
    let token = null;
    let logBefore = 0;
    await test('firefox-authenticate-pin-in-extension-window', async () => {
      logBefore = fs.statSync(HOST_LOG).size;
      await clickStart(m, 'authenticate', NONCE);
      const pin = await switchToPinWindow(m, mainHandle);
      try {
        await until('the PIN window does not name the page origin', async () => (await textOf(m, '#origin')) === ORIGIN, 10000);
        await until('the PIN window shows no tries', async () => (await textOf(m, '#tries')).includes(faDigits(3)), 10000);
        await typePin(m, '000000');
        await until('the PIN window did not report the wrong PIN', async () => (await textOf(m, '#tries')).includes(faDigits(2))
          && (await textOf(m, '#error')) === 'رمز اشتباه است.', 15000);
        const shot = await m.value('WebDriver:TakeScreenshot', { full: false, hash: false });
        fs.writeFileSync(path.join(SHOTS, 'firefox-pin-fa.png'), Buffer.from(shot, 'base64'));
        await m.send('WebDriver:ElementClick', { id: await find(m, '#lang') });
        assert(/2 tries left/.test(await textOf(m, '#tries')) && (await textOf(m, '#error')) === 'Wrong PIN.', 'no English on the toggle');
        const shot2 = await m.value('WebDriver:TakeScreenshot', { full: false, hash: false });
        fs.writeFileSync(path.join(SHOTS, 'firefox-pin-en.png'), Buffer.from(shot2, 'base64'));
        await m.send('WebDriver:ElementClick', { id: await find(m, '#lang') });
        await typePin(m, '123456');
        await windowGone(m, pin);
      } finally {
        await m.send('WebDriver:SwitchToWindow', { handle: mainHandle });
      }
      const r = await pageResult(m);
      assert(r.ok, `${r.code}: ${r.message}`);
      token = r.value;
      assert(token.format === 'web-eid:1.0' && token.algorithm === 'ES256', JSON.stringify(token).slice(0, 200));
      for (const s of ['detecting-card', 'waiting-for-pin', 'verifying-pin', 'signing', 'done']) {
        assert(r.statuses.includes(s), `status ${s} missing from ${r.statuses.join(',')}`);
      }
      fs.writeFileSync(path.join(WORK, 'token.json'), JSON.stringify(token));
    });
    await test('firefox-wrong-pin-is-PIN_WRONG', async () => {
      // The stable code the host gave the extension for the wrong PIN (the extension shows its
      // message in the PIN window and asks again), then success for the right one.
      const log = fs.readFileSync(HOST_LOG, 'utf8').slice(logBefore);
      const results = [...log.matchAll(/ (x\d+) (PIN_WRONG|ok|[A-Z_]+)$/gm)].map((x) => x[2]);
      assert(results.join(',') === 'ok,PIN_WRONG,ok', `host results during the authentication: ${results.join(',')}`);
    });
    await test('firefox-pin-never-reaches-the-page', async () => {
      const seen = await m.value('WebDriver:ExecuteScript', { script: 'return window.seen.join("\\n");', args: [] });
      assert(seen.length > 0 && seen.includes('web-eid:1.0'), 'the page saw no messages at all');
      for (const bad of ['"123456"', '"000000"', '"pin"']) {
        assert(!seen.includes(bad), `${bad} appeared in a message the page received`);
      }
    });
    await tokenOriginTests('firefox-', () => Boolean(token));
    await test('firefox-pin-window-cancel-then-cooldown', async () => {
      await clickStart(m, 'authenticate', NONCE);
      await switchToPinWindow(m, mainHandle);
      try {
        await m.send('WebDriver:ElementClick', { id: await find(m, '#cancel') }).catch((e) => {
          if (!/no such window|closed|discarded/i.test(e.message)) throw e;
        });
      } finally {
        await m.send('WebDriver:SwitchToWindow', { handle: mainHandle });
      }
      const r = await pageResult(m);
      assert(!r.ok && r.code === 'USER_CANCELLED', `${r.code}: ${r.message}`);
      // The page cannot re-open the window at once.
      await clickStart(m, 'authenticate', NONCE);
      const again = await pageResult(m);
      assert(!again.ok && again.code === 'EXTENSION_COOLDOWN', `${again.code}: ${again.message}`);
      assert((await m.value('WebDriver:GetWindowHandles')).length === 1, 'a window opened during the cooldown');
    });
    await test('firefox-authenticate-needs-user-gesture', async () => {
      const r = await inPage(m, 'authenticate', NONCE);
      assert(!r.ok && r.code === 'EXTENSION_NO_USER_GESTURE', `${r.code}: ${r.message}`);
      assert((await m.value('WebDriver:GetWindowHandles')).length === 1, 'a window opened');
    });
    await test('firefox-page-cannot-choose-reader', async () => {
      const r = await evalIn(m, `(nonce) => window.rawRequest({ hoviat: 'request', id: 'rd1', action: 'authenticate', params: { nonce, reader: 'Virtual PCD 00 00' } })`, NONCE);
      assert(r && r.ok === false && r.error.code === 'EXTENSION_BAD_REQUEST' && /window/.test(r.error.message), JSON.stringify(r));
    });
    await test('firefox-page-cannot-supply-origin', async () => {
      const r = await evalIn(m, `(nonce) => window.rawRequest({ hoviat: 'request', id: 'forge1', action: 'authenticate', params: { nonce, origin: 'https://bank.example.ir' } })`, NONCE);
      assert(r && r.ok === false && r.error.code === 'EXTENSION_BAD_REQUEST', JSON.stringify(r));
    });
    await stopSim();
    await test('firefox-no-card', async () => {
      assertPresenceOnly(await inPage(m, 'info'), false);
    });
    await test('firefox-host-exits-when-browser-quits', async () => {
      assert((await hostPids()).length === 1, `host processes: ${(await hostPids()).join(',')}`);
      await ff.quit();
      await until('hoviat-host still runs after Firefox quit', async () => (await hostPids()).length === 0, 10000);
      const log = fs.readFileSync(HOST_LOG, 'utf8');
      assert(log.includes('the browser closed the pipe'), 'no clean exit in the host log');
      assert(!/123456|000000/.test(log), 'a PIN appears in the host log');
    });
  } finally {
    await ff.quit().catch(() => {});
  }
}

main()
  .catch((e) => fail('firefox-harness', e && e.stack ? e.stack : e))
  .finally(async () => {
    killSim();
    console.log(`e2e-firefox: ${failureCount()} failed`);
    process.exit(failureCount() ? 1 : 0);
  });
