// The counter's sealed identity record (issues 17 and 21), for a clerk: choose the purpose,
// read the card (virtual Iranian or PIV card in the demo, real readers through the extension),
// optional ID PIN, the operator's fields; the server computes the level from what happened,
// seals the record with the terminal key and archives it. Persian by default, English on toggle.
import { connect as connectCard } from '/pkg/index.js';
import { messageFor } from '/messages.js';
import { el, api, facts as factList } from '/page.js';
// The page's fact lists, labels in its language.
const facts = (dl, rows) => factList(dl, rows, t);

const T = {
  title: ['پیشخوان — سابقهٔ هویت مهرشده', 'Counter — sealed identity record'],
  toCheck: ['بررسی کارت', 'Card check'],
  heading: ['ثبت سابقهٔ هویت به جای کپی کارت ملی', 'An identity record instead of a photocopy of the national card'],
  intro: ['کارت خوانده و بررسی می‌شود، کارمند آنچه را دیده تأیید می‌کند و پایانه فقط آنچه این خدمت لازم دارد را مهر و بایگانی می‌کند.', 'The card is read and checked, the clerk confirms what they saw, and the terminal seals and archives only what this service needs.'],
  purpose: ['خدمت', 'Service'],
  cardKind: ['کارت', 'Card'],
  kIrVirtual: ['کارت ملی ایران (مجازی، نمایشی)', 'Iranian national card (virtual, demo)'],
  kPivVirtual: ['کارت PIV (مجازی، نمایشی)', 'PIV card (virtual, demo)'],
  kAuto: ['کارت‌خوان واقعی (افزونهٔ مرورگر)', 'Real reader (browser extension)'],
  kWebserial: ['کارت‌خوان سریال یا بی‌تماس (مستقیم از مرورگر)', 'Serial or contactless reader (directly from the browser)'],
  kWebusb: ['کارت‌خوان USB (مستقیم از مرورگر)', 'USB reader (directly from the browser)'],
  kSmartcard: ['کارت‌خوان‌های سیستم (رابط کارت هوشمند مرورگر)', 'The system\'s readers (the browser\'s Smart Card API)'],
  holder: ['دارندهٔ کارت مجازی', 'Virtual card holder'],
  pin: ['رمز کارت (اختیاری)', 'Card PIN (optional)'],
  pinNote: ['رمز کارت‌های مجازی: کارت ملی (رمز شناسایی) ۱۲۳۴، کارت PIV ۱۲۳۴۵۶ (با رقم‌های فارسی یا انگلیسی)', 'Virtual cards\' PINs: Iranian card (ID PIN) 1234, PIV card 123456'],
  operatorHeading: ['کارمند', 'Clerk'],
  operatorId: ['شناسهٔ کارمند (از کارت ورود کارمند)', 'Clerk id (from the clerk\'s login card)'],
  clerkLogin: ['کارمند باید پیش از ثبت سابقه با کارت خودش وارد شود.', 'The clerk logs in with their own card before making records.'],
  clerkLoginLink: ['ورود کارمند', 'Clerk login'],
  nationalCode: ['کد ملی (از روی کارت، با رقم کنترل)', 'National code (from the card; check digit verified)'],
  ncOk: ['رقم کنترل درست است', 'check digit correct'],
  ncBad: ['کد ملی نادرست است (رقم کنترل)', 'invalid national code (check digit)'],
  faceMatch: ['چهرهٔ مراجعه‌کننده با عکس روی کارت مطابقت دارد', 'The visitor\'s face matches the photo on the card'],
  make: ['خواندن کارت و ثبت سابقه', 'Read the card and make the record'],
  levelHeading: ['سطح اطمینان', 'Assurance level'],
  attrsHeading: ['آنچه در سابقه آمده است', 'What the record discloses'],
  sealHeading: ['مهر و بایگانی', 'Seal and archive'],
  dlRecord: ['دریافت سابقه', 'Download the record'],
  dlPdf: ['نسخهٔ کاغذی (PDF)', 'Paper copy (PDF)'],
  dlHtml: ['نسخهٔ کاغذی (صفحه)', 'Paper copy (page)'],
  showDetails: ['جزئیات فنی', 'Technical details'],
  certAttached: ['پیوست سابقه است', 'attached to the record'],
  footer: ['نمایشی با کتابخانهٔ هویت — کارت مجازی یا کارت‌خوان واقعی از طریق افزونه', 'A hoviat demo — virtual card, or real readers through the extension'],
  attr: ['ویژگی', 'Attribute'],
  value: ['مقدار', 'Value'],
  source: ['منبع', 'Source'],
  sealed: ['مهرشده و تأییدشده با گواهی پایانه', 'Sealed, and verified against the institution\'s CA'],
  seal: ['مهر', 'Seal'],
  terminal: ['پایانه', 'Terminal'],
  operator: ['کارمند', 'Clerk'],
  when: ['زمان', 'Time'],
  logIndex: ['شمارهٔ ردیف در بایگانی', 'Archive log index'],
  recordId: ['شناسهٔ سابقه', 'Record id'],
  institution: ['نهاد', 'Institution'],
  missing: ['درخواست‌شده ولی در دسترس نبود', 'Requested but not available'],
  undisclosed: ['رقم‌های پنهان (ویژگی‌های افشانشده و ساختگی)', 'Hidden digests (withheld and decoys)'],
  evidence: ['شواهد', 'Evidence'],
  yes: ['بله', 'yes'],
  no: ['خیر', 'no'],
  ok: ['سابقه مهر و بایگانی شد.', 'The record is sealed and archived.'],
  pinAccepted: ['کارت رمز را پذیرفت', 'the card accepted the PIN'],
  'prov-chip-certificate': ['گواهی روی تراشه', 'chip certificate'],
  'prov-chip-file': ['پروندهٔ تراشه (بدون امضا)', 'chip file (unsigned)'],
  'prov-operator': ['واردشده یا تأییدشده توسط کارمند', 'typed or confirmed by the clerk'],
  'prov-registry': ['ثبت احوال', 'registry'],
  'lvl-certificate': ['گواهی کارت از تراشه در این پایانه خوانده و زنجیرهٔ آن معتبر شناخته شد. این فقط شاهد هویت است و ثابت نمی‌کند کارت در دست صاحب آن است.', 'The card\'s registry certificate was read from the chip at this terminal and its chain is valid. This is identity evidence only: it does not prove the card is in its holder\'s hands.'],
  'lvl-card-pin': ['افزون بر آن، تراشه رمز دارنده را در این پایانه پذیرفت (به گواهی پایانه؛ برای شخص ثالث قابل اثبات نیست).', 'In addition, the chip accepted the holder\'s PIN at this terminal (the terminal attests it; a third party cannot check it).'],
  'lvl-card-signature': ['افزون بر آن، کارت خودِ این سابقه را امضا کرد.', 'In addition, the card signed this very record.'],
  'lvl-registry-assisted': ['با کمک سامانهٔ ثبت احوال.', 'With the registry\'s help.'],
  cardSign: ['کارت خودِ این سابقه را امضا کند (دستینه، با نشست سامانهٔ ثبت احوال)', 'Have the card sign this very record (Dastine, through the registry\'s session)'],
  cardSignNote: ['کارت ملی فقط در نشست امن ثبت احوال امضا می‌کند؛ دستینه آن نشست را باز می‌کند و رمز امضا را در پنجرهٔ خودش می‌پرسد.', 'The national card signs only inside the registry\'s secure session; Dastine opens it and asks for the signing PIN in its own window.'],
  cardSignature: ['امضای کارت', 'Card signature'],
  'route-registry-assisted': ['امضای کارت بر همین سابقه، از راه نشست ثبت احوال (دستینه)، با گواهی امضای کارت بررسی شد', 'The card\'s signature over this record, made through the registry\'s session (Dastine), checked with the card\'s signing certificate'],
  eidas: ['برابر در eIDAS', 'eIDAS reading'],
  // The honest eIDAS reading of each level (hoviat::record::Level::eidas), in words.
  'eidas-certificate': ['حداکثر «پایین»، و فقط اگر کارمند خود کارت را بررسی کرده باشد', 'at most Low, and only if the clerk examined the card'],
  'eidas-card-pin': ['پایین', 'Low'],
  'eidas-card-signature': ['«قابل توجه» برای احراز هویت («بالا» هرگز ادعا نمی‌شود)', 'Substantial for authentication (High is never claimed)'],
  'eidas-registry-assisted': ['مانند امضای کارت، به‌علاوهٔ یک منبع معتبر', 'as card signature, plus an authoritative source'],
};
const STEPS = ['connecting', 'reading-certificate', 'verifying-pin', 'card-signing', 'sealing'];
const STEP_TEXT = {
  connecting: ['اتصال به کارت', 'Connecting to the card'],
  'reading-certificate': ['خواندن گواهی و پرونده‌های تراشه', 'Reading the certificate and chip files'],
  'verifying-pin': ['بررسی رمز در کارت', 'Checking the PIN on the card'],
  'card-signing': ['امضای سابقه با کارت از راه دستینه', 'The card signs the record through Dastine'],
  sealing: ['ساختن، مهر و بایگانی سابقه در پایانه', 'The terminal makes, seals and archives the record'],
};
const HOLDERS = {
  'ir-nid': [[0, 'علی (RSA)', 'Ali (RSA)'], [1, 'مریم', 'Maryam']],
  piv: [[1, 'مریم (P-256)', 'Maryam (P-256)'], [2, 'رضا (P-384)', 'Reza (P-384)'], [3, 'زهرا — گواهی باطل‌شده', 'Zahra — revoked certificate'], [4, 'حسین — گواهی منقضی', 'Hossein — expired certificate']],
};

const params = new URLSearchParams(location.search);
let lang = params.get('lang') || localStorage.getItem('hoviat-lang') || 'fa';
let config = { demo: false };
let counter = null;
let last = null;
const $ = (id) => document.getElementById(id);
const t = (k) => (T[k] ? T[k][lang === 'en' ? 1 : 0] : k);
const FA_DIGITS = '۰۱۲۳۴۵۶۷۸۹';
const digits = (s) => (lang === 'en' ? String(s) : String(s).replace(/[0-9]/g, (d) => FA_DIGITS[d]));
const toAscii = (s) => String(s).replace(/[۰-۹]/g, (d) => String(FA_DIGITS.indexOf(d))).replace(/[٠-٩]/g, (d) => String(d.charCodeAt(0) - 0x660));


// The national code's check digit (the same rule the core applies).
function nationalCodeOk(s) {
  const c = toAscii(s).trim();
  if (!/^[0-9]{10}$/.test(c)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(c[i]) * (10 - i);
  const r = sum % 11;
  return Number(c[9]) === (r < 2 ? r : 11 - r);
}

// Solar Hijri beside Gregorian, in the page's language.
function bothDates(d, withTime) {
  const o = withTime ? { dateStyle: 'long', timeStyle: 'short', timeZone: 'Asia/Tehran' } : { dateStyle: 'long', timeZone: 'UTC' };
  const sh = new Intl.DateTimeFormat(lang === 'en' ? 'en-u-ca-persian' : 'fa-IR-u-ca-persian', o).format(d);
  const gr = new Intl.DateTimeFormat(lang === 'en' ? 'en-GB' : 'fa-IR-u-ca-gregory', o).format(d);
  return `${sh} (${gr})`;
}

function attrLabel(name) {
  const a = counter && counter.attributes.find((x) => x.name === name);
  return a ? (lang === 'en' ? a.en : a.fa) : name;
}

function valueText(name, v) {
  if (typeof v === 'boolean') return t(v ? 'yes' : 'no');
  if ((name === 'card_issue_date' || name === 'card_expiry_date') && /^\d{4}-\d{2}-\d{2}$/.test(v)) return bothDates(new Date(`${v}T00:00:00Z`), false);
  // The certificate itself means nothing to the clerk: say that the record carries it.
  if (name === 'holder_certificate') return t('certAttached');
  if (name === 'national_code' || name === 'card_reference') return digits(v);
  return String(v);
}

function applyLang() {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === 'en' ? 'ltr' : 'rtl';
  document.title = t('title');
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  $('lang-toggle').textContent = lang === 'en' ? 'فارسی' : 'English';
  renderOptions();
  renderSteps(stepState);
  checkNc();
  if (last) showRecord(last);
  if (lastError) showError(lastError);
  else if (last) showOk(t('ok'));
}

function renderOptions() {
  const keep = { p: $('purpose').value, k: $('card-kind').value, h: $('holder').value };
  $('purpose').replaceChildren(...(counter ? counter.institution.purposes : []).map((p) => el('option', { value: p.id }, lang === 'en' ? p.label.en : p.label.fa)));
  if (keep.p) $('purpose').value = keep.p;
  const kinds = [];
  if (config.demo) kinds.push(['ir-nid', t('kIrVirtual')], ['piv', t('kPivVirtual')]);
  kinds.push(['auto', t('kAuto')]);
  // The direct transports, where this browser has them (the browser asks which device to use).
  if ('serial' in navigator) kinds.push(['webserial', t('kWebserial')]);
  if ('usb' in navigator) kinds.push(['webusb', t('kWebusb')]);
  if ('smartCard' in navigator) kinds.push(['smartcard', t('kSmartcard')]);
  $('card-kind').replaceChildren(...kinds.map(([v, s]) => el('option', { value: v }, s)));
  $('card-kind').value = keep.k || params.get('card') || kinds[0][0];
  syncHolders(keep.h);
}

function syncHolders(keep) {
  const k = $('card-kind').value;
  $('virtual-options').classList.toggle('hidden', !VIRTUAL_KINDS.includes(k));
  // The card's own signature needs Dastine (the site's licensed configuration) and the Iranian card.
  $('card-sign-options').classList.toggle('hidden', !(counter && counter.dastine) || k === 'piv');
  const hs = HOLDERS[k] || [];
  $('holder').replaceChildren(...hs.map(([i, fa, en]) => el('option', { value: String(i) }, lang === 'en' ? en : fa)));
  if (keep && hs.some(([i]) => String(i) === keep)) $('holder').value = keep;
}

let stepState = {};
function renderSteps(state) {
  const shown = STEPS.filter((s) => s !== 'card-signing' || state[s] || cardSignWanted());
  $('steps').replaceChildren(...shown.map((s) => el('li', { class: state[s] || '' }, STEP_TEXT[s][lang === 'en' ? 1 : 0])));
}
function step(s) {
  for (const k of Object.keys(stepState)) if (stepState[k] === 'active') stepState[k] = 'done';
  stepState[s] = 'active';
  renderSteps(stepState);
}

let lastError = null;
function showError(e) {
  lastError = e;
  const m = $('message');
  m.className = 'error';
  m.dataset.code = e.code;
  // The clerk reads the plain sentence; the code and the server's technical text (names as
  // distinguished names, ISO times, in English) stay folded for whoever supports the counter.
  const tech = el('details', { class: 'code' });
  tech.append(el('summary', {}, `${t('showDetails')}: ${e.code}`));
  if (e.message) tech.append(el('span', {}, e.message));
  m.replaceChildren(el('span', {}, messageFor(e.code, lang) || e.message), tech);
}
function showOk(text) {
  lastError = null;
  const m = $('message');
  m.className = 'ok';
  delete m.dataset.code;
  m.replaceChildren(el('span', {}, text));
}

function checkNc() {
  const v = $('national-code').value;
  $('nc-check').textContent = v === '' ? '' : nationalCodeOk(v) ? `✓ ${t('ncOk')}` : `✗ ${t('ncBad')}`;
}


const VIRTUAL_KINDS = ['ir-nid', 'piv'];

// Dastine is offered when the server passes the site's licensed configuration.
const cardSignWanted = () => !!(counter && counter.dastine && $('card-sign').checked && !$('card-sign-options').classList.contains('hidden'));

function bytesOfBase64(b64) {
  const s = atob(b64);
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

// The card signs the drafted record's digest through Dastine (the registry's session); the
// server checks the CMS against the holder certificate read from the card and seals.
async function signThroughDastine(body) {
  step('card-signing');
  const d = await api('/api/counter/record/draft', body);
  const o = { config: counter.dastine.config, retries: 2, retryDelayMs: 1000, keepAliveMs: 0 };
  if (counter.dastine.url) o.url = counter.dastine.url;
  const ds = await connectCard({ transport: 'dastine', dastine: o });
  let cms;
  try {
    await ds.authenticateByPin({});
    await ds.selectCertificate({ from: 'token' });
    cms = await ds.nidSign(bytesOfBase64(d.challenge));
  } finally {
    ds.close();
  }
  step('sealing');
  return api(`/api/counter/record/${encodeURIComponent(d.draftId)}/card-signature`, { cms });
}

// What the terminal read from the chip, as the server's card facts.
function factsOf(info, kind) {
  const certs = info.certificates || [];
  const c = certs.find((x) => x.slot === 'ir-nid-sign') || certs[0];
  const chip = info.chip || {};
  const real = !VIRTUAL_KINDS.includes(kind);
  const f = { chipType: info.profile === 'ir-nid' ? (real ? 'ir-nid' : 'virtual-ir-nid') : (real ? 'piv' : 'virtual-piv'), pin: 'not-tried' };
  if (c) f.holderCertificate = c.der;
  if (info.cardSerial && /^[0-9A-Za-z]{1,64}$/.test(info.cardSerial)) f.cardSerial = info.cardSerial;
  if (chip.cardReference) f.cardReference = chip.cardReference;
  if (chip.issueDate && chip.issueDate.gregorian) f.issueDate = chip.issueDate.gregorian;
  if (chip.expiryDate && chip.expiryDate.gregorian) f.expiryDate = chip.expiryDate.gregorian;
  return f;
}

async function makeRecord() {
  const btn = $('make-record');
  btn.disabled = true;
  last = null;
  lastError = null;
  $('record-panel').classList.add('hidden');
  $('message').className = '';
  stepState = {};
  document.body.dataset.status = 'working';
  try {
    const nc = toAscii($('national-code').value.trim());
    if (nc !== '' && !nationalCodeOk(nc)) throw { code: 'NATIONAL_CODE_INVALID', message: 'check digit' };
    const kind = $('card-kind').value;
    const pin = $('pin').value || undefined;
    step('connecting');
    const card = !VIRTUAL_KINDS.includes(kind)
      ? await connectCard({ transport: kind })
      : await (await import('/pkg/virtual.js')).connect({ transport: 'virtual', virtual: kind === 'ir-nid'
        // The Iranian card's real layout: the signing certificate names the holder (SN, G, CRN), no national code.
        ? { profile: kind, holder: Number($('holder').value), layout: 'iran' }
        : { profile: kind, holder: Number($('holder').value) } });
    step('reading-certificate');
    const info = await card.info(card.transport === 'extension' ? { share: true } : undefined);
    const facts = factsOf(info, kind);
    const body = {
      purpose: $('purpose').value,
      operator: { faceMatch: $('face-match').checked },
      card: facts,
    };
    if (nc !== '') body.operator.nationalCode = nc;
    if (info.profile === 'piv') {
      // PIV: the card signs this server's fresh challenge after its PIN (an authenticated reading).
      step('verifying-pin');
      const ch = await api('/api/challenge', {});
      const { token } = await card.authenticate({ nonce: ch.nonce, pin });
      body.nonce = ch.nonce;
      body.token = token;
    } else if (pin !== undefined) {
      // The Iranian card signs only inside a registry session: without one, authenticate verifies
      // the ID PIN on the chip and then refuses with CARD_NEEDS_REGISTRY_SERVICE. That refusal
      // after the PIN step is the chip's "PIN accepted"; a wrong PIN is PIN_INCORRECT before it.
      step('verifying-pin');
      const ch = await api('/api/challenge', {});
      try {
        await card.authenticate({ nonce: ch.nonce, pin });
        throw { code: 'INTERNAL_ERROR', message: 'the Iranian card signed without a registry session' };
      } catch (e) {
        if (!e || e.code !== 'CARD_NEEDS_REGISTRY_SERVICE') throw e;
      }
      facts.pin = 'accepted';
    }
    let r;
    if (cardSignWanted()) {
      r = await signThroughDastine(body);
    } else {
      step('sealing');
      r = await api('/api/counter/record', body);
    }
    for (const k of STEPS) if (stepState[k]) stepState[k] = 'done';
    renderSteps(stepState);
    last = r;
    showRecord(r);
    showOk(t('ok'));
    document.body.dataset.status = 'sealed';
    document.body.dataset.level = r.level;
  } catch (e0) {
    const e = e0 && typeof e0.code === 'string' ? { code: e0.code, message: e0.message || '' } : { code: 'INTERNAL_ERROR', message: String(e0) };
    for (const k of Object.keys(stepState)) if (stepState[k] === 'active') stepState[k] = 'failed';
    renderSteps(stepState);
    showError(e);
    document.body.dataset.status = 'error';
  } finally {
    btn.disabled = false;
  }
}


function showRecord(r) {
  const v = r.verified;
  $('record-panel').classList.remove('hidden');
  $('level-text').textContent = lang === 'en' ? r.levelText.en : r.levelText.fa;
  const eidas = `eidas-${r.level}`;
  $('level-explain').textContent = `${t(`lvl-${r.level}`)} ${t('eidas')}: ${T[eidas] ? t(eidas) : r.eidas}`;
  const rows = [el('tr', {}, '')];
  rows[0].append(el('th', {}, t('attr')), el('th', {}, t('value')), el('th', {}, t('source')));
  for (const a of v.attributes) {
    const tr = el('tr', { 'data-attr': a.name });
    const val = el('td');
    const text = valueText(a.name, a.value);
    val.append(el('bdi', a.name === 'holder_certificate' ? { title: `${String(a.value).slice(0, 24)}…` } : {}, text));
    tr.append(el('th', {}, attrLabel(a.name)), val, el('td', {}, ''));
    tr.lastChild.append(el('span', { class: `prov ${a.provenance}` }, t(`prov-${a.provenance}`)));
    rows.push(tr);
  }
  $('attrs').replaceChildren(...rows);
  const inst = counter ? (lang === 'en' ? counter.institution.name.en : counter.institution.name.fa) : v.institution;
  const sealRows = [
    ['seal', `✓ ${t('sealed')}`, false],
    ['institution', inst, false],
    ['when', bothDates(new Date(r.iat * 1000), true), false],
    ['operator', v.operator, true],
    ['logIndex', digits(r.index), false],
  ];
  if (r.missing.length) sealRows.push(['missing', r.missing.map(attrLabel).join('، '), false]);
  if (v.cardSignatureRoute) sealRows.push(['cardSignature', `✓ ${t(`route-${v.cardSignatureRoute}`)}`, false]);
  facts($('seal-facts'), sealRows);
  const ev = v.evidence || {};
  facts($('detail-facts'), [
    ['recordId', r.recordId, true],
    ['terminal', `${v.terminal} — ${v.terminalCertificate}`, true],
    ['undisclosed', digits(v.undisclosed), false],
    ['evidence', JSON.stringify({ pin: ev.pin, card: ev.card, revocation: ev.revocation }), true],
  ]);
  $('raw-record').textContent = r.record;
  $('dl-record').href = URL.createObjectURL(new Blob([r.record], { type: 'application/dc+sd-jwt' }));
  $('dl-record').download = `record-${r.index}.sd-jwt`;
  $('dl-pdf').href = r.links.pdf[lang === 'en' ? 'en' : 'fa'];
  $('dl-html').href = r.links.html[lang === 'en' ? 'en' : 'fa'];
}

async function main() {
  try { config = await api('/api/config'); } catch { /* defaults */ }
  try { counter = await api('/api/counter/config'); } catch (e) { showError(e); }
  $('lang-toggle').addEventListener('click', () => {
    lang = lang === 'en' ? 'fa' : 'en';
    localStorage.setItem('hoviat-lang', lang);
    applyLang();
  });
  // Records are made by a logged-in clerk; the server names them in each record.
  $('operator-id').textContent = counter && counter.clerk ? counter.clerk : '—';
  $('clerk-login').classList.toggle('hidden', !!(counter && counter.clerk));
  $('card-kind').addEventListener('change', () => syncHolders());
  $('card-sign').addEventListener('change', () => renderSteps(stepState));
  $('national-code').addEventListener('input', checkNc);
  $('details-toggle').addEventListener('click', () => $('details').classList.toggle('hidden'));
  $('make-record').addEventListener('click', makeRecord);
  applyLang();
  document.body.dataset.ready = '1';
}
main();
