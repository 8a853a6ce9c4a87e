#!/usr/bin/env python3
"""Compare the key figures of two report folders, number by number.

    keyfigures.py BASE NEW [NOTEBOOK ...]

Each notebook's key figures (BASE/<nb>.json, "figures" member) must be in NEW
with every number equal (relative 1e-12) and every string equal. Exits 1 and
lists the differences otherwise. `make test` uses it to check that notebooks
rendered from the paper suite's records show the figures they computed.
"""
import json
import os
import sys


def walk(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: only in the new figures")
            elif k not in b:
                out.append(f"{path}.{k}: missing from the new figures")
            else:
                walk(a[k], b[k], f"{path}.{k}", out)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items, now {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]", out)
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
        if a != b and abs(a - b) > 1e-12 * max(abs(a), abs(b)):
            out.append(f"{path}: {a} -> {b}")
    elif a != b:
        out.append(f"{path}: {str(a)[:80]!r} -> {str(b)[:80]!r}")


def compare(base, new, notebooks):
    bad = 0
    for nb in notebooks:
        pa, pb = os.path.join(base, nb + ".json"), os.path.join(new, nb + ".json")
        if not os.path.exists(pb):
            print(f"{nb}: no key figures in {new}")
            bad += 1
            continue
        out = []
        walk(json.load(open(pa))["figures"], json.load(open(pb))["figures"], "", out)
        print(f"{nb}: {'identical' if not out else str(len(out)) + ' differences'}")
        for o in out[:30]:
            print("   ", o)
        bad += bool(out)
    return bad


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    base, new = sys.argv[1], sys.argv[2]
    nbs = sys.argv[3:] or sorted(f[:-5] for f in os.listdir(base) if f.endswith(".json") and f[:2].isdigit())
    sys.exit(1 if compare(base, new, nbs) else 0)
