// The demo site's pages (bank login, government counter): Persian (RTL, default) and English.
// The card is reached through the npm package (served under /pkg/): the virtual card in demo
// mode, or real readers through the browser extension (transport 'auto').
import { connect as connectCard } from '/pkg/index.js';
import { messageFor } from '/messages.js';
import { el, api, facts as factList } from '/page.js';
// The page's fact lists, labels in its language.
const facts = (dl, rows) => factList(dl, rows, t);

const T = {
  bankTitle: ['بانک نمونه', 'Sample Bank'],
  toCounter: ['پیشخوان دولت', 'Government counter'],
  toBank: ['بانک نمونه', 'Sample Bank'],
  toRecord: ['سابقهٔ هویت مهرشده', 'Sealed identity record'],
  loginTitle: ['ورود با کارت ملی هوشمند', 'Log in with your smart national card'],
  loginIntro: ['کارت ملی را در کارت‌خوان قرار دهید و رمز آن را وارد کنید. رمز هرگز به بانک فرستاده نمی‌شود.', 'Insert your national card and enter its PIN. The PIN is never sent to the bank.'],
  loginButton: ['ورود با کارت ملی', 'Log in with national card'],
  welcome: ['خوش آمدید،', 'Welcome,'],
  nationalCode: ['کد ملی', 'National code'],
  issuer: ['صادرکننده', 'Issuer'],
  revocation: ['بررسی ابطال', 'Revocation check'],
  sessionNote: ['نشست شما با یک کوکی امن (HttpOnly) نگه داشته می‌شود.', 'Your session is kept in a secure (HttpOnly) cookie.'],
  logout: ['خروج', 'Log out'],
  toRecords: ['پیشخوان — سابقهٔ هویت', 'Counter — identity records'],
  loggedOut: ['از حساب خارج شدید.', 'You have logged out.'],
  footer: ['نمایشی با کتابخانهٔ هویت — کارت مجازی یا کارت‌خوان واقعی از طریق افزونه', 'A hoviat demo — virtual card, or real readers through the extension'],
  counterTitle: ['پیشخوان خدمات دولت', 'Government service counter'],
  counterHeading: ['خواندن و تأیید کارت ملی مراجعه‌کننده', 'Read and verify the visitor\'s national card'],
  counterIntro: ['به جای کپی کارت: گواهی کارت خوانده می‌شود، مراجعه‌کننده رمز را وارد می‌کند و کارت یک چالش تازه را امضا می‌کند.', 'Instead of a photocopy: the card\'s certificate is read, the visitor enters the PIN, and the card signs a fresh challenge.'],
  readButton: ['خواندن کارت', 'Read card'],
  cardHeading: ['کارت', 'Card'],
  holderHeading: ['دارندهٔ کارت', 'Card holder'],
  provenHeading: ['آنچه اثبات شد', 'What was proven'],
  transport: ['اتصال به کارت', 'Card connection'],
  tVirtual: ['کارت مجازی (نمایشی)', 'Virtual card (demo)'],
  tAuto: ['کارت‌خوان واقعی (افزونهٔ مرورگر)', 'Real reader (browser extension)'],
  twebserial: ['کارت‌خوان سریال یا بی‌تماس، مستقیم از مرورگر (Web Serial)', 'Serial or contactless reader, straight from the browser (Web Serial)'],
  twebusb: ['کارت‌خوان USB در برنامهٔ باجه (WebUSB)', 'USB reader in a kiosk app (WebUSB)'],
  tsmartcard: ['کارت‌خوان‌های سیستم (Web Smart Card API)', 'The system\'s readers (Web Smart Card API)'],
  holder: ['کارت مجازی', 'Virtual card'],
  pin: ['رمز کارت (PIN)', 'Card PIN'],
  pinNote: ['رمز کارت مجازی: ۱۲۳۴۵۶ (با رقم‌های فارسی یا انگلیسی)', 'The virtual card\'s PIN: 123456'],
  name: ['نام', 'Name'],
  subject: ['صاحب گواهی', 'Subject'],
  serial: ['شمارهٔ گواهی', 'Certificate serial'],
  validity: ['اعتبار تا', 'Valid until'],
  profile: ['نوع کارت', 'Card type'],
  pinState: ['وضعیت رمز', 'PIN state'],
  pinCheck: ['بررسی رمز', 'PIN check'],
  pinPassed: ['رمز درست بود (کارت پذیرفت)', 'Correct (the card accepted it)'],
  level: ['سطح اطمینان', 'Assurance'],
  chain: ['زنجیرهٔ گواهی', 'Certificate chain'],
  statement: ['بیانیه', 'Statement'],
  holderSignature: ['دارندهٔ کلید گواهی‌شده برای این شهروند، چالش تازهٔ این دفتر را امضا کرد.', 'The holder of the key certified for this citizen signed this office\'s fresh challenge.'],
  revCrl: ['بررسی شد: در فهرست ابطال جاری نیست', 'Checked: not on the current revocation list'],
  revOcsp: ['بررسی شد (OCSP)', 'Checked (OCSP)'],
  revNone: ['بررسی نشد', 'NOT checked'],
  triesLeft: ['تلاش باقی‌مانده', 'tries left'],
  verified: ['تأییدشده', 'verified'],
  blocked: ['مسدود', 'blocked'],
  unknown: ['نامعلوم', 'unknown'],
  ok: ['هویت دارندهٔ کارت تأیید شد.', 'The card holder\'s identity is verified.'],
};
const STEPS = {
  bank: ['connecting', 'challenge', 'detecting-card', 'reading-certificate', 'reading-pin-state', 'verifying-pin', 'signing', 'verifying'],
  counter: ['connecting', 'detecting-card', 'reading-certificate', 'reading-pin-state', 'challenge', 'verifying-pin', 'signing', 'verifying'],
};
const STEP_TEXT = {
  connecting: ['اتصال به کارت', 'Connecting to the card'],
  challenge: ['دریافت چالش از سرور', 'Getting a challenge from the server'],
  'detecting-card': ['یافتن کارت', 'Finding the card'],
  'reading-certificate': ['خواندن گواهی', 'Reading the certificate'],
  'reading-pin-state': ['خواندن وضعیت رمز', 'Reading the PIN state'],
  'waiting-for-pin': ['منتظر رمز', 'Waiting for the PIN'],
  'verifying-pin': ['بررسی رمز در کارت', 'Checking the PIN on the card'],
  signing: ['امضای چالش با کارت', 'The card signs the challenge'],
  verifying: ['تأیید در سرور', 'Verifying on the server'],
};
const VIRTUAL_HOLDERS = [
  [1, 'مریم — معتبر (P-256)', 'Maryam — valid (P-256)'],
  [0, 'علی — معتبر (RSA)', 'Ali — valid (RSA)'],
  [2, 'رضا — معتبر (P-384)', 'Reza — valid (P-384)'],
  [3, 'زهرا — گواهی باطل‌شده', 'Zahra — revoked certificate'],
  [4, 'حسین — گواهی منقضی', 'Hossein — expired certificate'],
  [5, 'فاطمه — هنوز معتبر نشده', 'Fatemeh — not yet valid'],
];

const params = new URLSearchParams(location.search);
let lang = params.get('lang') || localStorage.getItem('hoviat-lang') || 'fa';
if (lang !== 'en') lang = 'fa';
const page = document.body.dataset.page;
const $ = (id) => document.getElementById(id);
const t = (k) => (T[k] ? T[k][lang === 'en' ? 1 : 0] : k);
let config = { demo: true };
let lastIdentity = null;
let lastCard = null;
let currentError = null;


function applyLang() {
  document.documentElement.lang = lang;
  document.documentElement.dir = lang === 'en' ? 'ltr' : 'rtl';
  document.title = page === 'bank' ? `${t('bankTitle')} — ${t('loginTitle')}` : t('counterTitle');
  for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  $('lang-toggle').textContent = lang === 'en' ? 'فارسی' : 'English';
  renderOptions();
  renderSteps();
  if (currentError) showError(currentError);
  if (lastIdentity) (page === 'bank' ? showWelcome : showResult)(lastIdentity);
  if (lastCard) showCard(lastCard);
}

function renderOptions() {
  const box = $('card-options');
  const prev = { transport: $('transport')?.value, holder: $('holder')?.value, pin: $('pin')?.value };
  box.replaceChildren();
  box.append(el('label', { for: 'transport' }, t('transport')));
  const sel = el('select', { id: 'transport' });
  if (config.demo) sel.append(el('option', { value: 'virtual' }, t('tVirtual')));
  sel.append(el('option', { value: 'auto' }, t('tAuto')));
  // Direct transports (issue 18), offered where this browser has the API; the page asks the PIN.
  for (const [v, api] of [['webserial', 'serial'], ['webusb', 'usb'], ['smartcard', 'smartCard']]) {
    if (typeof navigator === 'object' && api in navigator) sel.append(el('option', { value: v }, t('t' + v)));
  }
  sel.value = prev.transport || params.get('transport') || (config.demo ? 'virtual' : 'auto');
  box.append(sel);
  const virt = el('div', { id: 'virtual-options' });
  virt.append(el('label', { for: 'holder' }, t('holder')));
  const hs = el('select', { id: 'holder' });
  for (const [i, fa, en] of VIRTUAL_HOLDERS) hs.append(el('option', { value: String(i) }, lang === 'en' ? en : fa));
  hs.value = prev.holder || params.get('holder') || '1';
  virt.append(hs);
  virt.append(el('label', { for: 'pin' }, t('pin')));
  const pin = el('input', { id: 'pin', type: 'password', inputmode: 'numeric', autocomplete: 'off', maxlength: '12' });
  pin.value = prev.pin || '';
  virt.append(pin);
  virt.append(el('div', { class: 'note' }, t('pinNote')));
  box.append(virt);
  const sync = () => {
    virt.classList.toggle('hidden', sel.value === 'auto');
    // Holder and the demo PIN note belong to the virtual card only.
    for (const n of [hs, hs.previousSibling, virt.lastChild]) n.classList.toggle('hidden', sel.value !== 'virtual');
  };
  sel.addEventListener('change', sync);
  sync();
}

let stepState = {};
function renderSteps() {
  const ol = $('steps');
  ol.replaceChildren();
  for (const s of STEPS[page]) {
    const li = el('li', { 'data-step': s, class: stepState[s] || '' }, STEP_TEXT[s][lang === 'en' ? 1 : 0]);
    ol.append(li);
  }
}
function status(s) {
  if (!STEPS[page].includes(s)) return;
  for (const k of Object.keys(stepState)) if (stepState[k] === 'active') stepState[k] = 'done';
  stepState[s] = 'active';
  renderSteps();
  document.body.dataset.status = s;
}
function failSteps() {
  for (const k of Object.keys(stepState)) if (stepState[k] === 'active') stepState[k] = 'failed';
  renderSteps();
}
function finishSteps() {
  for (const k of Object.keys(stepState)) if (stepState[k] === 'active') stepState[k] = 'done';
  renderSteps();
}

function showError(e) {
  currentError = e;
  const m = $('message');
  m.className = 'error';
  m.dataset.code = e.code;
  m.replaceChildren(el('span', {}, messageFor(e.code, lang)), el('span', { class: 'code', title: e.message || '' }, e.code));
}
function showOk(text) {
  currentError = null;
  const m = $('message');
  m.className = 'ok';
  m.dataset.code = 'OK';
  m.replaceChildren(el('span', {}, text));
}
function clearMessage() {
  currentError = null;
  const m = $('message');
  m.className = '';
  delete m.dataset.code;
  m.replaceChildren();
}


async function openCard() {
  const transport = $('transport').value;
  const opts = { transport, onStatus: status };
  if (transport === 'virtual') opts.virtual = { holder: Number($('holder').value) };
  // The virtual card (test equipment) is its own entry, loaded only in demo mode.
  const connect = transport === 'virtual' ? (await import('/pkg/virtual.js')).connect : connectCard;
  return { card: await connect(opts), pin: transport === 'auto' ? undefined : $('pin').value };
}

function asError(e) {
  if (e && typeof e.code === 'string') return { code: e.code, message: e.message || '' };
  return { code: 'INTERNAL_ERROR', message: String(e) };
}

function revText(r) {
  return r === 'crl' ? t('revCrl') : r === 'ocsp' ? t('revOcsp') : t('revNone');
}

function fullName(h) {
  return [h.givenName, h.surname].filter(Boolean).join(' ') || h.commonName || h.subject;
}

// ---- bank ----
function showWelcome(id) {
  lastIdentity = id;
  $('welcome').classList.remove('hidden');
  $('login-panel').classList.add('hidden');
  $('holder-name').textContent = fullName(id.holder);
  $('national-code').textContent = id.holder.nationalCode || '—';
  $('issuer').textContent = id.certificate.issuer;
  $('revocation').textContent = revText(id.assurance.revocation);
}

// The card dialogue both pages share: open the card, get a challenge, let the card answer it,
// have the server check the token at `endpoint`; `onCard` runs once the card is open.
async function cardFlow(buttonId, endpoint, onCard, onSuccess) {
  const btn = $(buttonId);
  btn.disabled = true;
  clearMessage();
  stepState = {};
  document.body.dataset.status = 'working';
  try {
    status('connecting');
    const { card, pin } = await openCard();
    await onCard(card);
    status('challenge');
    const ch = await api('/api/challenge', {});
    const { token } = await card.authenticate({ nonce: ch.nonce, pin });
    status('verifying');
    const r = await api(endpoint, { nonce: ch.nonce, token });
    finishSteps();
    onSuccess(r.identity);
  } catch (e) {
    failSteps();
    showError(asError(e));
    document.body.dataset.status = 'error';
  } finally {
    btn.disabled = false;
  }
}

function login() {
  return cardFlow('login', '/api/login', async () => {}, (identity) => {
    showWelcome(identity);
    document.body.dataset.status = 'logged-in';
  });
}

async function logout() {
  await api('/api/logout', {}).catch(() => {});
  lastIdentity = null;
  $('welcome').classList.add('hidden');
  $('login-panel').classList.remove('hidden');
  stepState = {};
  renderSteps();
  showOk(t('loggedOut'));
  document.body.dataset.status = 'logged-out';
}

// ---- counter ----
function pinText(p) {
  if (p.state === 'verified') return t('verified');
  if (p.state === 'blocked') return t('blocked');
  if (p.state === 'triesLeft') return `${p.triesLeft} ${t('triesLeft')}`;
  return t('unknown');
}
function showCard(info) {
  lastCard = info;
  $('card-panel').classList.remove('hidden');
  const c = info.certificates[0] || {};
  facts($('card-facts'), [
    ['profile', info.profile, true],
    ['subject', c.subject || '—', true],
    ['issuer', c.issuer || '—', true],
    ['serial', c.serialNumber || '—', true],
    ['validity', c.notAfter || '—', true],
    ['pinState', info.pins.map((p) => `${p.name}: ${pinText(p)}`).join('، '), false],
  ]);
}
function showResult(id) {
  lastIdentity = id;
  $('result-panel').classList.remove('hidden');
  facts($('holder-facts'), [
    ['name', fullName(id.holder), false],
    ['nationalCode', id.holder.nationalCode || '—', true],
    ['serial', id.certificate.serialNumber, true],
    ['issuer', id.certificate.issuer, true],
    ['validity', id.certificate.notAfter, true],
  ]);
  facts($('proof-facts'), [
    ['pinCheck', t('pinPassed'), false],
    ['level', id.assurance.level === 'holder-signature' ? t('holderSignature') : id.assurance.level, false],
    ['revocation', revText(id.assurance.revocation), false],
    ['chain', id.chain.join(' ← '), true],
    ['statement', id.assurance.statement, true],
  ]);
}

function readCard() {
  lastCard = null;
  lastIdentity = null;
  $('card-panel').classList.add('hidden');
  $('result-panel').classList.add('hidden');
  // Through the extension, the card's details reach a page only with the user's consent in the
  // extension's window, and one click opens one such window: the authentication (whose token
  // carries the certificate) is that window here, and the counter shows the verified identity.
  const onCard = async (card) => {
    if (card.transport !== 'extension') showCard(await card.info());
  };
  return cardFlow('read-card', '/api/counter/check', onCard, (identity) => {
    showResult(identity);
    showOk(t('ok'));
    document.body.dataset.status = 'verified';
  });
}

async function main() {
  try { config = await api('/api/config'); } catch { /* keep the defaults */ }
  $('lang-toggle').addEventListener('click', () => {
    lang = lang === 'en' ? 'fa' : 'en';
    localStorage.setItem('hoviat-lang', lang);
    applyLang();
  });
  applyLang();
  if (page === 'bank') {
    $('login').addEventListener('click', login);
    $('logout').addEventListener('click', logout);
    try { showWelcome((await api('/api/session')).identity); document.body.dataset.status = 'logged-in'; } catch { /* not logged in */ }
  } else {
    $('read-card').addEventListener('click', readCard);
  }
  document.body.dataset.ready = '1';
}
main();
