//! PC/SC transport. A worker thread owns the context and the card handle, so every call has
//! a deadline: a reader or card that stops answering gives `CARD_TIMEOUT`, never a hang.
//!
//! A connection is one PC/SC transaction from connect to close (`SCardBeginTransaction` ..
//! `SCardEndTransaction`): no other program's APDU can come between this session's PIN VERIFY
//! and the signature that follows it. When the session sent a VERIFY with a PIN (ISO 7816 INS
//! `20`/`21` with data), closing it resets the card (`SCARD_RESET_CARD`), so the card is left
//! unverified for every other local program; other sessions leave the card as it is. Command
//! bytes pass through zeroized buffers.

use std::ffi::CString;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use serde::Serialize;
use zeroize::Zeroizing;

use hoviat::card::{Transport, TransportError};

/// Deadline of one APDU exchange.
pub const APDU_TIMEOUT: Duration = Duration::from_secs(30);

fn map_err(e: pcsc::Error) -> TransportError {
    use pcsc::Error as E;
    match e {
        E::NoService | E::ServiceStopped | E::NoAccess => TransportError::ServiceUnavailable(e.to_string()),
        E::NoReadersAvailable => TransportError::NoReader,
        E::UnknownReader | E::ReaderUnavailable => TransportError::ReaderNotFound(e.to_string()),
        E::NoSmartcard => TransportError::NoCard,
        E::RemovedCard | E::ResetCard | E::UnpoweredCard | E::UnresponsiveCard => TransportError::CardRemoved,
        E::Timeout => TransportError::Timeout,
        other => TransportError::Io(other.to_string()),
    }
}

/// A reader as the service reports it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReaderInfo {
    /// Reader name.
    pub name: String,
    /// Whether a card is in it.
    pub card_present: bool,
    /// The card's ATR, hex, when present.
    pub atr: Option<String>,
}

fn context() -> Result<pcsc::Context, TransportError> {
    pcsc::Context::establish(pcsc::Scope::User).map_err(map_err)
}

fn reader_names(ctx: &pcsc::Context) -> Result<Vec<CString>, TransportError> {
    let len = ctx.list_readers_len().map_err(map_err)?;
    let mut buf = vec![0u8; len.min(64 * 1024)];
    let names = ctx.list_readers(&mut buf).map_err(map_err)?;
    Ok(names.map(CString::from).collect())
}

/// The current state of each named reader (no waiting).
fn reader_states(ctx: &pcsc::Context, names: &[CString]) -> Result<Vec<pcsc::ReaderState>, TransportError> {
    let mut states: Vec<pcsc::ReaderState> = names
        .iter()
        .map(|n| pcsc::ReaderState::new(n.clone(), pcsc::State::UNAWARE))
        .collect();
    ctx.get_status_change(Duration::from_millis(0), &mut states)
        .map_err(map_err)?;
    Ok(states)
}

/// Lists readers and whether each holds a card.
pub fn list_readers() -> Result<Vec<ReaderInfo>, TransportError> {
    let ctx = context()?;
    let names = match reader_names(&ctx) {
        Err(TransportError::NoReader) => return Ok(Vec::new()),
        other => other?,
    };
    Ok(reader_states(&ctx, &names)?
        .iter()
        .map(|s| {
            let present = s.event_state().contains(pcsc::State::PRESENT);
            ReaderInfo {
                name: s.name().to_string_lossy().into_owned(),
                card_present: present,
                atr: present.then(|| hoviat::pki::cert::hex_upper(s.atr())),
            }
        })
        .collect())
}

enum Job {
    Transmit(Zeroizing<Vec<u8>>),
    Reset,
    Present,
    /// Ends the transaction and disconnects, resetting the card when a PIN was verified.
    Close,
}

/// Whether a command APDU presents a PIN: VERIFY (`20`, or `21` with a BER-TLV body) with data,
/// whatever the class byte (a proprietary command with these INS codes costs only a reset). A
/// bare `00 20 00 80` (no Lc) only asks the PIN state.
pub fn presents_pin(apdu: &[u8]) -> bool {
    apdu.len() > 5 && matches!(apdu[1], 0x20 | 0x21)
}

/// Deadline of closing a session (ending the transaction, resetting, disconnecting).
const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A connected card.
pub struct PcscTransport {
    jobs: Sender<Job>,
    answers: Receiver<Result<Vec<u8>, TransportError>>,
    atr: Vec<u8>,
    /// The reader's name.
    pub reader: String,
    timeout: Duration,
}

impl PcscTransport {
    /// Connects to the card in `reader`, or in the first reader that has a card.
    pub fn connect(reader: Option<&str>) -> Result<Self, TransportError> {
        let (setup_tx, setup_rx) = channel::<Result<(Vec<u8>, String), TransportError>>();
        let (jobs, job_rx) = channel::<Job>();
        let (ans_tx, answers) = channel();
        let wanted = reader.map(str::to_string);
        std::thread::Builder::new()
            .name("hoviat-pcsc".into())
            .spawn(move || {
                let connected = (|| {
                    let ctx = context()?;
                    let names = reader_names(&ctx)?;
                    let name = match &wanted {
                        Some(w) => names
                            .into_iter()
                            .find(|n| n.to_string_lossy() == *w)
                            .ok_or_else(|| TransportError::ReaderNotFound(w.clone()))?,
                        None => reader_states(&ctx, &names)?
                            .iter()
                            .find(|s| s.event_state().contains(pcsc::State::PRESENT))
                            .map(|s| CString::from(s.name()))
                            .ok_or(TransportError::NoCard)?,
                    };
                    let card = ctx
                        .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
                        .map_err(map_err)?;
                    let status = card.status2_owned().map_err(map_err)?;
                    Ok((ctx, card, status.atr().to_vec(), name.to_string_lossy().into_owned()))
                })();
                let (_ctx, mut card) = match connected {
                    Ok((ctx, card, atr, name)) => {
                        let _ = setup_tx.send(Ok((atr, name)));
                        (ctx, card)
                    }
                    Err(e) => {
                        let _ = setup_tx.send(Err(e));
                        return;
                    }
                };
                let mut buf = Zeroizing::new(vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED]);
                let mut pin_presented = false;
                let mut closing = false;
                // One transaction at a time, renewed only around a reset.
                'session: loop {
                    let tx = match card.transaction() {
                        Ok(tx) => tx,
                        Err(e) => {
                            let e = map_err(e);
                            // Answer every job with the failure until the caller closes.
                            while let Ok(job) = job_rx.recv() {
                                let close = matches!(job, Job::Close);
                                if ans_tx.send(if close { Ok(vec![]) } else { Err(e.clone()) }).is_err() || close {
                                    break;
                                }
                            }
                            break 'session;
                        }
                    };
                    let c: &pcsc::Card = &tx;
                    let mut reset = false;
                    while let Ok(job) = job_rx.recv() {
                        let r = match job {
                            Job::Transmit(apdu) => {
                                pin_presented |= presents_pin(&apdu);
                                transmit(c, &apdu, &mut buf)
                            }
                            Job::Reset => {
                                reset = true;
                                break;
                            }
                            Job::Present => match c.status2_owned() {
                                Ok(s) => Ok(vec![u8::from(s.status().contains(pcsc::Status::PRESENT))]),
                                Err(pcsc::Error::RemovedCard | pcsc::Error::NoSmartcard) => Ok(vec![0]),
                                Err(e) => Err(map_err(e)),
                            },
                            Job::Close => {
                                closing = true;
                                break;
                            }
                        };
                        if ans_tx.send(r).is_err() {
                            break;
                        }
                    }
                    let disposition = if pin_presented || reset {
                        pcsc::Disposition::ResetCard
                    } else {
                        pcsc::Disposition::LeaveCard
                    };
                    // Ending the transaction with a reset resets the card now, before any other
                    // program's queued APDU can reach it.
                    if let Err((tx, _)) = tx.end(disposition) {
                        drop(tx);
                    }
                    if reset {
                        pin_presented = false;
                        let r = card
                            .reconnect(
                                pcsc::ShareMode::Shared,
                                pcsc::Protocols::ANY,
                                pcsc::Disposition::ResetCard,
                            )
                            .map(|_| vec![])
                            .map_err(map_err);
                        if ans_tx.send(r).is_err() {
                            closing = true;
                        }
                    } else {
                        closing = true;
                    }
                    if closing {
                        let _ = card.disconnect(disposition);
                        let _ = ans_tx.send(Ok(vec![]));
                        break;
                    }
                }
            })
            .map_err(|e| TransportError::Io(e.to_string()))?;
        let (atr, reader) = setup_rx
            .recv_timeout(APDU_TIMEOUT)
            .map_err(|_| TransportError::Timeout)??;
        Ok(Self {
            jobs,
            answers,
            atr,
            reader,
            timeout: APDU_TIMEOUT,
        })
    }

    fn call(&mut self, job: Job) -> Result<Vec<u8>, TransportError> {
        self.jobs
            .send(job)
            .map_err(|_| TransportError::Io("the PC/SC worker stopped".into()))?;
        self.answers
            .recv_timeout(self.timeout)
            .map_err(|_| TransportError::Timeout)?
    }
}

/// One APDU exchange. Some drivers (vpcd) answer a vanished card with an empty response
/// instead of an error: ask whether the card is there. The service notices a removal only at
/// its next poll (pcscd: every 0.4 s), so look for up to 1.5 s.
fn transmit(card: &pcsc::Card, apdu: &[u8], buf: &mut [u8]) -> Result<Vec<u8>, TransportError> {
    // A card pulled mid-command shows as an empty response (vpcd) or as SCARD_E_NOT_TRANSACTED /
    // a communication error (libccid: the reader failed the exchange): ask whether the card is
    // there. The service notices a removal only at its next poll (pcscd: every 0.4 s), so look
    // for up to 1.5 s.
    let gone = || {
        (0..15).any(|_| {
            let present = card
                .status2_owned()
                .is_ok_and(|s| s.status().contains(pcsc::Status::PRESENT));
            if present {
                std::thread::sleep(Duration::from_millis(100));
            }
            !present
        })
    };
    match card.transmit(apdu, buf) {
        Ok(r) if r.len() < 2 => {
            let r = r.to_vec();
            if gone() {
                Err(TransportError::CardRemoved)
            } else {
                Ok(r)
            }
        }
        Ok(r) => Ok(r.to_vec()),
        Err(e @ (pcsc::Error::NotTransacted | pcsc::Error::CommError)) => {
            if gone() {
                Err(TransportError::CardRemoved)
            } else {
                Err(map_err(e))
            }
        }
        Err(e) => Err(map_err(e)),
    }
}

/// Dropping the transport ends the session: the transaction ends and the card is disconnected
/// (reset when a PIN was presented), and the drop waits (up to [`CLOSE_TIMEOUT`]) until that is
/// done, so the next program finds the card in that state.
impl Drop for PcscTransport {
    fn drop(&mut self) {
        if self.jobs.send(Job::Close).is_ok() {
            // Answers still queued for jobs whose caller gave up come first; the worker sends
            // one more answer after it disconnected.
            // The worker ends by dropping its sender: recv then fails.
            let until = std::time::Instant::now() + CLOSE_TIMEOUT;
            while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
                if self.answers.recv_timeout(left).is_err() {
                    break;
                }
            }
        }
    }
}

impl Transport for PcscTransport {
    async fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.call(Job::Transmit(Zeroizing::new(apdu.to_vec())))
    }
    fn atr(&self) -> Vec<u8> {
        self.atr.clone()
    }
    async fn reset(&mut self) -> Result<(), TransportError> {
        self.call(Job::Reset).map(|_| ())
    }
    async fn card_present(&mut self) -> Result<bool, TransportError> {
        self.call(Job::Present).map(|v| v.first() == Some(&1))
    }
}

#[cfg(test)]
mod tests {
    use super::presents_pin;

    #[test]
    fn which_commands_present_a_pin() {
        // PIV VERIFY with the PIN; ISO VERIFY of the Iranian card's ID PIN.
        assert!(presents_pin(&[
            0x00, 0x20, 0x00, 0x80, 0x08, b'1', b'2', b'3', b'4', b'5', b'6', 0xFF, 0xFF
        ]));
        assert!(presents_pin(&[0x0C, 0x20, 0x00, 0x81, 0x04, 1, 2, 3, 4]));
        // PIN state queries (no data), SELECT, GENERAL AUTHENTICATE.
        assert!(!presents_pin(&[0x00, 0x20, 0x00, 0x80]));
        assert!(!presents_pin(&[0x00, 0x20, 0x00, 0x80, 0x00]));
        assert!(!presents_pin(&[0x00, 0xA4, 0x04, 0x00, 0x02, 0x3F, 0x00]));
        assert!(!presents_pin(&[0x00, 0x87, 0x11, 0x9A, 0x02, 0x7C, 0x00]));
        assert!(presents_pin(&[0x80, 0x20, 0x00, 0x80, 0x02, 1, 2]));
        assert!(!presents_pin(&[]));
    }
}
