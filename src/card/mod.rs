//! Cards: the one async [`Transport`] trait every transport implements, the exchange that
//! handles `61xx`, `6Cxx` and command chaining once for all of them, card profiles (data plus
//! small flows) detected by ATR and by probing, and the card-level API: [`info`] and
//! [`authenticate`]. Names no transport.

mod error;
pub mod ir_nid;
pub mod pin;
pub mod piv;

use std::future::Future;

use serde::Serialize;

pub use error::{CardError, TransportError};
pub use pin::Pin;

use crate::apdu::{Command, MAX_RESPONSE, Response, StatusWord};
use crate::pki::Cert;

/// A link to one card. Native transports (PC/SC) are synchronous underneath; browser ones
/// (WebUSB, Web Serial, the extension) are not: the trait is async for both.
pub trait Transport {
    /// Sends one command APDU and returns the raw response (data || SW1 SW2).
    fn transmit(&mut self, apdu: &[u8]) -> impl Future<Output = Result<Vec<u8>, TransportError>>;
    /// The card's answer to reset.
    fn atr(&self) -> Vec<u8>;
    /// Resets the card (clears PIN state).
    fn reset(&mut self) -> impl Future<Output = Result<(), TransportError>>;
    /// Whether a card is (still) present.
    fn card_present(&mut self) -> impl Future<Output = Result<bool, TransportError>>;
}

/// What the card is doing, for progress UI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Identifying the card.
    DetectingCard,
    /// Reading the holder's certificate.
    ReadingCertificate,
    /// Reading PIN state.
    ReadingPinState,
    /// The PIN is needed.
    WaitingForPin,
    /// Verifying the PIN.
    VerifyingPin,
    /// The card is signing.
    Signing,
    /// Done.
    Done,
}

/// Counters of one card session (for benchmarks and logs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Traffic {
    /// APDUs sent.
    pub apdus: usize,
    /// Bytes sent to the card.
    pub bytes_out: usize,
    /// Bytes received.
    pub bytes_in: usize,
}

/// A card session over a transport: the single place where `61xx`, `6Cxx` and chaining are
/// handled.
pub struct Channel<'t, T: Transport> {
    t: &'t mut T,
    /// Traffic so far.
    pub traffic: Traffic,
}

impl<'t, T: Transport> Channel<'t, T> {
    /// Wraps a transport.
    pub fn new(t: &'t mut T) -> Self {
        Self {
            t,
            traffic: Traffic::default(),
        }
    }

    /// The card's ATR.
    pub fn atr(&self) -> Vec<u8> {
        self.t.atr()
    }

    async fn raw(&mut self, bytes: &[u8]) -> Result<Response, CardError> {
        self.traffic.apdus += 1;
        self.traffic.bytes_out += bytes.len();
        let r = self.t.transmit(bytes).await?;
        self.traffic.bytes_in += r.len();
        if r.len() > MAX_RESPONSE + 2 {
            return Err(CardError::MalformedResponse(format!(
                "{} bytes in one response",
                r.len()
            )));
        }
        Response::parse(&r).ok_or_else(|| CardError::MalformedResponse(format!("{} bytes: no status word", r.len())))
    }

    /// Sends a command: data over 255 bytes goes by command chaining (CLA bit 0x10); `61xx`
    /// is followed by GET RESPONSE until the card is done; `6Cxx` is retried once with the
    /// right Le. Returns the final response, whatever its status word.
    pub async fn transmit(&mut self, cmd: &Command) -> Result<Response, CardError> {
        let mut cmd = cmd.clone();
        if cmd.data.len() > 255 {
            let data = std::mem::take(&mut *cmd.data);
            let chunks: Vec<&[u8]> = data.chunks(255).collect();
            let (last, first) = chunks
                .split_last()
                .ok_or_else(|| CardError::MalformedResponse("empty".into()))?;
            for chunk in first {
                let mut part = Command::new(cmd.cla | 0x10, cmd.ins, cmd.p1, cmd.p2).data(chunk);
                part.sensitive = cmd.sensitive;
                let r = self.raw(&part.to_bytes()).await?;
                if r.sw != StatusWord::Ok {
                    return Ok(r);
                }
            }
            cmd.data = zeroize::Zeroizing::new(last.to_vec());
        }
        let mut r = self.raw(&cmd.to_bytes()).await?;
        if let StatusWord::WrongLe(x) = r.sw {
            cmd.le = Some(if x == 0 { 256 } else { usize::from(x) });
            r = self.raw(&cmd.to_bytes()).await?;
        }
        let mut data = std::mem::take(&mut *r.data);
        let mut rounds = 0;
        while let StatusWord::MoreData(x) = r.sw {
            rounds += 1;
            if data.len() > MAX_RESPONSE || rounds > 512 {
                return Err(CardError::MalformedResponse("response too long".into()));
            }
            let get = Command::new(cmd.cla & !0x10, 0xC0, 0, 0).le(if x == 0 { 256 } else { usize::from(x) });
            r = self.raw(&get.to_bytes()).await?;
            data.extend_from_slice(&r.data);
        }
        r.data = zeroize::Zeroizing::new(data);
        Ok(r)
    }

    /// Sends a command and requires `90 00`.
    pub async fn ok(&mut self, cmd: &Command, during: &'static str) -> Result<Vec<u8>, CardError> {
        let r = self.transmit(cmd).await?;
        match r.sw {
            StatusWord::Ok => Ok(r.data.to_vec()),
            sw => Err(CardError::Status { during, sw }),
        }
    }
}

/// The outcome of a PIN status query or verification, mapped from status words in one place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum PinState {
    /// Verified in this session.
    Verified,
    /// Not verified; this many tries left.
    TriesLeft {
        /// Tries left.
        #[serde(rename = "triesLeft")]
        tries_left: u8,
    },
    /// Blocked.
    Blocked,
    /// The card does not say without spending a try.
    Unknown,
}

/// Maps a VERIFY answer: `90 00` verified, `63 Cx` x tries left, `69 83` blocked.
pub fn pin_state(sw: StatusWord) -> Result<PinState, CardError> {
    match sw {
        StatusWord::Ok => Ok(PinState::Verified),
        StatusWord::TriesLeft(0) | StatusWord::Blocked => Ok(PinState::Blocked),
        StatusWord::TriesLeft(n) => Ok(PinState::TriesLeft { tries_left: n }),
        sw => Err(CardError::Status {
            during: "PIN status",
            sw,
        }),
    }
}

/// Maps a VERIFY-with-PIN answer to success or a PIN error.
pub fn verify_result(sw: StatusWord) -> Result<(), CardError> {
    match pin_state(sw)? {
        PinState::Verified => Ok(()),
        PinState::TriesLeft { tries_left } => Err(CardError::PinWrong { tries_left }),
        PinState::Blocked | PinState::Unknown => Err(CardError::PinBlocked),
    }
}

/// Card profiles hoviat knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Iran's national ID card (Gemalto MultiApp "Mav" family), PKI applet.
    IrNid,
    /// NIST SP 800-73 PIV (YubiKey and others).
    Piv,
}

/// An ATR a profile is known by: the card matches when its ATR is these bytes exactly.
#[derive(Clone, Copy, Debug)]
pub struct AtrPattern {
    /// Expected bytes.
    pub value: &'static [u8],
}

impl AtrPattern {
    /// Whether `atr` matches.
    pub fn matches(&self, atr: &[u8]) -> bool {
        atr == self.value
    }
}

/// Identifies the card: by ATR first, then by probing SELECTs (PIV, then the Iranian PKI
/// applet). A card that answers neither is `CARD_UNKNOWN`.
pub async fn detect<T: Transport>(ch: &mut Channel<'_, T>) -> Result<Profile, CardError> {
    let atr = ch.atr();
    if ir_nid::ATRS.iter().any(|p| p.matches(&atr)) {
        return Ok(Profile::IrNid);
    }
    if piv::ATRS.iter().any(|p| p.matches(&atr)) {
        return Ok(Profile::Piv);
    }
    if piv::select(ch).await.is_ok() {
        return Ok(Profile::Piv);
    }
    if ir_nid::select_pki(ch).await.is_ok() {
        return Ok(Profile::IrNid);
    }
    Err(CardError::UnknownCard {
        atr: crate::pki::cert::hex_upper(&atr),
    })
}

/// One certificate found on a card.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CardCertificate {
    /// Which slot or file (`piv-9a`, `ir-nid-auth`, `ir-nid-sign`).
    pub slot: &'static str,
    /// Subject, RFC 4514.
    pub subject: String,
    /// Issuer, RFC 4514.
    pub issuer: String,
    /// Serial number, hex.
    pub serial_number: String,
    /// notAfter.
    pub not_after: String,
    /// The certificate (base64 DER).
    pub der: String,
}

impl CardCertificate {
    fn from_der(slot: &'static str, der: &[u8]) -> Result<Self, CardError> {
        use base64::Engine;
        let c = Cert::from_der(der).map_err(|e| CardError::MalformedResponse(format!("certificate in {slot}: {e}")))?;
        Ok(Self {
            slot,
            subject: c.subject.to_string(),
            issuer: c.issuer.to_string(),
            serial_number: c.serial_hex(),
            not_after: c.not_after.to_string(),
            der: base64::engine::general_purpose::STANDARD.encode(der),
        })
    }
}

/// A PIN's state with its name.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedPin {
    /// `piv`, `id` or `sign`.
    pub name: &'static str,
    /// State.
    #[serde(flatten)]
    pub state: PinState,
    /// How the state was read, when that is not standard.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// What a card says about itself, read without spending a PIN try.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CardInfo {
    /// The profile.
    pub profile: Profile,
    /// ATR, hex.
    pub atr: String,
    /// Certificates read.
    pub certificates: Vec<CardCertificate>,
    /// PIN states.
    pub pins: Vec<NamedPin>,
    /// The card's chip serial (from the CPLC), hex, when readable.
    pub card_serial: Option<String>,
    /// The Iranian card's free chip data: CRN, issue and expiry dates, PIN flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chip: Option<ir_nid::ChipData>,
    /// What a challenge-response with this card proves without further services:
    /// `holder-signature`, or `certificate-only` (the card cannot sign without the registry).
    pub assurance: &'static str,
    /// APDUs and bytes exchanged.
    pub traffic: Traffic,
}

/// Reads everything that needs no PIN.
pub async fn info<T: Transport>(t: &mut T, on_status: &mut dyn FnMut(Status)) -> Result<CardInfo, CardError> {
    let mut ch = Channel::new(t);
    on_status(Status::DetectingCard);
    let profile = detect(&mut ch).await?;
    let mut info = match profile {
        Profile::Piv => piv::info(&mut ch, on_status).await?,
        Profile::IrNid => ir_nid::info(&mut ch, on_status).await?,
    };
    info.traffic = ch.traffic;
    on_status(Status::Done);
    Ok(info)
}

/// The result of a challenge-response.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Authentication {
    /// The `web-eid:1.0` token (JSON).
    pub token: String,
    /// APDUs and bytes exchanged.
    pub traffic: Traffic,
}

/// Runs the card's challenge-response for `origin` and `nonce` and assembles a `web-eid:1.0`
/// token. The PIN is asked for only when the card needs it (`pin` = `None` then fails with
/// `PIN_REQUIRED` after reporting [`Status::WaitingForPin`]).
pub async fn authenticate<T: Transport>(
    t: &mut T,
    origin: &str,
    nonce: &str,
    pin: Option<&Pin>,
    on_status: &mut dyn FnMut(Status),
) -> Result<Authentication, CardError> {
    let mut ch = Channel::new(t);
    on_status(Status::DetectingCard);
    let profile = detect(&mut ch).await?;
    let token = match profile {
        Profile::Piv => piv::authenticate(&mut ch, origin, nonce, pin, on_status).await?,
        Profile::IrNid => ir_nid::authenticate(&mut ch, pin, on_status).await?,
    };
    on_status(Status::Done);
    Ok(Authentication {
        token,
        traffic: ch.traffic,
    })
}

/// Runs a future to completion on the current thread (for native callers: the CLI, the host).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}
