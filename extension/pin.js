// The PIN window: the only place where the PIN is typed. It talks to the service worker over a
// runtime port; the page that asked for authentication never sees this window's contents.
'use strict';
(() => {
  const key = location.hash.slice(1);
  const $ = (id) => document.getElementById(id);
  const port = chrome.runtime.connect({ name: 'hoviat-pin' });
  let finished = false;
  // Persian and Arabic-Indic digits are accepted and sent as ASCII digits.
  const toAscii = (s) => s.replace(/[\u06F0-\u06F9]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660));
  port.onMessage.addListener((m) => {
    if (!m || typeof m !== 'object') return;
    if (m.done) {
      finished = true;
      if (m.error) $('error').textContent = m.error;
      window.close();
      return;
    }
    if (typeof m.origin === 'string') $('who').textContent = `${m.origin} asks you to prove your identity.`;
    $('tries').textContent = typeof m.triesLeft === 'number' ? `${m.triesLeft} tries left before the card blocks the PIN.` : '';
    $('error').textContent = typeof m.error === 'string' && m.error ? m.error : '';
    $('pin').value = '';
    $('pin').disabled = false;
    $('ok').disabled = false;
    $('pin').focus();
  });
  port.postMessage({ hello: key });
  $('form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const pin = toAscii($('pin').value.trim());
    if (!/^[0-9]{4,16}$/.test(pin)) {
      $('error').textContent = 'The PIN is 4 to 16 digits.';
      return;
    }
    $('pin').value = '';
    $('pin').disabled = true;
    $('ok').disabled = true;
    $('error').textContent = '';
    $('tries').textContent = 'Checking with the card…';
    port.postMessage({ pin });
  });
  $('cancel').addEventListener('click', () => {
    if (!finished) port.postMessage({ cancel: true });
    window.close();
  });
})();
