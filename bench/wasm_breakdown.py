#!/usr/bin/env python3
"""What a wasm module's code is made of: sizes of function bodies grouped by crate (and, for
hoviat, by module), read from the module's name section. Usage:
    wasm_breakdown.py MODULE.wasm OUT.json
The module must keep its names (wasm-bindgen output optimised with `wasm-opt -Oz -g`); inlined
code counts towards the function it was inlined into. Prints a table and writes JSON."""
import collections
import json
import re
import sys


def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def read(path):
    data = open(path, 'rb').read()
    if data[:4] != b'\0asm':
        raise SystemExit(f'{path}: not a wasm module')
    i, sections = 8, []
    while i < len(data):
        sid = data[i]
        n, i = leb(data, i + 1)
        sections.append((sid, i, n))
        i += n
    imported, names, bodies, data_bytes = 0, {}, [], 0
    for sid, off, n in sections:
        j = off
        if sid == 2:  # imports: count the functions, which come first in the index space
            cnt, j = leb(data, j)
            for _ in range(cnt):
                for _ in range(2):
                    ln, j = leb(data, j)
                    j += ln
                kind = data[j]
                j += 1
                if kind == 0:
                    _, j = leb(data, j)
                    imported += 1
                elif kind == 1:
                    j += 1
                    flags = data[j]
                    _, j = leb(data, j + 1)
                    if flags & 1:
                        _, j = leb(data, j)
                elif kind == 2:
                    flags = data[j]
                    _, j = leb(data, j + 1)
                    if flags & 1:
                        _, j = leb(data, j)
                elif kind == 3:
                    j += 2
        elif sid == 10:
            cnt, j = leb(data, j)
            for _ in range(cnt):
                size, j = leb(data, j)
                bodies.append(size)
                j += size
        elif sid == 11:
            data_bytes += n
        elif sid == 0:
            ln, j = leb(data, j)
            if data[j:j + ln] == b'name':
                j += ln
                while j < off + n:
                    sub = data[j]
                    size, j = leb(data, j + 1)
                    end = j + size
                    if sub == 1:
                        cnt, j = leb(data, j)
                        for _ in range(cnt):
                            idx, j = leb(data, j)
                            ln, j = leb(data, j)
                            names[idx] = data[j:j + ln].decode('utf8', 'replace')
                            j += ln
                    j = end
    return [(names.get(k + imported, '?'), size) for k, size in enumerate(bodies)], data_bytes


def group(name):
    n = re.sub(r'\[[0-9a-f]{16}\]', '', name).lstrip('<&')
    if n.startswith('mut '):
        n = n[4:]
    if n.startswith('hoviat::'):
        parts = n.split('::')
        return 'hoviat::' + parts[1] + ('::' + parts[2] if parts[1] in ('pki', 'token') and len(parts) > 2 else '')
    m = re.match(r'([a-z_][a-z0-9_]*)::', n)
    if m:
        crate = m.group(1)
        return {'std': 'core/alloc/std', 'core': 'core/alloc/std', 'alloc': 'core/alloc/std',
                'serde_core': 'serde_json', 'const_oid': 'der', 'x509_cert': 'x509_cert'}.get(crate, crate)
    if 'externref' in n or n.startswith('__wbg') or n.startswith('__wbindgen') or 'shim' in n:
        return 'wasm-bindgen glue'
    if n.startswith('T as ') or n.startswith('char') or n.startswith('str '):
        return 'core/alloc/std'
    return 'other'


def main():
    path, out = sys.argv[1], sys.argv[2]
    funcs, data_bytes = read(path)
    total = sum(s for _, s in funcs)
    groups = collections.Counter()
    for name, size in funcs:
        groups[group(name)] += size
    rows = [{'group': g, 'bytes': b, 'share': round(100 * b / total, 1)} for g, b in groups.most_common()]
    for r in rows[:25]:
        print(f"{r['bytes']:8d} {r['share']:5.1f}% {r['group']}")
    print(f'{total} bytes of code in {len(funcs)} functions; {data_bytes} bytes of data')
    json.dump({'module': path, 'codeBytes': total, 'dataBytes': data_bytes, 'functions': len(funcs), 'groups': rows},
              open(out, 'w'), indent=1)


if __name__ == '__main__':
    main()
