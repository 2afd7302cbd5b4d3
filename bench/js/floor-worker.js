// A Web Worker for bench/js/browser.mjs: verifies one prepared signature with WebCrypto on its
// own thread, on request (does WebCrypto run checks from two threads in parallel?).
let job = null;
onmessage = async (e) => {
  const m = e.data;
  if (m.load) {
    const key = await crypto.subtle.importKey('spki', m.load.spki, m.load.imp, false, ['verify']);
    job = { key, ...m.load };
    postMessage({ id: m.id, ok: true });
    return;
  }
  const ok = await crypto.subtle.verify(job.params, job.key, job.signature, job.message);
  postMessage({ id: m.id, ok });
};
