//! Direct card transports (Web Serial, WebUSB, Web Smart Card API): the sans-I/O reader
//! sessions of `hoviat::reader` and the card dialogue of `hoviat::card`, stepped from JS so
//! that the JS adapters only move bytes. In the full module (and the test-kit one).
//!
//! - [`ReaderSession`]: a GemPC Twin serial CCID reader, a PN532 contactless bridge, or a
//!   CCID reader (TPDU or short/extended APDU level) on USB bulk endpoints. `start()` / `transmit(apdu)` give bytes to
//!   write; every read goes to `feed(bytes)`, which answers `{send}` (write these), `{done}`
//!   (the ATR or the response APDU) or `{}` (keep reading).
//! - [`CardJob`]: one card operation (`info`, `authenticate`, `verifyPin`) over any APDU link:
//!   `step(response?)` answers `{apdu}` (send it to the card, pass the response to the next
//!   step) or `{done: true, result}`; status events go to the callback as they happen.
//!
//! With the `testkit` feature, [`ReaderEmulator`]: the reader emulators (GemPC Twin, PN532,
//! USB CCID) with a virtual card inside, for the fake `navigator.serial` / `navigator.usb` of
//! the browser tests.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin as StdPin;
use std::rc::Rc;
use std::task::{Context, Poll};

use js_sys::{Function, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

use hoviat::card::{self, Status, Transport, TransportError};
use hoviat::reader::{Step, ccid, pn532, serial_ccid};
use hoviat::token::Origin;

use super::{coded, error, get, invalid, opt_string, string, to_js};

fn set(o: &Object, k: &str, v: &JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(k), v);
}

fn bytes(v: &JsValue, what: &str) -> Result<Vec<u8>, JsValue> {
    let a = v
        .dyn_ref::<Uint8Array>()
        .ok_or_else(|| invalid(&format!("{what} must be a Uint8Array")))?;
    if a.length() as usize > hoviat::reader::MAX_APDU + 16 {
        return Err(error("INPUT_TOO_LARGE", &format!("{what}: {} bytes", a.length())));
    }
    Ok(a.to_vec())
}

fn step_js(s: Step) -> JsValue {
    let o = Object::new();
    match s {
        Step::Send(b) => set(&o, "send", &Uint8Array::from(b.as_slice()).into()),
        Step::Done(b) => set(&o, "done", &Uint8Array::from(b.as_slice()).into()),
        Step::Wait => {}
    }
    o.into()
}

enum Inner {
    Ccid(serial_ccid::Session),
    Pn532(pn532::Bridge),
}

/// One reader session (sans I/O): the JS adapter writes what it is given and feeds back what
/// it reads, and applies its own time-outs.
#[wasm_bindgen]
pub struct ReaderSession {
    inner: Inner,
    usb: Option<ccid::Interface>,
}

#[wasm_bindgen]
impl ReaderSession {
    /// `kind`: `"gempc-twin"` (serial CCID, GemPC Twin framing with echo) or `"pn532"`.
    #[wasm_bindgen(constructor)]
    pub fn new(kind: JsValue) -> Result<ReaderSession, JsValue> {
        let inner = match string(&kind, "kind", 32)?.as_str() {
            "gempc-twin" => Inner::Ccid(serial_ccid::Session::new(true)),
            "pn532" => Inner::Pn532(pn532::Bridge::new()),
            _ => return Err(invalid("kind must be gempc-twin or pn532")),
        };
        Ok(Self { inner, usb: None })
    }

    /// A session with a USB CCID reader, from its raw configuration descriptor (WebUSB does
    /// not expose class descriptors). The interface, endpoints and class are getters.
    pub fn usb(config: JsValue) -> Result<ReaderSession, JsValue> {
        let config = bytes(&config, "configuration descriptor")?;
        let found = ccid::find_interfaces(&config).map_err(|e| coded(&e))?;
        let i = found
            .into_iter()
            .find(|i| i.bulk_in.is_some() && i.bulk_out.is_some())
            .ok_or_else(|| {
                error(
                    "READER_UNSUPPORTED",
                    "this USB device has no CCID interface with bulk endpoints",
                )
            })?;
        let s = serial_ccid::Session::usb(&i.descriptor).map_err(|e| coded(&e))?;
        Ok(Self {
            inner: Inner::Ccid(s),
            usb: Some(i),
        })
    }

    /// USB: `{interface, class, bulkIn, bulkOut, interruptIn, features, maxMessage}` (endpoint
    /// numbers without the direction bit, as WebUSB wants them); `undefined` for serial kinds.
    #[wasm_bindgen(getter, js_name = usbInterface)]
    pub fn usb_interface(&self) -> JsValue {
        let Some(i) = &self.usb else { return JsValue::UNDEFINED };
        let o = Object::new();
        set(&o, "interface", &i.number.into());
        set(&o, "class", &i.class.into());
        let ep = |e: Option<u8>| e.map_or(JsValue::UNDEFINED, |e| JsValue::from(e & 0x0F));
        set(&o, "bulkIn", &ep(i.bulk_in));
        set(&o, "bulkOut", &ep(i.bulk_out));
        set(&o, "interruptIn", &ep(i.interrupt_in));
        set(&o, "features", &i.descriptor.features.into());
        set(&o, "maxMessage", &i.descriptor.max_message_length.into());
        o.into()
    }

    /// The first bytes to write: IccPowerOn (CCID) or the wake-up and SAMConfiguration
    /// (PN532). The sequence ends with `{done: atr}`.
    pub fn start(&mut self) -> Result<Uint8Array, JsValue> {
        let b = match &mut self.inner {
            Inner::Ccid(s) => s.power_on(),
            Inner::Pn532(b) => b.start(),
        }
        .map_err(|e| coded(&e))?;
        Ok(Uint8Array::from(b.as_slice()))
    }

    /// The bytes that carry one command APDU; the exchange ends with `{done: response}`.
    pub fn transmit(&mut self, apdu: JsValue) -> Result<Uint8Array, JsValue> {
        let apdu = bytes(&apdu, "apdu")?;
        let b = match &mut self.inner {
            Inner::Ccid(s) => s.transmit(&apdu),
            Inner::Pn532(b) => b.transmit(&apdu),
        }
        .map_err(|e| coded(&e))?;
        Ok(Uint8Array::from(b.as_slice()))
    }

    /// After an exchange was abandoned half-way (cancelled, timed out): resynchronise with the
    /// reader instead of giving the connection up. Returns `{send}` (write it, then feed reads
    /// as usual until `{done}`) and, for USB, `control: {request, value, index}`: the CCID
    /// ABORT class request to the interface, issued before `send` (CCID: PC_to_RDR_Abort, stale
    /// answers skipped by `bSeq`, T=1 S(RESYNCH); PN532: an ACK frame, then a command that
    /// proves the chip listens). The caller's time-out applies; a failure is final.
    pub fn abort(&mut self) -> Result<JsValue, JsValue> {
        let o = Object::new();
        match &mut self.inner {
            Inner::Ccid(s) => {
                let a = s.abort().map_err(|e| coded(&e))?;
                set(&o, "send", &Uint8Array::from(a.send.as_slice()).into());
                if let (Some(value), Some(i)) = (a.control, &self.usb) {
                    let c = Object::new();
                    set(&c, "request", &ccid::ABORT_REQUEST.into());
                    set(&c, "value", &value.into());
                    set(&c, "index", &i.number.into());
                    set(&o, "control", &c.into());
                }
            }
            Inner::Pn532(b) => {
                let send = b.abort().map_err(|e| coded(&e))?;
                set(&o, "send", &Uint8Array::from(send.as_slice()).into());
            }
        }
        Ok(o.into())
    }

    /// Bytes read from the device (any split): `{send}`, `{done}` or `{}` (keep reading).
    pub fn feed(&mut self, data: JsValue) -> Result<JsValue, JsValue> {
        let data = bytes(&data, "data")?;
        let s = match &mut self.inner {
            Inner::Ccid(s) => s.feed(&data),
            Inner::Pn532(b) => b.feed(&data),
        }
        .map_err(|e| coded(&e))?;
        Ok(step_js(s))
    }

    /// The contactless target found (PN532): `{uid, atqa, sak, ats}` as hex; else `undefined`.
    #[wasm_bindgen(getter)]
    pub fn target(&self) -> JsValue {
        let Inner::Pn532(b) = &self.inner else {
            return JsValue::UNDEFINED;
        };
        let Some(t) = b.target() else { return JsValue::UNDEFINED };
        let h = hoviat::pki::cert::hex_upper;
        let o = Object::new();
        set(&o, "uid", &h(&t.uid).into());
        set(&o, "atqa", &h(&t.atqa).into());
        set(&o, "sak", &t.sak.into());
        set(&o, "ats", &h(&t.ats).into());
        o.into()
    }
}

/// The APDU link a [`CardJob`] runs over: `transmit` parks the command for JS and waits for
/// the response JS hands to the next `step`.
#[derive(Default)]
struct Link {
    atr: Vec<u8>,
    out: Option<Vec<u8>>,
    input: Option<Vec<u8>>,
}

struct JsLink(Rc<RefCell<Link>>);

impl Transport for JsLink {
    fn transmit(&mut self, apdu: &[u8]) -> impl Future<Output = Result<Vec<u8>, TransportError>> {
        let link = self.0.clone();
        let mut apdu = Some(apdu.to_vec());
        std::future::poll_fn(move |_| {
            let mut l = link.borrow_mut();
            if let Some(a) = apdu.take() {
                l.out = Some(a);
                l.input = None;
                return Poll::Pending;
            }
            match l.input.take() {
                Some(r) => Poll::Ready(Ok(r)),
                None => Poll::Pending,
            }
        })
    }
    fn atr(&self) -> Vec<u8> {
        self.0.borrow().atr.clone()
    }
    async fn reset(&mut self) -> Result<(), TransportError> {
        Err(TransportError::Io("a direct transport does not reset the card".into()))
    }
    async fn card_present(&mut self) -> Result<bool, TransportError> {
        Ok(true)
    }
}

type Job = StdPin<Box<dyn Future<Output = Result<serde_json::Value, JsValue>>>>;

/// One card operation over an APDU link that JS drives (see the module's documentation).
#[wasm_bindgen]
pub struct CardJob {
    fut: Option<Job>,
    link: Rc<RefCell<Link>>,
}

fn status_fn(f: Option<Function>) -> impl FnMut(Status) {
    move |s| {
        if let (Some(f), Ok(v)) = (&f, serde_json::to_value(s)) {
            let _ = f.call1(&JsValue::NULL, &JsValue::from_str(v.as_str().unwrap_or("")));
        }
    }
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, JsValue> {
    serde_json::to_value(v).map_err(|e| error("INTERNAL_ERROR", &e.to_string()))
}

#[wasm_bindgen]
impl CardJob {
    /// `op`: `"info"`, `"authenticate"` (`args: {origin, nonce, pin?}`) or `"verifyPin"`
    /// (`args: {kind: "piv"|"id"|"sign", pin}`); `atr`: the card's ATR (from the session).
    #[wasm_bindgen(constructor)]
    pub fn new(atr: JsValue, op: JsValue, args: JsValue, on_status: Option<Function>) -> Result<CardJob, JsValue> {
        let atr = bytes(&atr, "atr")?;
        if atr.len() > 33 {
            return Err(invalid("atr is longer than 33 bytes"));
        }
        let link = Rc::new(RefCell::new(Link { atr, ..Link::default() }));
        let mut t = JsLink(link.clone());
        let mut cb = status_fn(on_status);
        let args = if args.is_undefined() || args.is_null() {
            Object::new().into()
        } else {
            args
        };
        let pin = |args: &JsValue| -> Result<Option<card::Pin>, JsValue> {
            let p = get(args, "pin")?;
            if p.is_undefined() || p.is_null() {
                return Ok(None);
            }
            Ok(Some(card::Pin::new(&string(&p, "pin", 32)?).map_err(|e| coded(&e))?))
        };
        let fut: Job = match string(&op, "op", 16)?.as_str() {
            "info" => Box::pin(async move {
                let i = card::info(&mut t, &mut cb).await.map_err(|e| coded(&e))?;
                to_json(&i)
            }),
            "authenticate" => {
                let origin = Origin::parse(&string(&get(&args, "origin")?, "origin", 300)?).map_err(|e| coded(&e))?;
                let nonce = string(&get(&args, "nonce")?, "nonce", 300)?;
                hoviat::token::nonce::check_nonce_shape(&nonce).map_err(|e| coded(&e))?;
                let pin = pin(&args)?;
                Box::pin(async move {
                    let a = card::authenticate(&mut t, origin.as_str(), &nonce, pin.as_ref(), &mut cb)
                        .await
                        .map_err(|e| coded(&e))?;
                    let token: serde_json::Value =
                        serde_json::from_str(&a.token).map_err(|e| error("INTERNAL_ERROR", &e.to_string()))?;
                    Ok(
                        serde_json::json!({ "token": token, "origin": origin.as_str(), "traffic": to_json(&a.traffic)? }),
                    )
                })
            }
            "verifyPin" => {
                let kind = opt_string(&args, "kind", 8)?.unwrap_or_else(|| "id".into());
                let pin = pin(&args)?.ok_or_else(|| error("PIN_REQUIRED", "verifyPin needs the PIN"))?;
                Box::pin(async move {
                    let mut ch = card::Channel::new(&mut t);
                    let profile = card::detect(&mut ch).await.map_err(|e| coded(&e))?;
                    cb(Status::VerifyingPin);
                    let r = match (profile, kind.as_str()) {
                        (card::Profile::Piv, "piv") => match card::piv::select(&mut ch).await {
                            Ok(()) => card::piv::verify_pin(&mut ch, &pin).await,
                            Err(e) => Err(e),
                        },
                        (card::Profile::IrNid, "id") => {
                            card::ir_nid::verify_pin(&mut ch, card::ir_nid::PinKind::Id, &pin).await
                        }
                        (card::Profile::IrNid, "sign") => {
                            card::ir_nid::verify_pin(&mut ch, card::ir_nid::PinKind::Sign, &pin).await
                        }
                        _ => {
                            return Err(invalid(&format!(
                                "PIN kind {kind} does not exist on a {profile:?} card"
                            )));
                        }
                    };
                    r.map_err(|e| coded(&e))?;
                    cb(Status::Done);
                    Ok(serde_json::json!({ "pinVerified": true, "pinKind": kind, "traffic": to_json(&ch.traffic)? }))
                })
            }
            _ => return Err(invalid("op must be info, authenticate or verifyPin")),
        };
        Ok(Self { fut: Some(fut), link })
    }

    /// Runs the operation until it needs the card: `{apdu}` or `{done: true, result}`.
    /// `response`: the card's answer to the last `{apdu}` (omit it on the first step).
    pub fn step(&mut self, response: JsValue) -> Result<JsValue, JsValue> {
        let Some(fut) = self.fut.as_mut() else {
            return Err(error("INTERNAL_ERROR", "this card job has finished"));
        };
        if !response.is_undefined() && !response.is_null() {
            let r = bytes(&response, "response")?;
            self.link.borrow_mut().input = Some(r);
        }
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let o = Object::new();
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(r) => {
                self.fut = None;
                let v = r?;
                set(&o, "done", &JsValue::TRUE);
                set(&o, "result", &to_js(&v)?);
            }
            Poll::Pending => {
                let apdu = self
                    .link
                    .borrow_mut()
                    .out
                    .take()
                    .ok_or_else(|| error("INTERNAL_ERROR", "the card job waits for nothing"))?;
                set(&o, "apdu", &Uint8Array::from(apdu.as_slice()).into());
            }
        }
        Ok(o.into())
    }
}

#[cfg(feature = "testkit")]
mod emulator {
    use super::*;
    use hoviat_testkit::readers::Emulator;
    use hoviat_testkit::readers::gempc_twin::GemPcTwin;
    use hoviat_testkit::readers::pn532::Pn532;
    use hoviat_testkit::readers::usb_ccid::UsbCcid;
    use hoviat_testkit::virtual_card as vc;

    enum Kind {
        Twin(GemPcTwin),
        Pn532(Pn532),
        Usb(UsbCcid),
    }

    /// A reader emulator with a virtual card of the light test registry (test equipment):
    /// `kind` `"gempc-twin"`, `"pn532"`, `"usb-ccid"`, `"usb-ccid-apdu"` or `"usb-ccid-ext"`; `opts` as the VirtualCard's
    /// (`profile`, `holder`, `seed`, `at`) plus `removeAfter` (APDUs before the card leaves),
    /// `timeExtensions` (CCID), `wtx` (T=1), `usbClass` (0x0B or 0xFF), `stallAfter` (withhold
    /// the reader's answer once the card has answered more than this many APDUs, once),
    /// `lateAnswer` (send the withheld answer when it is aborted, before the confirmation),
    /// `hang` (once stalled, answer nothing more: an abort is never confirmed).
    #[wasm_bindgen]
    pub struct ReaderEmulator {
        kind: Kind,
        usb_class: u8,
        bytes_in: usize,
        bytes_out: usize,
    }

    #[wasm_bindgen]
    impl ReaderEmulator {
        #[wasm_bindgen(constructor)]
        pub fn new(kind: JsValue, opts: JsValue) -> Result<ReaderEmulator, JsValue> {
            let (opts, profile, seed) = super::super::virtual_opts(opts)?;
            let num = |k: &str, max: f64, dflt: f64| -> Result<f64, JsValue> {
                let v = get(&opts, k)?;
                if v.is_undefined() {
                    return Ok(dflt);
                }
                v.as_f64()
                    .filter(|x| (0.0..=max).contains(x) && x.fract() == 0.0)
                    .ok_or_else(|| invalid(&format!("{k} must be an integer from 0 to {max}")))
            };
            let reg = super::super::day_registry(&seed, &opts)?;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let holder = num("holder", 14.0, 1.0)? as usize;
            // `layout: "iran"`: the Iranian card's real signing-certificate layout, as VirtualCard.
            let card = if profile == "ir-nid" && super::super::opts_layout_iran(&opts)? {
                vc::for_holder_iranian_layout(&reg, holder)
            } else {
                vc::for_holder(&reg, holder, profile == "ir-nid")
            }
            .ok_or_else(|| invalid("no such holder"))?;
            let ra = get(&opts, "removeAfter")?;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let remove_after = if ra.is_undefined() {
                None
            } else {
                Some(num("removeAfter", 1e6, 0.0)? as usize)
            };
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let tx = num("timeExtensions", 8.0, 0.0)? as u8;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let wtx = match num("wtx", 255.0, 0.0)? as u8 {
                0 => None,
                w => Some(w),
            };
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let usb_class = num("usbClass", 255.0, 11.0)? as u8;
            let sa = get(&opts, "stallAfter")?;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let stall_after = if sa.is_undefined() {
                None
            } else {
                Some(num("stallAfter", 1e6, 0.0)? as usize)
            };
            let flag = |k: &str| -> Result<bool, JsValue> {
                let v = get(&opts, k)?;
                if v.is_undefined() {
                    return Ok(false);
                }
                v.as_bool().ok_or_else(|| invalid(&format!("{k} must be a boolean")))
            };
            let (late_answer, hang) = (flag("lateAnswer")?, flag("hang")?);
            let kind = match string(&kind, "kind", 16)?.as_str() {
                "gempc-twin" => {
                    let mut r = GemPcTwin::new(card);
                    r.remove_after = remove_after;
                    r.time_extensions = tx;
                    r.wtx = wtx;
                    (r.stall_after, r.late_answer, r.hang) = (stall_after, late_answer, hang);
                    Kind::Twin(r)
                }
                k @ ("usb-ccid" | "usb-ccid-apdu" | "usb-ccid-ext") => {
                    let mut r = match k {
                        "usb-ccid" => UsbCcid::new(card),
                        "usb-ccid-apdu" => UsbCcid::new_apdu_level(card),
                        // Responses in 64-byte chained blocks.
                        _ => UsbCcid::new_extended_apdu_level(card, 64),
                    };
                    r.core.remove_after = remove_after;
                    r.core.time_extensions = tx;
                    r.core.wtx = wtx;
                    (r.core.stall_after, r.core.late_answer, r.core.hang) = (stall_after, late_answer, hang);
                    Kind::Usb(r)
                }
                "pn532" => {
                    let mut r = Pn532::new(card, [0x08, 0x4A, 0x31, 0x7C]);
                    r.remove_after = remove_after;
                    (r.stall_after, r.late_answer, r.hang) = (stall_after, late_answer, hang);
                    Kind::Pn532(r)
                }
                _ => {
                    return Err(invalid(
                        "kind must be gempc-twin, pn532, usb-ccid, usb-ccid-apdu or usb-ccid-ext",
                    ));
                }
            };
            Ok(Self {
                kind,
                usb_class,
                bytes_in: 0,
                bytes_out: 0,
            })
        }

        /// Serial kinds: what the host wrote (any split) → what the reader writes back.
        /// USB: one bulk-OUT message → the bulk-IN messages, concatenated.
        pub fn feed(&mut self, data: JsValue) -> Result<Uint8Array, JsValue> {
            let data = bytes(&data, "data")?;
            self.bytes_in += data.len();
            let out = match &mut self.kind {
                Kind::Twin(r) => r.feed(&data),
                Kind::Pn532(r) => r.feed(&data),
                Kind::Usb(r) => r.transfer(&data).concat(),
            };
            self.bytes_out += out.len();
            Ok(Uint8Array::from(out.as_slice()))
        }

        /// USB: a class request to the interface (`request`, `value`: the CCID ABORT request
        /// 0x01 with `bSeq << 8 | slot`) → the bulk-IN messages it causes, concatenated.
        pub fn control(&mut self, request: u8, value: u16) -> Result<Uint8Array, JsValue> {
            let Kind::Usb(r) = &mut self.kind else {
                return Err(invalid("control transfers are for USB readers"));
            };
            let out = r.control(request, value).concat();
            self.bytes_out += out.len();
            Ok(Uint8Array::from(out.as_slice()))
        }

        /// Whether the reader is withholding an answer now (`stallAfter`).
        #[wasm_bindgen(getter)]
        pub fn stalled(&self) -> bool {
            match &self.kind {
                Kind::Twin(r) => r.stalled(),
                Kind::Pn532(r) => r.stalled(),
                Kind::Usb(r) => r.core.stalled(),
            }
        }

        /// USB: the raw configuration descriptor.
        #[wasm_bindgen(js_name = configDescriptor)]
        pub fn config_descriptor(&self) -> Uint8Array {
            let d = match &self.kind {
                // An APDU-level reader declares its level in dwFeatures.
                Kind::Usb(r) if r.core.extended_apdu.is_some() => {
                    UsbCcid::config_descriptor_with(self.usb_class, 0x0004_04BA)
                }
                Kind::Usb(r) if r.core.apdu_level => UsbCcid::config_descriptor_with(self.usb_class, 0x0002_04BA),
                _ => UsbCcid::config_descriptor(self.usb_class),
            };
            Uint8Array::from(d.as_slice())
        }

        /// `{apdus, aborts, hostBytes, readerBytes}`: APDUs the card answered, bytes each way on the link.
        pub fn traffic(&self) -> JsValue {
            let o = Object::new();
            let apdus = match &self.kind {
                Kind::Twin(r) => r.apdus(),
                Kind::Pn532(r) => r.apdus(),
                Kind::Usb(r) => r.apdus(),
            };
            let aborts = match &self.kind {
                Kind::Twin(r) => r.aborts(),
                Kind::Pn532(r) => r.aborts(),
                Kind::Usb(r) => r.core.aborts(),
            };
            #[allow(clippy::cast_precision_loss)]
            {
                set(&o, "apdus", &(apdus as f64).into());
                set(&o, "aborts", &(aborts as f64).into());
                set(&o, "hostBytes", &(self.bytes_in as f64).into());
                set(&o, "readerBytes", &(self.bytes_out as f64).into());
            }
            o.into()
        }
    }
}
