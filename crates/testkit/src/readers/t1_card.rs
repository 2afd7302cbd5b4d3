//! The card side of T=1 (test equipment): answers the host's blocks, chains long answers at
//! the host's IFSD, honours S(IFS), S(RESYNCH), S(ABORT), can ask for a waiting-time
//! extension before answering, and asks again for a block whose EDC is wrong.

use hoviat::reader::t1::{self, BadBlock, Block, Edc};

/// T=1 state of one card.
#[derive(Clone, Debug)]
pub struct T1Card {
    edc: Edc,
    ifsd: usize,
    ns: u8,
    nr: u8,
    cmd: Vec<u8>,
    out: Vec<u8>,
    out_off: usize,
    last_chunk: usize,
    last: Vec<u8>,
    /// Ask for this waiting-time extension (S(WTX request)) before each answer.
    pub wtx: Option<u8>,
    held: bool,
}

impl T1Card {
    /// A card using `edc`; the host's IFSD starts at the default 32.
    pub fn new(edc: Edc) -> Self {
        Self {
            edc,
            ifsd: 32,
            ns: 0,
            nr: 0,
            cmd: Vec::new(),
            out: Vec::new(),
            out_off: 0,
            last_chunk: 0,
            last: Vec::new(),
            wtx: None,
            held: false,
        }
    }

    /// The IFSD the host announced.
    pub fn ifsd(&self) -> usize {
        self.ifsd
    }

    fn send(&mut self, b: &Block) -> Vec<u8> {
        self.last = t1::encode(0, b, self.edc);
        self.last.clone()
    }

    fn chunk(&mut self) -> Vec<u8> {
        let n = self.ifsd.min(self.out.len() - self.out_off);
        self.last_chunk = n;
        let more = self.out_off + n < self.out.len();
        let data = self.out[self.out_off..self.out_off + n].to_vec();
        let ns = self.ns;
        self.ns ^= 1;
        self.send(&Block::I { ns, more, data })
    }

    /// Takes one block; `card` answers a complete command APDU. Returns the block to send.
    pub fn on_block(&mut self, raw: &[u8], card: &mut dyn FnMut(&[u8]) -> Vec<u8>) -> Vec<u8> {
        let block = match t1::decode(raw, self.edc) {
            Ok((_, b)) => b,
            Err(why) => {
                let error = if why == BadBlock::Edc { 1 } else { 2 };
                let nr = self.nr;
                return t1::encode(0, &Block::R { nr, error }, self.edc);
            }
        };
        match block {
            Block::S { kind, data } => match kind {
                k if k == t1::s::IFS => {
                    self.ifsd = usize::from(data[0]);
                    t1::encode(
                        0,
                        &Block::S {
                            kind: k | t1::s::RESPONSE,
                            data,
                        },
                        self.edc,
                    )
                }
                k if k == t1::s::RESYNCH => {
                    (self.ns, self.nr) = (0, 0);
                    self.cmd.clear();
                    self.out.clear();
                    self.held = false;
                    t1::encode(
                        0,
                        &Block::S {
                            kind: k | t1::s::RESPONSE,
                            data,
                        },
                        self.edc,
                    )
                }
                k if k == t1::s::ABORT => {
                    self.cmd.clear();
                    t1::encode(
                        0,
                        &Block::S {
                            kind: k | t1::s::RESPONSE,
                            data,
                        },
                        self.edc,
                    )
                }
                k if k == t1::s::WTX | t1::s::RESPONSE && self.held => {
                    self.held = false;
                    self.chunk()
                }
                _ => t1::encode(0, &Block::R { nr: self.nr, error: 2 }, self.edc),
            },
            Block::I { ns, more, data } => {
                if ns != self.nr {
                    return self.last.clone();
                }
                self.nr ^= 1;
                if self.out_off < self.out.len() && self.out_off + self.last_chunk < self.out.len() {
                    // A new command while our chain was unfinished: drop the rest.
                    self.out.clear();
                }
                self.cmd.extend_from_slice(&data);
                if more {
                    let nr = self.nr;
                    return self.send(&Block::R { nr, error: 0 });
                }
                let cmd = std::mem::take(&mut self.cmd);
                self.out = card(&cmd);
                self.out_off = 0;
                self.last_chunk = 0;
                if let Some(m) = self.wtx {
                    self.held = true;
                    return self.send(&Block::S {
                        kind: t1::s::WTX,
                        data: vec![m],
                    });
                }
                self.chunk()
            }
            Block::R { nr, .. } => {
                if nr == self.ns && self.out_off + self.last_chunk < self.out.len() {
                    self.out_off += self.last_chunk;
                    self.chunk()
                } else {
                    self.last.clone()
                }
            }
        }
    }
}
