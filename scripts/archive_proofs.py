#!/usr/bin/env python3
"""Independent check of hoviat's archive, written from RFC 6962 §2.1 / RFC 9162 §2.1.3.2 and
§2.1.4.2 and C2SP signed-note / tlog-checkpoint, sharing no code with the Rust under test.

usage: archive_proofs.py LEAVES_FILE VKEY_FILE PROOF.json...
  LEAVES_FILE: the log's leaf data (issuer-signed JWTs), one per line, in index order.
  Each PROOF.json is `hoviat archive prove` output (inclusion, optional consistency).
Checks: the checkpoint's Ed25519 note signature with the verifier key; the Merkle tree hash of
the first `size` leaves equals the checkpoint's root; each inclusion proof and consistency proof
verifies; and a proof with one hash flipped does NOT verify. Prints `ok ...` / `FAIL ...` lines,
exit status 1 on any failure."""
import base64, hashlib, json, struct, sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def H(b):
    return hashlib.sha256(b).digest()


def leaf_hash(d):
    return H(b"\x00" + d)


def node(l, r):
    return H(b"\x01" + l + r)


def mth(leaves):  # RFC 6962 §2.1, recursive definition
    n = len(leaves)
    if n == 0:
        return H(b"")
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return node(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(index, size, lh, path, root):  # RFC 9162 §2.1.3.2
    if index >= size:
        return False
    fn, sn, r = index, size - 1, lh
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(first, second, first_hash, second_hash, path):  # RFC 9162 §2.1.4.2
    if first == second:
        return not path and first_hash == second_hash
    if first == 0 or first > second or not path:
        return False
    if first & (first - 1) == 0:  # a power of 2
        path = [first_hash] + list(path)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == first_hash and sr == second_hash and sn == 0


def open_note(note, vkey):  # C2SP signed-note, Ed25519 (type 0x01)
    name, kid, key = vkey.strip().split("+", 2)
    key = base64.b64decode(key)
    assert key[0] == 1, "not an Ed25519 verifier key"
    pub = Ed25519PublicKey.from_public_bytes(key[1:])
    text, sigs = note.split("\n\n", 1)
    text += "\n"
    ok = False
    for line in sigs.splitlines():
        if not line.startswith("\u2014 "):
            continue
        sname, sig = line[2:].split(" ")
        sig = base64.b64decode(sig)
        if sname == name and sig[:4] == bytes.fromhex(kid):
            pub.verify(sig[4:], text.encode())  # raises on a bad signature
            ok = True
    if not ok:
        raise ValueError("no signature by " + name)
    origin, size, root = text.splitlines()[:3]
    if origin != name:
        raise ValueError("origin is not the key name")
    return int(size), base64.b64decode(root)


failed = 0


def check(name, cond):
    global failed
    print(("ok " if cond else "FAIL ") + name + ("" if cond else ": mismatch"))
    failed += 0 if cond else 1


leaves = [l.rstrip("\n").encode() for l in open(sys.argv[1]) if l.strip()]
vkey = open(sys.argv[2]).read()
for f in sys.argv[3:]:
    p = json.load(open(f))
    size, root = open_note(p["checkpoint"], vkey)
    check(f"python: note signature and tree hash of {size} leaves ({f})", mth(leaves[:size]) == root)
    i = p["index"]
    jwt = p["record"].split("~")[0].encode()
    check(f"python: leaf {i} is the record's issuer-signed part", jwt == leaves[i])
    path = [base64.b64decode(x) for x in p["inclusion"]]
    check(f"python: inclusion of {i} in {size} ({len(path)} hashes)", verify_inclusion(i, size, leaf_hash(jwt), path, root))
    if path:
        bad = list(path)
        bad[len(bad) // 2] = bytes([bad[len(bad) // 2][0] ^ 1]) + bad[len(bad) // 2][1:]
        check(f"python: a flipped inclusion hash is refused ({i} in {size})", not verify_inclusion(i, size, leaf_hash(jwt), bad, root))
    c = p.get("consistency")
    if c:
        m = c["fromSize"]
        old = base64.b64decode(c["fromRoot"])
        check(f"python: root of size {m} recomputed", mth(leaves[:m]) == old)
        cp = [base64.b64decode(x) for x in c["proof"]]
        check(f"python: consistency {m} -> {size} ({len(cp)} hashes)", verify_consistency(m, size, old, root, cp))
        if cp:
            bad = list(cp)
            bad[-1] = bytes([bad[-1][0] ^ 1]) + bad[-1][1:]
            check(f"python: a flipped consistency hash is refused ({m} -> {size})", not verify_consistency(m, size, old, root, bad))
sys.exit(1 if failed else 0)
