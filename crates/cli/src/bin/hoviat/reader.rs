//! `hoviat sim reader` (test equipment): a GemPC Twin serial CCID reader or a PN532 module,
//! with a virtual card inside, served on one end of a pty pair.

use hoviat_testkit::readers::{self, Emulator, gempc_twin::GemPcTwin, pn532::Pn532};
use hoviat_testkit::virtual_card::{self as vc, VirtualCard};

use super::{Args, Failure, UsageError, load_registry, today, usage};

/// `sim reader --kind gempc-twin|pn532 --pty PATH [--profile piv|ir-nid|unknown] [--pki DIR]
/// [--holder N] [--remove-after N] [--time-extensions N] [--wtx N] [--log]`
pub fn run(rest: &[String]) -> Result<serde_json::Value, Failure> {
    let a = Args::parse(
        rest,
        &[
            "kind",
            "pty",
            "profile",
            "pki",
            "holder",
            "remove-after",
            "wtx",
            "time-extensions",
        ],
        &["log"],
    )
    .map_err(Failure::Usage)?;
    let num = |k: &str| -> Result<Option<usize>, Failure> {
        a.opt(k)
            .map_err(Failure::Usage)?
            .map(|v| {
                v.parse::<usize>()
                    .map_err(|_| Failure::Usage(usage(format!("--{k} {v:?}"))))
            })
            .transpose()
    };
    let holder = num("holder")?.unwrap_or(1);
    let remove_after = num("remove-after")?;
    let time_extensions = u8::try_from(num("time-extensions")?.unwrap_or(0))
        .map_err(|_| Failure::Usage(usage("--time-extensions 0..255")))?;
    let wtx = num("wtx")?
        .map(|w| u8::try_from(w).ok().filter(|w| *w > 0))
        .map(|w| w.ok_or_else(|| Failure::Usage(usage("--wtx 1..255"))))
        .transpose()?;
    let kind = a.one("kind").map_err(Failure::Usage)?;
    let pty = a.one("pty").map_err(Failure::Usage)?;
    let profile = a.opt("profile").map_err(Failure::Usage)?.unwrap_or("ir-nid");
    let reg = match a.opt("pki").map_err(Failure::Usage)? {
        Some(dir) => load_registry(dir)?,
        None => hoviat_testkit::Registry::generate("hoviat", today()),
    };
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
    let apdus = readers::serve_pty(pty, emu.as_mut(), a.has("log")).map_err(|e| {
        Failure::Usage(UsageError {
            code: "IO_ERROR",
            message: format!("{pty}: {e}"),
        })
    })?;
    Ok(serde_json::json!({ "sim": kind, "apdus": apdus }))
}
