#!/usr/bin/env python3
"""PDF helpers for scripts/cms-tests.sh (test equipment).

  cms-pdf-tool.py blank OUT                         a minimal one-page PDF
  cms-pdf-tool.py sign KEY CERT CHAIN IN OUT [MD]   sign with pyHanko (an independent PDF signer)
  cms-pdf-tool.py extract PDF CMS_OUT CONTENT_OUT   the last signature's CMS and signed bytes
                                                   (by its /ByteRange), for openssl cms -verify
"""
import re
import sys


def blank(dst):
    objs = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = bytearray(b"%PDF-1.7\n")
    offs = []
    for i, o in enumerate(objs, 1):
        offs.append(len(out))
        out += b"%d 0 obj\n" % i + o + b"\nendobj\n"
    x = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    for o in offs:
        out += b"%010d 00000 n \n" % o
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, x)
    open(dst, "wb").write(out)


def sign(key, cert, chain, src, dst, md="sha256"):
    from pyhanko.sign import signers
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    s = signers.SimpleSigner.load(key, cert, ca_chain_files=(chain,))
    with open(src, "rb") as f:
        w = IncrementalPdfFileWriter(f)
        with open(dst, "wb") as out:
            meta = signers.PdfSignatureMetadata(field_name="Sig1", md_algorithm=md)
            signers.sign_pdf(w, meta, signer=s, output=out)


def extract(pdf, cms_out, content_out):
    b = open(pdf, "rb").read()
    m = list(re.finditer(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", b))[-1]
    a, l1, c, l2 = (int(x) for x in m.groups())
    hexstr = re.sub(rb"\s", b"", b[a + l1 + 1:c - 1])
    der = bytes.fromhex(hexstr.decode())
    n = der[1]
    length = 2 + n if n < 0x80 else 2 + (n & 0x7F) + int.from_bytes(der[2:2 + (n & 0x7F)], "big")
    open(cms_out, "wb").write(der[:length])
    open(content_out, "wb").write(b[a:a + l1] + b[c:c + l2])


op = sys.argv[1]
{"blank": blank, "sign": sign, "extract": extract}[op](*sys.argv[2:])
