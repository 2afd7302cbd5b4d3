// The extension's own window: where the user sees which site asks and what it will receive,
// picks the reader, confirms sharing, and types the PIN. It talks to the service worker over a
// runtime port; the page that asked never sees this window's contents. Persian first, English
// on the toggle (remembered in this extension's localStorage); numbers in Persian digits.
'use strict';
(() => {
  const key = location.hash.slice(1);
  const $ = (id) => document.getElementById(id);
  const T = {
    fa: {
      titleAuth: 'احراز هویت با کارت ملی هوشمند',
      titleShare: 'اشتراک اطلاعات کارت',
      whoAuth: 'این وب‌گاه می‌خواهد هویت شما را بررسی کند:',
      whoShare: 'این وب‌گاه اطلاعات کارت شما را می‌خواهد:',
      shareTitle: 'آنچه این وب‌گاه دریافت می‌کند:',
      shareAuth: 'گواهی احراز هویت شما (نام، کد ملی، شمارهٔ گواهی) و امضای کارت برای همین وب‌گاه',
      shareInfo: 'گواهی‌های کارت شما (نام، کد ملی)، شمارهٔ سریال تراشه، نام کارت‌خوان و وضعیت رمز',
      certificate: 'گواهی:',
      holderName: 'نام:',
      nationalCode: 'کد ملی:',
      cardSerial: 'سریال تراشه:',
      readerName: 'کارت‌خوان:',
      readerLabel: 'کارت‌خوان را انتخاب کنید',
      pinLabel: 'رمز کارت',
      pinHint: 'رمز فقط به کارت شما می‌رود؛ وب‌گاه آن را نمی‌بیند.',
      ok: 'ادامه',
      allow: 'اجازه می‌دهم',
      cancel: 'انصراف',
      tries: (n) => `${n} بار دیگر می‌توانید تلاش کنید؛ پس از آن رمز کارت قفل می‌شود.`,
      checking: 'در حال بررسی با کارت…',
      reading: 'در حال خواندن کارت…',
      pinFormat: 'رمز ۴ تا ۱۶ رقم است.',
      PIN_WRONG: 'رمز اشتباه است.',
      ENDED: 'این درخواست به پایان رسیده است.',
    },
    en: {
      titleAuth: 'Identify yourself with your ID card',
      titleShare: 'Share your card\'s details',
      whoAuth: 'This site asks you to prove your identity:',
      whoShare: 'This site asks for your card\'s details:',
      shareTitle: 'What this site will receive:',
      shareAuth: 'your authentication certificate (name, national code, certificate serial) and the card\'s signature for this site',
      shareInfo: 'your card\'s certificates (names, national code), the chip serial, the reader\'s name and the PIN state',
      certificate: 'Certificate:',
      holderName: 'Name:',
      nationalCode: 'National code:',
      cardSerial: 'Chip serial:',
      readerName: 'Reader:',
      readerLabel: 'Choose the card reader',
      pinLabel: 'Card PIN',
      pinHint: 'The PIN goes to your card only. The site never sees it.',
      ok: 'Continue',
      allow: 'Allow',
      cancel: 'Cancel',
      tries: (n) => `${n} tries left before the card blocks the PIN.`,
      checking: 'Checking with the card…',
      reading: 'Reading the card…',
      pinFormat: 'The PIN is 4 to 16 digits.',
      PIN_WRONG: 'Wrong PIN.',
      ENDED: 'This request has ended.',
    },
  };
  let lang = 'fa';
  try {
    if (localStorage.getItem('hoviat-lang') === 'en') lang = 'en';
  } catch (_) { /* no storage */ }
  const faDigits = (s) => String(s).replace(/[0-9]/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[Number(d)]);
  const num = (n) => (lang === 'fa' ? faDigits(n) : String(n));
  // Persian and Arabic-Indic digits are accepted and sent as ASCII digits.
  const toAscii = (s) => s.replace(/[\u06F0-\u06F9]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660));

  let state = null; // the last step the service worker asked
  let note = null; // a local message key (pinFormat, checking) shown instead of the state's error
  let busy = false;
  let finished = false;
  const port = chrome.runtime.connect({ name: 'hoviat-pin' });

  // value: shown isolated (bdi), left to right unless dir says otherwise.
  function li(label, value, dir = 'ltr') {
    const e = document.createElement('li');
    e.append(document.createTextNode(label ? `${label} ` : ''));
    if (value !== undefined) {
      const b = document.createElement('bdi');
      b.dir = dir;
      b.textContent = value;
      e.append(b);
    }
    return e;
  }

  // The holder's name (CN) and national code (the 10 digits of serialNumber) from an RFC 4514
  // subject; null when the subject has neither.
  function holderOf(subject) {
    const attrs = {};
    for (const part of String(subject).split(/,\s*(?=[A-Za-z][A-Za-z0-9.]*=)/)) {
      const i = part.indexOf('=');
      if (i > 0) attrs[part.slice(0, i).trim().toLowerCase()] = part.slice(i + 1).trim();
    }
    const code = /(?:^|[^0-9])([0-9]{10})$/.exec(attrs.serialnumber || '');
    if (!attrs.cn && !code) return null;
    return { name: attrs.cn || null, nationalCode: code ? code[1] : null };
  }

  function render() {
    const t = T[lang];
    document.documentElement.lang = lang;
    document.documentElement.dir = lang === 'fa' ? 'rtl' : 'ltr';
    $('lang').textContent = lang === 'fa' ? 'English' : 'فارسی';
    $('lang').lang = lang === 'fa' ? 'en' : 'fa';
    $('lang').dir = lang === 'fa' ? 'ltr' : 'rtl';
    const auth = !state || state.purpose !== 'share';
    document.title = `${auth ? t.titleAuth : t.titleShare} — ${lang === 'fa' ? 'هویت' : 'hoviat'}`;
    $('title').textContent = auth ? t.titleAuth : t.titleShare;
    $('who-text').textContent = auth ? t.whoAuth : t.whoShare;
    $('origin').textContent = state && typeof state.origin === 'string' ? state.origin : '';
    $('reader-label').textContent = t.readerLabel;
    $('pin-label').textContent = t.pinLabel;
    $('pin-hint').textContent = t.pinHint;
    $('cancel').textContent = t.cancel;
    const step = state ? state.step : null;
    $('ok').textContent = step === 'confirm' ? t.allow : t.ok;
    $('reader-box').hidden = step !== 'reader';
    $('pin-box').hidden = step !== 'pin';
    const share = state && state.share;
    $('share-box').hidden = !state;
    $('share-title').textContent = t.shareTitle;
    const list = $('share-list');
    list.replaceChildren(li(auth ? t.shareAuth : t.shareInfo));
    if (share) {
      for (const s of Array.isArray(share.subjects) ? share.subjects : []) {
        const h = holderOf(s);
        if (!h) {
          list.append(li(t.certificate, s));
          continue;
        }
        if (h.name) list.append(li(t.holderName, h.name, 'auto'));
        if (h.nationalCode) list.append(li(t.nationalCode, num(h.nationalCode)));
      }
      if (typeof share.cardSerial === 'string') list.append(li(t.cardSerial, share.cardSerial));
      if (typeof share.reader === 'string') list.append(li(t.readerName, share.reader));
    }
    if (step === 'reader') {
      const sel = $('reader');
      const names = Array.isArray(state.readers) ? state.readers : [];
      if (sel.options.length !== names.length) {
        sel.replaceChildren(...names.map((n) => {
          const o = document.createElement('option');
          o.value = n;
          o.textContent = n;
          return o;
        }));
      }
    }
    let tries = '';
    if (busy) tries = step === 'pin' ? t.checking : t.reading;
    else if (step === 'pin' && typeof state.triesLeft === 'number') tries = t.tries(num(state.triesLeft));
    $('tries').textContent = tries;
    const err = note || (state && typeof state.error === 'string' ? state.error : null);
    $('error').textContent = err ? (t[err] || err) : '';
    $('ok').disabled = busy || !step;
    $('pin').disabled = busy;
  }

  port.onMessage.addListener((m) => {
    if (!m || typeof m !== 'object') return;
    if (m.done) {
      finished = true;
      if (m.error) {
        note = m.error;
        render();
      }
      window.close();
      return;
    }
    state = m;
    busy = false;
    note = null;
    $('pin').value = '';
    render();
    if (m.step === 'pin') $('pin').focus();
    else $('ok').focus();
  });
  port.postMessage({ hello: key });

  $('lang').addEventListener('click', () => {
    lang = lang === 'fa' ? 'en' : 'fa';
    try { localStorage.setItem('hoviat-lang', lang); } catch (_) { /* no storage */ }
    render();
  });
  $('form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!state || busy) return;
    if (state.step === 'pin') {
      const pin = toAscii($('pin').value.trim());
      if (!/^[0-9]{4,16}$/.test(pin)) {
        note = 'pinFormat';
        render();
        return;
      }
      $('pin').value = '';
      port.postMessage({ pin });
    } else if (state.step === 'confirm') {
      port.postMessage({ confirm: true });
    } else if (state.step === 'reader') {
      port.postMessage({ reader: $('reader').value });
    } else return;
    busy = true;
    note = null;
    render();
  });
  $('cancel').addEventListener('click', () => {
    if (!finished) port.postMessage({ cancel: true });
    window.close();
  });
  render();
})();
