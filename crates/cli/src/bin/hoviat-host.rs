//! `hoviat-host`: the native-messaging host that hoviat's browser extension starts. It speaks
//! protocol v1 (see `hoviat_cli::host`) on stdin/stdout and reaches the card over PC/SC, one card
//! operation at a time. `hoviat-host install` / `uninstall` write or remove the browsers'
//! host manifests.
//!
//! The host never signs without a PIN typed for the request: `authenticate` without `pin` is
//! `PIN_REQUIRED` before the card is touched (even when the card still reports an earlier
//! session's PIN as verified). Card sessions reset the card when they close after a PIN was
//! presented (see `hoviat_pcsc`). Requests are read from stdin without a buffer in
//! between (the request buffer, which may hold a PIN, is zeroized; a `BufReader` would keep a
//! copy). `list-readers` runs beside a card operation (it touches no card).
//!
//! Environment: `HOVIAT_HOST_CARD_WAIT_SECS` (default 30): how long `info` and `authenticate`
//! wait for a card to be inserted; `HOVIAT_HOST_TIMEOUT_SECS` (default 120): the deadline of
//! one card operation once the card is connected.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hoviat::card::{self, CardError, Status, Transport, TransportError};
use hoviat::error::Coded;
use hoviat_cli::host::install::{self, Browser, Scope};
use hoviat_cli::host::{self, Cmd, Frame, HostError, Request};
use hoviat_pcsc::PcscTransport;
use serde_json::{Value, json};

const USAGE: &str = "\
hoviat-host — the native messaging host of hoviat's browser extension

USAGE:
  hoviat-host install   [--browser chrome|chromium|edge|firefox]... [--user|--system]
                        [--extension-id ID] [--firefox-extension-id ID] [--host-path PATH] [--dir DIR]
  hoviat-host uninstall [--browser chrome|chromium|edge|firefox]... [--user|--system] [--dir DIR]
  hoviat-host --version

Browsers start hoviat-host themselves (with the calling extension as argument) and speak
length-prefixed JSON on its stdin and stdout; run it by hand only through install/uninstall.
--dir writes the manifest into DIR (e.g. <chromium --user-data-dir>/NativeMessagingHosts) instead
of the browser's standard directory; it takes one --browser (default chromium).";

fn env_secs(name: &str, default: u64) -> Duration {
    Duration::from_secs(std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

/// Logs to stderr (browsers forward it to their own log) and, when `HOVIAT_HOST_LOG` names a
/// file, appends there too. Never given a PIN.
fn log(msg: std::fmt::Arguments<'_>) {
    eprintln!("hoviat-host[{}]: {msg}", std::process::id());
    if let Some(path) = std::env::var_os("HOVIAT_HOST_LOG")
        && let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path)
    {
        let _ = writeln!(f, "hoviat-host[{}]: {msg}", std::process::id());
    }
}

macro_rules! log {
    ($($t:tt)*) => { log(format_args!($($t)*)) };
}

type Out = Arc<Mutex<std::io::Stdout>>;

/// Sends one message; a browser that has gone away ends the host.
fn send(out: &Out, msg: &Value) {
    let mut w = out.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(e) = host::write_message(&mut *w, msg) {
        log!("the browser closed the pipe ({e}); exiting");
        std::process::exit(0);
    }
}

/// The running card operation: its id and its cancel flag.
#[derive(Default)]
struct Running {
    op: Option<(String, Arc<AtomicBool>)>,
}

/// The PC/SC transport with a cancel flag and a deadline checked before every APDU.
struct Guarded {
    t: PcscTransport,
    cancel: Arc<AtomicBool>,
    deadline: Instant,
}

impl Guarded {
    fn check(&self) -> Result<(), TransportError> {
        if self.cancel.load(Ordering::SeqCst) {
            return Err(TransportError::Io("cancelled".into()));
        }
        if Instant::now() > self.deadline {
            return Err(TransportError::Timeout);
        }
        Ok(())
    }
}

impl Transport for Guarded {
    async fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.check()?;
        self.t.transmit(apdu).await
    }
    fn atr(&self) -> Vec<u8> {
        self.t.atr()
    }
    async fn reset(&mut self) -> Result<(), TransportError> {
        self.check()?;
        self.t.reset().await
    }
    async fn card_present(&mut self) -> Result<bool, TransportError> {
        self.t.card_present().await
    }
}

enum OpError {
    Card(CardError),
    Host(HostError),
}

impl From<CardError> for OpError {
    fn from(e: CardError) -> Self {
        Self::Card(e)
    }
}
impl From<TransportError> for OpError {
    fn from(e: TransportError) -> Self {
        Self::Card(e.into())
    }
}

/// Connects to the card, waiting up to `wait` for a reader and a card to appear.
fn connect(reader: Option<&str>, cancel: &AtomicBool, wait: Duration) -> Result<PcscTransport, OpError> {
    let start = Instant::now();
    loop {
        if cancel.load(Ordering::SeqCst) {
            return Err(OpError::Host(HostError::Cancelled));
        }
        match PcscTransport::connect(reader) {
            Ok(t) => return Ok(t),
            Err(TransportError::NoCard | TransportError::NoReader) if start.elapsed() < wait => {
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn run_card_op(id: &str, cmd: Cmd, cancel: &Arc<AtomicBool>, out: &Out) -> Result<Value, OpError> {
    let mut last = None;
    let mut on_status = |s: Status| {
        if last != Some(s) {
            last = Some(s);
            send(out, &host::progress(id, s));
        }
    };
    let wait = env_secs("HOVIAT_HOST_CARD_WAIT_SECS", 30);
    let limit = env_secs("HOVIAT_HOST_TIMEOUT_SECS", 120);
    match cmd {
        Cmd::ListReaders => Ok(json!({ "readers": hoviat_pcsc::list_readers()? })),
        // Refused before anything touches the card: a browser request is signed only with a
        // PIN typed for it.
        Cmd::Authenticate { pin: None, .. } => Err(OpError::Card(CardError::PinRequired)),
        Cmd::Info { reader } => {
            on_status(Status::DetectingCard);
            let t = connect(reader.as_deref(), cancel, wait)?;
            let name = t.reader.clone();
            let mut g = Guarded {
                t,
                cancel: cancel.clone(),
                deadline: Instant::now() + limit,
            };
            let info = card::block_on(card::info(&mut g, &mut on_status))?;
            let mut v = serde_json::to_value(&info).map_err(|e| OpError::Host(HostError::BadMessage(e.to_string())))?;
            v["reader"] = name.into();
            Ok(v)
        }
        Cmd::Authenticate {
            reader,
            origin,
            nonce,
            pin,
        } => {
            on_status(Status::DetectingCard);
            let t = connect(reader.as_deref(), cancel, wait)?;
            let mut g = Guarded {
                t,
                cancel: cancel.clone(),
                deadline: Instant::now() + limit,
            };
            let r = card::block_on(card::authenticate(
                &mut g,
                origin.as_str(),
                &nonce,
                pin.as_ref(),
                &mut on_status,
            ));
            drop(pin); // zeroized
            drop(g); // ends the card session: the card is reset, its PIN no longer verified
            let r = r?;
            host::authenticate_result(&r.token).map_err(OpError::Host)
        }
        Cmd::Version | Cmd::Cancel => Err(OpError::Host(HostError::BadMessage("not a card operation".into()))),
    }
}

fn lock(r: &Mutex<Running>) -> std::sync::MutexGuard<'_, Running> {
    r.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Standard input without the standard library's 8 KiB buffer (which would keep a copy of each
/// request, PIN included, after the zeroized request buffer is gone).
fn unbuffered_stdin() -> Box<dyn std::io::Read> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() {
            return Box::new(std::fs::File::from(fd));
        }
    }
    #[cfg(windows)]
    {
        use std::os::windows::io::AsHandle;
        if let Ok(h) = std::io::stdin().as_handle().try_clone_to_owned() {
            return Box::new(std::fs::File::from(h));
        }
    }
    Box::new(std::io::stdin())
}

fn serve() -> ExitCode {
    let out: Out = Arc::new(Mutex::new(std::io::stdout()));
    let running = Arc::new(Mutex::new(Running::default()));
    let mut stdin = unbuffered_stdin();
    let caller = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    log!("version {} started by {caller}", env!("CARGO_PKG_VERSION"));
    loop {
        let frame = match host::read_frame(&mut stdin, host::MAX_REQUEST) {
            Ok(f) => f,
            Err(e) => {
                log!("input ended inside a message ({e})");
                Frame::End
            }
        };
        let bytes = match frame {
            Frame::Message(b) => b,
            Frame::TooLarge(len) => {
                log!("refused a message of {len} bytes");
                send(
                    &out,
                    &host::error(
                        None,
                        &HostError::MessageTooLarge {
                            len,
                            max: host::MAX_REQUEST,
                        },
                    ),
                );
                continue;
            }
            Frame::End => {
                // The browser closed the pipe: stop a running operation and leave.
                if let Some((_, c)) = &lock(&running).op {
                    c.store(true, Ordering::SeqCst);
                }
                let until = Instant::now() + Duration::from_secs(3);
                while lock(&running).op.is_some() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(20));
                }
                log!("the browser closed the pipe; exiting");
                return ExitCode::SUCCESS;
            }
        };
        let Request { id, cmd } = match host::parse_request(&bytes) {
            Ok(r) => r,
            Err(refusal) => {
                log!("refused a request ({}): {}", refusal.error.code(), refusal.error);
                send(&out, &host::error(refusal.id.as_deref(), &refusal.error));
                continue;
            }
        };
        drop(bytes);
        log!("{id} {}", cmd.name());
        match cmd {
            Cmd::Version => send(&out, &host::success(&id, host::version_result())),
            Cmd::Cancel => {
                let cancelled = lock(&running).op.as_ref().map(|(rid, c)| {
                    c.store(true, Ordering::SeqCst);
                    rid.clone()
                });
                send(&out, &host::success(&id, json!({ "cancelled": cancelled })));
            }
            Cmd::ListReaders => {
                // Touches no card: answered beside a running card operation.
                let out = out.clone();
                let spawned = std::thread::Builder::new()
                    .name("hoviat-readers".into())
                    .spawn(move || {
                        let msg = match hoviat_pcsc::list_readers() {
                            Ok(r) => host::success(&id, json!({ "readers": r })),
                            Err(e) => host::error(Some(&id), &CardError::from(e)),
                        };
                        send(&out, &msg);
                    });
                if let Err(e) = spawned {
                    log!("cannot start a thread: {e}");
                    return ExitCode::FAILURE;
                }
            }
            cmd => {
                let cancel = Arc::new(AtomicBool::new(false));
                {
                    let mut r = lock(&running);
                    if r.op.is_some() {
                        drop(r);
                        send(&out, &host::error(Some(&id), &HostError::Busy));
                        continue;
                    }
                    r.op = Some((id.clone(), cancel.clone()));
                }
                let (out, running) = (out.clone(), running.clone());
                let spawned = std::thread::Builder::new()
                    .name("hoviat-card-op".into())
                    .spawn(move || {
                        let r = run_card_op(&id, cmd, &cancel, &out);
                        let msg = match r {
                            Ok(v) => host::success(&id, v),
                            Err(_) if cancel.load(Ordering::SeqCst) => host::error(Some(&id), &HostError::Cancelled),
                            Err(OpError::Card(e)) => host::error(Some(&id), &e),
                            Err(OpError::Host(e)) => host::error(Some(&id), &e),
                        };
                        log!("{id} {}", msg["error"]["code"].as_str().unwrap_or("ok"));
                        lock(&running).op = None;
                        send(&out, &msg);
                    });
                if let Err(e) = spawned {
                    log!("cannot start a thread: {e}");
                    return ExitCode::FAILURE;
                }
            }
        }
    }
}

struct InstallArgs {
    browsers: Vec<Browser>,
    scope: Scope,
    extension_id: String,
    firefox_id: String,
    host_path: Option<PathBuf>,
    dir: Option<PathBuf>,
}

fn parse_install_args(args: &[String]) -> Result<InstallArgs, String> {
    let mut a = InstallArgs {
        browsers: Vec::new(),
        scope: Scope::User,
        extension_id: install::CHROME_EXTENSION_ID.into(),
        firefox_id: install::FIREFOX_EXTENSION_ID.into(),
        host_path: None,
        dir: None,
    };
    let mut it = args.iter();
    while let Some(x) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| format!("{x} needs a value"));
        match x.as_str() {
            "--browser" => {
                let v = value()?;
                a.browsers.push(
                    Browser::parse(&v).ok_or_else(|| format!("--browser {v:?}: chrome, chromium, edge or firefox"))?,
                );
            }
            "--user" => a.scope = Scope::User,
            "--system" => a.scope = Scope::System,
            "--extension-id" => {
                a.extension_id = value()?;
                if !install::is_chrome_extension_id(&a.extension_id) {
                    return Err(format!("--extension-id {:?}: 32 letters a-p", a.extension_id));
                }
            }
            "--firefox-extension-id" => a.firefox_id = value()?,
            "--host-path" => a.host_path = Some(PathBuf::from(value()?)),
            "--dir" => a.dir = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if a.dir.is_some() {
        match a.browsers.len() {
            0 => a.browsers.push(Browser::Chromium),
            1 => {}
            _ => return Err("--dir takes a single --browser".into()),
        }
    }
    if a.browsers.is_empty() {
        a.browsers = Browser::ALL.to_vec();
    }
    Ok(a)
}

fn manifest_dir(a: &InstallArgs, b: Browser, home: &Path) -> Result<PathBuf, String> {
    if let Some(d) = &a.dir {
        return Ok(d.clone());
    }
    if cfg!(target_os = "macos") {
        Ok(install::macos_manifest_dir(b, a.scope, home))
    } else if cfg!(windows) {
        Err(format!(
            "on Windows, write the manifest anywhere and set the default value of HKCU\\{} (or HKLM) to its path; \
             or pass --dir DIR to write the manifest there",
            install::windows_registry_key(b)
        ))
    } else {
        Ok(install::linux_manifest_dir(b, a.scope, home))
    }
}

fn install_cmd(args: &[String], remove: bool) -> Result<Value, String> {
    let a = parse_install_args(args)?;
    let home = PathBuf::from(std::env::var_os("HOME").unwrap_or_default());
    if a.dir.is_none() && a.scope == Scope::User && home.as_os_str().is_empty() {
        return Err("HOME is not set".into());
    }
    let host_path = match &a.host_path {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|e| format!("cannot find this program's path: {e}"))?,
    };
    let host_path = host_path.canonicalize().unwrap_or(host_path);
    if !host_path.is_absolute() {
        return Err(format!("the host path must be absolute: {}", host_path.display()));
    }
    let mut done = Vec::new();
    let mut warnings = Vec::new();
    for &b in &a.browsers {
        let dir = manifest_dir(&a, b, &home)?;
        let file = dir.join(format!("{}.json", host::HOST_NAME));
        if remove {
            match std::fs::remove_file(&file) {
                Ok(()) => done.push(json!({ "browser": b.name(), "removed": file })),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{}: {e}", file.display())),
            }
            continue;
        }
        let id = if b == Browser::Firefox {
            &a.firefox_id
        } else {
            &a.extension_id
        };
        let m = install::manifest(b, &host_path, id);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let body = serde_json::to_string_pretty(&m).map_err(|e| e.to_string())?;
        std::fs::write(&file, body + "\n").map_err(|e| format!("{}: {e}", file.display()))?;
        done.push(json!({ "browser": b.name(), "manifest": file }));
        for s in install::find_sandboxed(b, Path::new("/"), &home) {
            warnings.push(install::sandbox_explanation(&s));
        }
    }
    let key = if remove { "uninstalled" } else { "installed" };
    Ok(json!({ key: done, "host": host_path, "warnings": warnings }))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match args.split_first() {
        Some((c, r)) => (c.as_str(), r),
        None => ("", &[][..]),
    };
    let r = match cmd {
        "install" => install_cmd(rest, false),
        "uninstall" => install_cmd(rest, true),
        "--version" | "version" => Ok(host::version_result()),
        "--help" | "-h" | "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        // Anything else is a browser starting the host: Chromium passes the extension's origin
        // (and on Windows --parent-window), Firefox the manifest's path and the add-on id.
        _ => return serve(),
    };
    match r {
        Ok(v) => {
            let _ = writeln!(
                std::io::stdout(),
                "{}",
                serde_json::to_string_pretty(&v).unwrap_or_default()
            );
            for w in v["warnings"].as_array().into_iter().flatten() {
                eprintln!("warning: {}", w.as_str().unwrap_or_default());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let _ = writeln!(
                std::io::stdout(),
                "{}",
                json!({ "error": { "code": "USAGE", "message": e } })
            );
            eprintln!("{e}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
