// What both demo pages (app.js: login and counter check; counter.js: the clerk's records) use:
// building elements, calling the server's JSON API, and a definition list of facts.

/** An element with attributes and text. */
export function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

/** GET `path`, or POST `body` as JSON; the server's `{error}` (or NETWORK) is thrown. */
export async function api(path, body) {
  let r;
  try {
    r = await fetch(path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  } catch (e) {
    throw { code: 'NETWORK', message: String(e) };
  }
  const j = await r.json().catch(() => ({}));
  if (!r.ok) throw j.error || { code: 'BAD_REQUEST', message: `HTTP ${r.status}` };
  return j;
}

/** Fills `dl` with `[labelKey, value, ltr]` rows; `t` translates the label keys. */
export function facts(dl, rows, t) {
  dl.replaceChildren();
  for (const [k, v, ltr] of rows) {
    dl.append(el('dt', {}, t(k)));
    const dd = el('dd');
    if (ltr) dd.append(el('bdi', { class: 'ltr' }, v)); else dd.textContent = v;
    dl.append(dd);
  }
}
