#!/usr/bin/env bash
# The browser path end to end: headless Chromium with hoviat's unpacked extension, hoviat-host
# registered in the profile's NativeMessagingHosts/, pcscd + vpcd + the virtual PIV card in a
# private network namespace, a page on 127.0.0.1 using extension/page-client.js; the token is
# then verified with the CLI. Then the same extension directory in headless Firefox ESR
# (extension/test/e2e-firefox.mjs, over Marionette; the host registered in a private HOME's
# ~/.mozilla/native-messaging-hosts/), same pcscd and page. Prints "ok NAME" / "FAIL NAME: why"
# and "extension: N failed".
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET/debug/hoviat
HOST_BIN=$TARGET/debug/hoviat-host
T=$(mktemp -d)
# Screenshots of the extension's window (Persian and English), kept after the run.
SHOTS=${SHOTS:-$TARGET/extension-screenshots}
mkdir -p "$SHOTS"
FAILS=0
PCSCD_PID=""; PCSCD_REAL=""; HTTP_PID=""

cleanup() {
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
  [ -n "$PCSCD_PID" ] && kill "$PCSCD_PID" 2>/dev/null
  [ -n "$PCSCD_REAL" ] && kill "$PCSCD_REAL" 2>/dev/null
  sleep 0.2; rm -rf "$T"
}
trap cleanup EXIT
ok() { echo "ok $1"; }
fail() { echo "FAIL $1: $2"; FAILS=$((FAILS+1)); }
finish() { echo "extension: $FAILS failed"; [ "$FAILS" -eq 0 ]; exit; }

# --- Set-up: packages, the two binaries, playwright-core.
source scripts/setup.sh
ensure_packages "${BUILD_PACKAGES[@]}" pcscd vsmartcard-vpcd "${EXTENSION_PACKAGES[@]}" || { fail setup "apt-get install"; finish; }
command -v npm >/dev/null || ensure_packages nodejs npm || { fail setup "apt-get install nodejs npm"; finish; }
CARGO_TARGET_DIR=$TARGET cargo build -q --bin hoviat --bin hoviat-host 2>"$T/build.txt" \
  || { fail build "$(tail -5 "$T/build.txt")"; finish; }
if [ ! -d extension/test/node_modules/playwright-core ]; then
  (cd extension/test && npm ci --no-audit --no-fund --silent) >"$T/npm.txt" 2>&1 \
    || { fail setup "npm ci in extension/test: $(tail -3 "$T/npm.txt")"; finish; }
fi

# --- pcscd in a private network namespace (start_pcscd, scripts/setup.sh).
if pgrep -x pcscd >/dev/null; then
  for _ in $(seq 50); do pgrep -x pcscd >/dev/null || break; sleep 0.1; done
  if pgrep -x pcscd >/dev/null; then fail setup "another pcscd is running (pid $(pgrep -x pcscd | tr '\n' ' ')); stop it first"; finish; fi
fi
start_pcscd "$T/pcscd.log"
NETNS_PID=""; [ "${NETNS[0]}" = unshare ] && NETNS_PID=$PCSCD_REAL

DAY=$(date -u +%Y-%m-%dT00:00:00Z)
"$BIN" testpki --out "$T/pki" --seed extension --at "$DAY" > /dev/null || { fail setup "testpki"; finish; }

# --- The page, served on 127.0.0.1 (the extension directory: /test/page.html, /page-client.js).
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The repository root is served so that the page can also import the built npm package (/pkg).
python3 -m http.server --bind 127.0.0.1 --directory . "$PORT" > "$T/http.log" 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/extension/test/page.html')" 2>/dev/null && break; sleep 0.1; done

# --- The host binary on its own: framing and validation over real stdio.
python3 - "$HOST_BIN" > "$T/stdio.txt" 2>&1 <<'PY'
import json, struct, subprocess, sys
import os
os.environ["HOVIAT_HOST_CARD_WAIT_SECS"] = "20"
p = subprocess.Popen([sys.argv[1], "chrome-extension://test/"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
def send(b): p.stdin.write(struct.pack("=I", len(b)) + b); p.stdin.flush()
def recv():
    n = p.stdout.read(4); return json.loads(p.stdout.read(struct.unpack("=I", n)[0]))
send(b'{"v":1,"id":"a","cmd":"version"}'); r = recv()
assert r["ok"] and r["result"]["protocol"] == 1 and r["id"] == "a", r
send(b'not json'); r = recv(); assert r["error"]["code"] == "HOST_BAD_MESSAGE" and r["id"] is None, r
send(b'{"v":7,"id":"b","cmd":"version"}'); r = recv(); assert r["error"]["code"] == "PROTOCOL_VERSION_MISMATCH" and r["id"] == "b", r
send(b" " * (64 * 1024 + 1)); r = recv(); assert r["error"]["code"] == "HOST_MESSAGE_TOO_LARGE", r
send(b'{"v":1,"id":"c","cmd":"version"}'); r = recv(); assert r["ok"] and r["id"] == "c", r
# The host never signs without a PIN typed for the request: refused before any card is looked for.
send(b'{"v":1,"id":"np","cmd":"authenticate","origin":"https://bank.example.ir","nonce":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}'); r = recv()
assert r["id"] == "np" and r["error"]["code"] == "PIN_REQUIRED", r
# pcscd runs and no card is in yet: info waits for a card; one card operation at a time.
send(b'{"v":1,"id":"i1","cmd":"info"}'); r = recv(); assert r == {"v": 1, "id": "i1", "status": "detecting-card"}, r
send(b'{"v":1,"id":"i2","cmd":"info"}'); r = recv(); assert r["id"] == "i2" and r["error"]["code"] == "HOST_BUSY", r
send(b'{"v":1,"id":"v2","cmd":"version"}'); r = recv(); assert r["id"] == "v2" and r["ok"], r
send(b'{"v":1,"id":"k","cmd":"cancel"}'); r = recv(); assert r["id"] == "k" and r["result"] == {"cancelled": "i1"}, r
r = recv(); assert r["id"] == "i1" and r["error"]["code"] == "HOST_CANCELLED", r
send(b'{"v":1,"id":"l","cmd":"list-readers"}'); r = recv()
assert r["ok"] and r["result"]["readers"][0]["name"] == "Virtual PCD 00 00" and not r["result"]["readers"][0]["cardPresent"], r
# The browser closes the pipe in the middle of an operation: the host stops it and exits 0.
send(b'{"v":1,"id":"i3","cmd":"info"}'); r = recv(); assert r["status"] == "detecting-card", r
p.stdin.close(); rc = p.wait(timeout=5); assert rc == 0, rc
print("stdio ok")
PY
if grep -q "stdio ok" "$T/stdio.txt"; then ok host-stdio-framing-and-limits; else fail host-stdio-framing-and-limits "$(tail -3 "$T/stdio.txt")"; fi

# --- The installer writes a manifest the browser accepts (checked by the e2e run below, which
# uses a manifest of the same shape) and removes it again.
if "$HOST_BIN" install --browser chromium --dir "$T/inst" > "$T/inst.json" 2>/dev/null \
   && python3 -c "import json,sys; m=json.load(open('$T/inst/ir.hoviat.host.json')); sys.exit(0 if m['path']=='$(readlink -f "$HOST_BIN")' and m['allowed_origins']==['chrome-extension://jeooianbhgjgdmmjihimenmfblleifon/'] and m['type']=='stdio' else 1)" \
   && "$HOST_BIN" uninstall --browser chromium --dir "$T/inst" > /dev/null && [ ! -e "$T/inst/ir.hoviat.host.json" ]; then
  ok host-install-uninstall
else fail host-install-uninstall "$(cat "$T/inst.json")"; fi

# --- The browser, end to end (EXTENSION_TESTS_ONLY=chromium|firefox runs one of them).
ONLY=${EXTENSION_TESTS_ONLY:-}
if [ "$ONLY" != firefox ]; then
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
NONCE=$(python3 -c 'import base64,os;print(base64.b64encode(os.urandom(32)).decode())')
BIN=$BIN HOST_BIN=$HOST_BIN EXT=$ROOT/extension PORT=$PORT PKI=$T/pki NONCE=$NONCE WORK=$T/e2e AT=$NOW \
  NETNS_PID=$NETNS_PID SHOTS=$SHOTS timeout 400 node extension/test/e2e.mjs > "$T/e2e.txt" 2>&1
grep -E '^(ok|FAIL) ' "$T/e2e.txt"
E2E_FAILS=$(grep -c '^FAIL ' "$T/e2e.txt")
FAILS=$((FAILS + E2E_FAILS))
if ! grep -q '^e2e: ' "$T/e2e.txt"; then fail e2e "the browser test did not finish: $(tail -5 "$T/e2e.txt")"; fi
if [ "$E2E_FAILS" -ne 0 ] && [ -f "$T/e2e/host.log" ]; then echo "--- host log"; tail -30 "$T/e2e/host.log"; fi

fi

# --- Firefox, end to end: the same extension directory, card and page.
if [ "$ONLY" != chromium ]; then
echo "firefox: headless firefox-esr over Marionette" >&2
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
NONCE=$(python3 -c 'import base64,os;print(base64.b64encode(os.urandom(32)).decode())')
BIN=$BIN HOST_BIN=$HOST_BIN EXT=$ROOT/extension PORT=$PORT PKI=$T/pki NONCE=$NONCE WORK=$T/e2e-firefox AT=$NOW \
  NETNS_PID=$NETNS_PID SHOTS=$SHOTS timeout 300 node extension/test/e2e-firefox.mjs > "$T/e2e-firefox.txt" 2>&1
grep -E '^(ok|FAIL) ' "$T/e2e-firefox.txt"
FF_FAILS=$(grep -c '^FAIL ' "$T/e2e-firefox.txt")
FAILS=$((FAILS + FF_FAILS))
if ! grep -q '^e2e-firefox: ' "$T/e2e-firefox.txt"; then fail e2e-firefox "the Firefox test did not finish: $(tail -5 "$T/e2e-firefox.txt")"; fi
if [ "$FF_FAILS" -ne 0 ] && [ -f "$T/e2e-firefox/host.log" ]; then echo "--- host log (Firefox)"; tail -30 "$T/e2e-firefox/host.log"; fi
fi
finish
