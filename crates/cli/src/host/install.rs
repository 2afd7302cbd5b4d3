//! Where browsers look for native-messaging host manifests, what the manifests say, and how to
//! tell that a browser is a Snap or Flatpak package (those cannot start native hosts).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::HOST_NAME;

/// The id of hoviat's extension in Chromium-family browsers: derived from the public `key` in
/// `extension/manifest.json` (first 32 hex digits of SHA-256 of the DER key, 0-f mapped to a-p).
pub const CHROME_EXTENSION_ID: &str = "jeooianbhgjgdmmjihimenmfblleifon";
/// The id of hoviat's extension in Firefox (`browser_specific_settings.gecko.id`).
pub const FIREFOX_EXTENSION_ID: &str = "hoviat@hoviat.ir";

/// The browsers the installer knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Browser {
    /// Google Chrome.
    Chrome,
    /// Chromium.
    Chromium,
    /// Microsoft Edge.
    Edge,
    /// Mozilla Firefox.
    Firefox,
}

impl Browser {
    /// All of them.
    pub const ALL: [Browser; 4] = [Self::Chrome, Self::Chromium, Self::Edge, Self::Firefox];

    /// Parses `chrome`, `chromium`, `edge` or `firefox`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "chrome" => Some(Self::Chrome),
            "chromium" => Some(Self::Chromium),
            "edge" => Some(Self::Edge),
            "firefox" => Some(Self::Firefox),
            _ => None,
        }
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Self::Chrome => "chrome",
            Self::Chromium => "chromium",
            Self::Edge => "edge",
            Self::Firefox => "firefox",
        }
    }
}

/// Per-user or machine-wide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The current user's profile directories.
    User,
    /// Machine-wide directories (needs root).
    System,
}

/// The directory where `browser` looks for host manifests on Linux (`home` = the user's home).
pub fn linux_manifest_dir(browser: Browser, scope: Scope, home: &Path) -> PathBuf {
    match (browser, scope) {
        (Browser::Chrome, Scope::User) => home.join(".config/google-chrome/NativeMessagingHosts"),
        (Browser::Chromium, Scope::User) => home.join(".config/chromium/NativeMessagingHosts"),
        (Browser::Edge, Scope::User) => home.join(".config/microsoft-edge/NativeMessagingHosts"),
        (Browser::Firefox, Scope::User) => home.join(".mozilla/native-messaging-hosts"),
        (Browser::Chrome, Scope::System) => PathBuf::from("/etc/opt/chrome/native-messaging-hosts"),
        (Browser::Chromium, Scope::System) => PathBuf::from("/etc/chromium/native-messaging-hosts"),
        (Browser::Edge, Scope::System) => PathBuf::from("/etc/opt/edge/native-messaging-hosts"),
        (Browser::Firefox, Scope::System) => PathBuf::from("/usr/lib/mozilla/native-messaging-hosts"),
    }
}

/// The directory where `browser` looks for host manifests on macOS.
pub fn macos_manifest_dir(browser: Browser, scope: Scope, home: &Path) -> PathBuf {
    let user = home.join("Library/Application Support");
    match (browser, scope) {
        (Browser::Chrome, Scope::User) => user.join("Google/Chrome/NativeMessagingHosts"),
        (Browser::Chromium, Scope::User) => user.join("Chromium/NativeMessagingHosts"),
        (Browser::Edge, Scope::User) => user.join("Microsoft Edge/NativeMessagingHosts"),
        (Browser::Firefox, Scope::User) => user.join("Mozilla/NativeMessagingHosts"),
        (Browser::Chrome, Scope::System) => PathBuf::from("/Library/Google/Chrome/NativeMessagingHosts"),
        (Browser::Chromium, Scope::System) => {
            PathBuf::from("/Library/Application Support/Chromium/NativeMessagingHosts")
        }
        (Browser::Edge, Scope::System) => PathBuf::from("/Library/Microsoft/Edge/NativeMessagingHosts"),
        (Browser::Firefox, Scope::System) => PathBuf::from("/Library/Application Support/Mozilla/NativeMessagingHosts"),
    }
}

/// The Windows registry key (under HKCU or HKLM) whose default value is the manifest's path.
pub fn windows_registry_key(browser: Browser) -> String {
    let vendor = match browser {
        Browser::Chrome => "Google\\Chrome",
        Browser::Chromium => "Chromium",
        Browser::Edge => "Microsoft\\Edge",
        Browser::Firefox => "Mozilla",
    };
    format!("Software\\{vendor}\\NativeMessagingHosts\\{HOST_NAME}")
}

/// The host manifest for `browser`: `path` is the absolute path of `hoviat-host`; `extension_id`
/// the extension's id in that browser family.
pub fn manifest(browser: Browser, path: &Path, extension_id: &str) -> Value {
    let mut m = json!({
        "name": HOST_NAME,
        "description": "hoviat: reads the Iranian smart national ID card for web pages",
        "path": path.to_string_lossy(),
        "type": "stdio",
    });
    if browser == Browser::Firefox {
        m["allowed_extensions"] = json!([extension_id]);
    } else {
        m["allowed_origins"] = json!([format!("chrome-extension://{extension_id}/")]);
    }
    m
}

/// Whether `id` has the shape of a Chromium extension id (32 letters a-p).
pub fn is_chrome_extension_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| (b'a'..=b'p').contains(&b))
}

/// The Chromium extension id of a public key (DER SubjectPublicKeyInfo).
pub fn chrome_extension_id(spki_der: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(spki_der)
        .iter()
        .take(16)
        .flat_map(|b| [b >> 4, b & 0xf])
        .map(|n| char::from(b'a' + n))
        .collect()
}

/// A sandboxed (Snap or Flatpak) install of a browser found on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sandboxed {
    /// Which browser.
    pub browser: Browser,
    /// `snap` or `flatpak`.
    pub kind: &'static str,
    /// What was found.
    pub evidence: PathBuf,
}

/// Looks for Snap and Flatpak installs of `browser` under `root` (normally `/`) and `home`.
pub fn find_sandboxed(browser: Browser, root: &Path, home: &Path) -> Vec<Sandboxed> {
    let (snaps, flatpaks): (&[&str], &[&str]) = match browser {
        Browser::Chrome => (&[], &["com.google.Chrome"]),
        Browser::Chromium => (&["chromium"], &["org.chromium.Chromium"]),
        Browser::Edge => (&[], &["com.microsoft.Edge"]),
        Browser::Firefox => (&["firefox"], &["org.mozilla.firefox"]),
    };
    let mut found = Vec::new();
    for s in snaps {
        let p = root.join("snap").join(s);
        if p.exists() {
            found.push(Sandboxed {
                browser,
                kind: "snap",
                evidence: p,
            });
        }
    }
    for f in flatpaks {
        for base in [root.join("var/lib/flatpak/app"), home.join(".local/share/flatpak/app")] {
            let p = base.join(f);
            if p.exists() {
                found.push(Sandboxed {
                    browser,
                    kind: "flatpak",
                    evidence: p,
                });
            }
        }
    }
    found
}

/// What to tell the user about a sandboxed browser.
pub fn sandbox_explanation(s: &Sandboxed) -> String {
    format!(
        "{} is installed as a {} package ({}): sandboxed browsers cannot start native messaging hosts, \
         so hoviat's extension cannot reach the card reader from it. Use a {} installed from the \
         distribution's or the vendor's .deb/.rpm package instead.",
        s.browser.name(),
        s.kind,
        s.evidence.display(),
        s.browser.name()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_id_matches_the_committed_key() {
        use base64::Engine;
        let manifest: Value =
            serde_json::from_str(include_str!("../../../../extension/manifest.json")).expect("extension/manifest.json");
        let key = manifest["key"].as_str().expect("a key");
        let der = base64::engine::general_purpose::STANDARD.decode(key).expect("base64");
        assert_eq!(chrome_extension_id(&der), CHROME_EXTENSION_ID);
        assert!(is_chrome_extension_id(CHROME_EXTENSION_ID));
        assert_eq!(
            manifest["browser_specific_settings"]["gecko"]["id"],
            FIREFOX_EXTENSION_ID
        );
    }

    #[test]
    fn manifests_and_paths() {
        let home = Path::new("/home/u");
        let m = manifest(Browser::Chromium, Path::new("/opt/hoviat-host"), CHROME_EXTENSION_ID);
        assert_eq!(m["name"], HOST_NAME);
        assert_eq!(m["type"], "stdio");
        assert_eq!(
            m["allowed_origins"][0],
            format!("chrome-extension://{CHROME_EXTENSION_ID}/")
        );
        assert!(m.get("allowed_extensions").is_none());
        let f = manifest(Browser::Firefox, Path::new("/opt/hoviat-host"), FIREFOX_EXTENSION_ID);
        assert_eq!(f["allowed_extensions"][0], FIREFOX_EXTENSION_ID);
        assert_eq!(
            linux_manifest_dir(Browser::Chromium, Scope::User, home),
            Path::new("/home/u/.config/chromium/NativeMessagingHosts")
        );
        assert_eq!(
            linux_manifest_dir(Browser::Firefox, Scope::User, home),
            Path::new("/home/u/.mozilla/native-messaging-hosts")
        );
        assert_eq!(
            linux_manifest_dir(Browser::Chrome, Scope::System, home),
            Path::new("/etc/opt/chrome/native-messaging-hosts")
        );
        assert_eq!(
            macos_manifest_dir(Browser::Chrome, Scope::User, home),
            Path::new("/home/u/Library/Application Support/Google/Chrome/NativeMessagingHosts")
        );
        assert_eq!(
            windows_registry_key(Browser::Edge),
            "Software\\Microsoft\\Edge\\NativeMessagingHosts\\ir.hoviat.host"
        );
        for b in Browser::ALL {
            assert_eq!(Browser::parse(b.name()), Some(b));
        }
        assert_eq!(Browser::parse("safari"), None);
        assert!(!is_chrome_extension_id("jeooianbhgjgdmmjihimenmfblleifoz"));
    }

    #[test]
    fn sandboxed_browsers_are_found() {
        let t = std::env::temp_dir().join(format!("hoviat-sandbox-{}", std::process::id()));
        let home = t.join("home");
        std::fs::create_dir_all(t.join("snap/chromium")).unwrap();
        std::fs::create_dir_all(home.join(".local/share/flatpak/app/org.mozilla.firefox")).unwrap();
        let c = find_sandboxed(Browser::Chromium, &t, &home);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].kind, "snap");
        assert!(sandbox_explanation(&c[0]).contains("cannot start native messaging hosts"));
        let f = find_sandboxed(Browser::Firefox, &t, &home);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, "flatpak");
        assert!(find_sandboxed(Browser::Chrome, &t, &home).is_empty());
        std::fs::remove_dir_all(&t).unwrap();
    }
}
