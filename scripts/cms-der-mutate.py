#!/usr/bin/env python3
"""Mutations of a DER CMS SignedData for scripts/cms-tests.sh (test equipment).

A minimal DER tree (definite lengths, one-byte tags): unchanged nodes re-serialise to the same
bytes, so each mutation changes exactly what it names.

usage: cms-der-mutate.py OP IN OUT [ARG]
  flip-content     flip the last byte of the attached eContent
  flip-md          flip a byte of signer 0's messageDigest attribute value
  swap-attrs       swap signer 0's first two signed attributes (same attributes, other encoding)
  flip-sig         flip a byte of signer 0's signature
  swap-cert CERT   replace signer 0's embedded certificate by CERT (DER) and make its
                   issuerAndSerialNumber name it
"""
import sys

MD_OID = bytes.fromhex("06092a864886f70d010904")


def parse(b, i=0):
    tag = b[i]
    n = b[i + 1]
    j = i + 2
    if n & 0x80:
        k = n & 0x7F
        n = int.from_bytes(b[j:j + k], "big")
        j += k
    v = b[j:j + n]
    end = j + n
    if tag & 0x20:
        kids, p = [], 0
        while p < len(v):
            kid, p = parse(v, p)
            kids.append(kid)
        return [tag, kids], end
    return [tag, v], end


def ser(node):
    tag, v = node
    body = b"".join(ser(k) for k in v) if isinstance(v, list) else v
    n = len(body)
    if n < 0x80:
        hdr = bytes([n])
    else:
        lb = n.to_bytes((n.bit_length() + 7) // 8, "big")
        hdr = bytes([0x80 | len(lb)]) + lb
    return bytes([tag]) + hdr + body


def flip(v, at=-1):
    b = bytearray(v)
    b[at] ^= 0x01
    return bytes(b)


def main():
    op, src, dst = sys.argv[1:4]
    root, _ = parse(open(src, "rb").read())
    sd = root[1][1][1][0]
    fields = sd[1]
    signer = fields[-1][1][0]
    attrs = next((f for f in signer[1] if f[0] == 0xA0), None)
    if op == "flip-content":
        os_node = fields[2][1][1][1][0]
        os_node[1] = flip(os_node[1])
    elif op == "flip-md":
        for a in attrs[1]:
            if ser(a[1][0]) == MD_OID:
                val = a[1][1][1][0]
                val[1] = flip(val[1], 0)
    elif op == "swap-attrs":
        attrs[1][0], attrs[1][1] = attrs[1][1], attrs[1][0]
    elif op == "flip-sig":
        sig = next(f for f in signer[1] if f[0] == 0x04)
        sig[1] = flip(sig[1], len(sig[1]) // 2)
    elif op == "swap-cert":
        other, _ = parse(open(sys.argv[4], "rb").read())
        tbs = other[1][0][1]
        serial, issuer = tbs[1], tbs[3]
        sid = signer[1][1]
        for f in fields:
            if f[0] == 0xA0:
                f[1] = [other if ser(c[1][0][1][1]) == ser(sid[1][1]) else c for c in f[1]]
        sid[1] = [issuer, serial]
    else:
        sys.exit("unknown op " + op)
    open(dst, "wb").write(ser(root))


main()
