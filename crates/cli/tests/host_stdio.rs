//! The `hoviat-host` binary over real pipes: framing, limits, refusals, and a clean exit when the
//! browser closes the pipe. (Card operations through the host run in scripts/extension-tests.sh,
//! behind pcscd with the virtual PIV card.)
#![cfg(feature = "pcsc")]

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

fn start() -> Child {
    Command::new(env!("CARGO_BIN_EXE_hoviat-host"))
        .arg("chrome-extension://jeooianbhgjgdmmjihimenmfblleifon/")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hoviat-host starts")
}

fn send(c: &mut Child, body: &[u8]) {
    let w = c.stdin.as_mut().unwrap();
    w.write_all(&u32::try_from(body.len()).unwrap().to_ne_bytes()).unwrap();
    w.write_all(body).unwrap();
    w.flush().unwrap();
}

fn recv(c: &mut Child) -> Value {
    let r = c.stdout.as_mut().unwrap();
    let mut n = [0u8; 4];
    r.read_exact(&mut n).unwrap();
    let mut b = vec![0u8; u32::from_ne_bytes(n) as usize];
    r.read_exact(&mut b).unwrap();
    serde_json::from_slice(&b).unwrap()
}

#[test]
fn version_refusals_limits_and_clean_exit() {
    let mut c = start();
    send(&mut c, br#"{"v":1,"id":"a","cmd":"version"}"#);
    let r = recv(&mut c);
    assert_eq!(r["id"], "a");
    assert_eq!(r["ok"], true);
    assert_eq!(r["result"]["name"], "hoviat-host");
    assert_eq!(r["result"]["protocol"], 1);

    send(&mut c, b"\x00\xff garbage");
    let r = recv(&mut c);
    assert_eq!(
        (r["id"].clone(), r["error"]["code"].clone()),
        (Value::Null, "HOST_BAD_MESSAGE".into())
    );

    send(&mut c, br#"{"v":2,"id":"b","cmd":"version"}"#);
    assert_eq!(recv(&mut c)["error"]["code"], "PROTOCOL_VERSION_MISMATCH");

    // authenticate without the origin the extension must add
    let nonce = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    send(
        &mut c,
        format!(r#"{{"v":1,"id":"c","cmd":"authenticate","nonce":"{nonce}","pin":"123456"}}"#).as_bytes(),
    );
    let r = recv(&mut c);
    assert_eq!(r["id"], "c");
    assert_eq!(r["error"]["code"], "HOST_BAD_MESSAGE");

    send(&mut c, &vec![b'x'; 64 * 1024 + 1]);
    assert_eq!(recv(&mut c)["error"]["code"], "HOST_MESSAGE_TOO_LARGE");

    // still in step after the oversized message
    send(&mut c, br#"{"v":1,"id":"d","cmd":"cancel"}"#);
    let r = recv(&mut c);
    assert_eq!(r["id"], "d");
    assert_eq!(r["result"]["cancelled"], Value::Null);

    drop(c.stdin.take());
    let out = c.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("the browser closed the pipe"), "{log}");
    assert!(!log.contains("123456"), "the PIN reached the log: {log}");
}

#[test]
fn a_pipe_closed_inside_a_frame_ends_the_host_cleanly() {
    let mut c = start();
    c.stdin.as_mut().unwrap().write_all(&100u32.to_ne_bytes()).unwrap();
    c.stdin.as_mut().unwrap().write_all(b"{\"v\":1").unwrap();
    drop(c.stdin.take());
    let out = c.wait_with_output().unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
}
