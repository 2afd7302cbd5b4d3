//! `hoviat sim reader` (test equipment): a GemPC Twin serial CCID reader or a PN532 module,
//! with a virtual card inside, served on one end of a pty pair.

use hoviat_testkit::readers::{self, Emulator, gempc_twin::GemPcTwin, pn532::Pn532};
use hoviat_testkit::virtual_card::{self as vc, VirtualCard};

use super::{Failure, PkiOption, SimHolder, UsageError, usage};

#[derive(clap::Args)]
pub struct SimReader {
    /// The reader: gempc-twin or pn532
    #[arg(long, value_name = "KIND")]
    kind: String,
    /// The pty to serve the reader on
    #[arg(long, value_name = "PATH")]
    pty: String,
    /// The card inside: ir-nid (default), piv or unknown
    #[arg(long, value_name = "PROFILE", default_value = "ir-nid")]
    profile: String,
    #[command(flatten)]
    holder: SimHolder,
    /// Time-extension DataBlocks the GemPC Twin sends before each answer (0 to 255)
    #[arg(long, value_name = "N", default_value_t = 0)]
    time_extensions: u8,
    /// Under T=1 the card asks for this waiting-time extension (S(WTX)) before each answer (1 to 255)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..))]
    wtx: Option<u8>,
    /// Print every exchange on stderr
    #[arg(long)]
    log: bool,
}

/// `sim reader --kind gempc-twin|pn532 --pty PATH [--profile piv|ir-nid|unknown] [--pki DIR]
/// [--holder N] [--remove-after N] [--time-extensions N] [--wtx N] [--log]`
pub fn run(a: &SimReader) -> Result<serde_json::Value, Failure> {
    let SimHolder {
        pki,
        holder,
        remove_after,
    } = &a.holder;
    let (holder, remove_after, time_extensions, wtx) = (*holder, *remove_after, a.time_extensions, a.wtx);
    let (kind, pty, profile) = (a.kind.as_str(), a.pty.as_str(), a.profile.as_str());
    let reg = pki.registry()?;
    let card: Box<dyn VirtualCard> = match profile {
        "piv" | "ir-nid" => vc::for_holder(&reg, holder, profile == "ir-nid")
            .ok_or_else(|| Failure::Usage(usage(format!("no holder {holder}"))))?,
        "unknown" => Box::new(vc::UnknownCard),
        other => {
            return Err(Failure::Usage(usage(format!(
                "--profile {other:?}: piv, ir-nid or unknown"
            ))));
        }
    };
    let mut emu: Box<dyn Emulator> = match kind {
        "gempc-twin" => {
            let mut r = GemPcTwin::new(card);
            r.remove_after = remove_after;
            r.time_extensions = time_extensions;
            r.wtx = wtx;
            Box::new(r)
        }
        "pn532" => {
            let s = reg.holders.get(holder).map(|h| h.serial.clone()).unwrap_or_default();
            let uid = [
                0x08,
                *s.first().unwrap_or(&1),
                *s.get(1).unwrap_or(&2),
                *s.get(2).unwrap_or(&3),
            ];
            let mut r = Pn532::new(card, uid);
            r.remove_after = remove_after;
            eprintln!(
                "sim: PN532 target UID {} ATS {}",
                hoviat::pki::cert::hex_upper(&r.uid),
                hoviat::pki::cert::hex_upper(&r.ats())
            );
            Box::new(r)
        }
        other => return Err(Failure::Usage(usage(format!("--kind {other:?}: gempc-twin or pn532")))),
    };
    eprintln!("sim: {kind} reader with a {profile} card (holder {holder}) on {pty}");
    let apdus = readers::serve_pty(pty, emu.as_mut(), a.log).map_err(|e| {
        Failure::Usage(UsageError {
            code: "IO_ERROR",
            message: format!("{pty}: {e}"),
        })
    })?;
    Ok(serde_json::json!({ "sim": kind, "apdus": apdus }))
}
