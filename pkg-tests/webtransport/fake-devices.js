// Test equipment injected with page.addInitScript before any page script: a fake
// navigator.serial, navigator.usb and navigator.smartCard (getters redefined on
// Navigator.prototype; duck-typed objects). They carry no protocol of their own: each fake port
// or device passes bytes to a reader emulator the page gives it (the Rust emulators compiled
// into the test-kit wasm), split the way a real link splits them.
(() => {
  const state = {
    serialMissing: false,
    usbMissing: false,
    smartCardMissing: true,
    serial: { chooser: null, granted: [], requests: 0 },
    usb: { chooser: null, granted: [], requests: 0 },
    smartCard: { readers: [] },
  };
  window.__fakeDevices = state;

  // Deterministic pseudo-random splits (xorshift), so that a failure replays.
  let seed = 0x9E3779B9;
  const rnd = (n) => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return ((seed >>> 0) % n) + 1; };
  const later = (f) => setTimeout(f, 0);

  class FakeSerialPort {
    constructor(emulator, info) { this.emulator = emulator; this.info = info || {}; this.readable = null; this.writable = null; this.openedWith = null; }
    getInfo() { return this.info; }
    async open(options) {
      if (this.readable) throw new DOMException('The port is already open.', 'InvalidStateError');
      this.openedWith = options;
      let ctrl;
      this.readable = new ReadableStream({ start(c) { ctrl = c; } });
      const emu = this.emulator;
      this.writable = new WritableStream({
        write(chunk) {
          const out = emu.feed(new Uint8Array(chunk));
          // The reader's bytes arrive later, in arbitrary pieces (as a UART and the OS split them).
          later(() => {
            let i = 0;
            while (i < out.length) { const n = rnd(Math.min(out.length - i, 64)); try { ctrl.enqueue(out.slice(i, i + n)); } catch (_) { return; } i += n; }
          });
        },
      });
      this.ctrl = ctrl;
    }
    async close() { try { this.ctrl.close(); } catch (_) { /* closed */ } this.readable = null; this.writable = null; }
    addEventListener() {} removeEventListener() {}
  }
  state.SerialPort = FakeSerialPort;

  const serial = {
    async requestPort(options) {
      state.serial.requests++;
      const p = state.serial.chooser ? state.serial.chooser(options) : null;
      if (!p) throw new DOMException('No port selected by the user.', 'NotFoundError');
      return p;
    },
    async getPorts() { return state.serial.granted.slice(); },
    addEventListener() {}, removeEventListener() {},
  };

  class FakeUsbDevice {
    constructor(emulator, opts) {
      this.emulator = emulator;
      this.protectedClass = !!(opts && opts.protectedClass);
      this.vendorId = 0x08E6; this.productId = 0x3437; this.productName = 'Emulated CCID reader';
      this.configuration = null; this.opened = false; this.queue = []; this.waiters = [];
    }
    async open() { this.opened = true; }
    async close() { this.opened = false; }
    async selectConfiguration() { this.configuration = { configurationValue: 1 }; }
    async controlTransferIn(setup, length) {
      if (setup.request === 6 && setup.value === 0x0200) {
        const d = this.emulator.configDescriptor().slice(0, length);
        return { status: 'ok', data: new DataView(d.buffer, d.byteOffset, d.byteLength) };
      }
      return { status: 'stall', data: new DataView(new ArrayBuffer(0)) };
    }
    // Class requests to the interface (the CCID ABORT request): the emulator answers on bulk IN.
    async controlTransferOut(setup) {
      (this.controls = this.controls || []).push({ requestType: setup.requestType, recipient: setup.recipient, request: setup.request, value: setup.value, index: setup.index });
      if (setup.requestType !== 'class' || setup.recipient !== 'interface') return { status: 'stall', bytesWritten: 0 };
      const out = this.emulator.control(setup.request, setup.value);
      for (let i = 0; i < out.length; i += 64) this.queue.push(out.slice(i, i + 64));
      this.wake();
      return { status: 'ok', bytesWritten: 0 };
    }
    async claimInterface() {
      // Chrome's refusal for the smart-card class (0x0B) in an ordinary page.
      if (this.protectedClass) throw new DOMException("Failed to execute 'claimInterface' on 'USBDevice': The requested interface implements a protected class.", 'SecurityError');
    }
    async releaseInterface() {}
    async clearHalt() {}
    async transferOut(ep, data) {
      const out = this.emulator.feed(new Uint8Array(data));
      for (let i = 0; i < out.length; i += 64) this.queue.push(out.slice(i, i + 64));
      this.wake();
      return { status: 'ok', bytesWritten: data.byteLength };
    }
    wake() { while (this.waiters.length && this.queue.length) this.waiters.shift()(); }
    async transferIn(ep, length) {
      while (!this.queue.length) await new Promise((r) => { this.waiters.push(r); });
      const p = this.queue.shift().slice(0, length);
      return { status: 'ok', data: new DataView(p.buffer, p.byteOffset, p.byteLength) };
    }
  }
  state.UsbDevice = FakeUsbDevice;

  const usb = {
    async requestDevice(options) {
      state.usb.requests++;
      const d = state.usb.chooser ? state.usb.chooser(options) : null;
      if (!d) throw new DOMException('No device selected.', 'NotFoundError');
      return d;
    },
    async getDevices() { return state.usb.granted.slice(); },
    addEventListener() {}, removeEventListener() {},
  };

  // navigator.smartCard: readers are { name, transmit(apdu) -> Uint8Array, atr } objects the
  // page provides (an emulator behind a reader session).
  const smartCard = {
    async establishContext() {
      return {
        async listReaders() { return state.smartCard.readers.map((r) => r.name); },
        async getStatusChange(states) { return states.map((s) => ({ readerName: s.readerName, eventState: { present: true } })); },
        async connect(name) {
          const r = state.smartCard.readers.find((x) => x.name === name);
          const atr = r.power();
          return {
            activeProtocol: 't1',
            connection: {
              async status() { return { readerName: name, state: 'specific', answerToReset: atr.buffer.slice(atr.byteOffset, atr.byteOffset + atr.byteLength) }; },
              async transmit(apdu) {
                const out = r.transmit(new Uint8Array(apdu instanceof ArrayBuffer ? apdu : apdu.buffer.slice(apdu.byteOffset, apdu.byteOffset + apdu.byteLength)));
                if (out === null) { const e = new DOMException('removed-card', 'SmartCardError'); Object.defineProperty(e, 'responseCode', { value: 'removed-card' }); throw e; }
                return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength);
              },
              async disconnect() {},
            },
          };
        },
      };
    },
  };

  Object.defineProperty(Navigator.prototype, 'serial', { configurable: true, get() { return state.serialMissing ? undefined : serial; } });
  Object.defineProperty(Navigator.prototype, 'usb', { configurable: true, get() { return state.usbMissing ? undefined : usb; } });
  Object.defineProperty(Navigator.prototype, 'smartCard', { configurable: true, get() { return state.smartCardMissing ? undefined : smartCard; } });
})();
