// A minimal client for Firefox's Marionette protocol (the classic WebDriver commands geckodriver
// relays), enough to drive pages and the extension's own windows in a test. Marionette is used
// instead of WebDriver BiDi because Firefox's BiDi agent skips extension documents
// (moz-extension:// pages such as pin.html; Bug 1755014): BiDi sees the PIN window as an empty
// about:blank, Marionette can find, type into and read it.
//
// Wire format: "<decimal byte length>:<JSON>"; the server first sends a hello object, then each
// command [0, id, name, params] gets [1, id, error, result].
import net from 'node:net';

export class Marionette {
  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.nextId = 1;
    this.pending = new Map();
    this.waiters = [];
    this.closed = false;
    socket.on('data', (d) => this.#onData(d));
    socket.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values()) p.reject(new Error('Marionette connection closed'));
      this.pending.clear();
    });
  }

  static connect(port, host = '127.0.0.1') {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host });
      s.once('error', reject);
      const m = new Marionette(s);
      m.waiters.push((hello) => {
        s.off('error', reject);
        s.on('error', () => {});
        if (!hello || hello.marionetteProtocol !== 3) reject(new Error(`unexpected hello ${JSON.stringify(hello)}`));
        else resolve(m);
      });
    });
  }

  #onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const colon = this.buf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(this.buf.subarray(0, colon).toString('ascii'));
      if (this.buf.length < colon + 1 + len) return;
      const msg = JSON.parse(this.buf.subarray(colon + 1, colon + 1 + len).toString('utf8'));
      this.buf = this.buf.subarray(colon + 1 + len);
      if (Array.isArray(msg) && msg[0] === 1) {
        const p = this.pending.get(msg[1]);
        if (!p) continue;
        this.pending.delete(msg[1]);
        if (msg[2]) {
          const e = new Error(`${p.name}: ${msg[2].error}: ${msg[2].message}`);
          e.webdriverError = msg[2].error;
          p.reject(e);
        } else p.resolve(msg[3]);
      } else {
        const w = this.waiters.shift();
        if (w) w(msg);
      }
    }
  }

  send(name, params = {}) {
    if (this.closed) return Promise.reject(new Error('Marionette connection closed'));
    const id = this.nextId++;
    const body = Buffer.from(JSON.stringify([0, id, name, params]), 'utf8');
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, name });
      this.socket.write(`${body.length}:`);
      this.socket.write(body);
    });
  }

  // Command results are { value: ... } for most commands.
  async value(name, params) {
    const r = await this.send(name, params);
    return r && typeof r === 'object' && 'value' in r ? r.value : r;
  }

  close() {
    this.socket.destroy();
  }
}
