#!/usr/bin/env python3
"""Long recordings whose noise changes, from the xrec pairs (../shared/corpus/xrec/mixtures).

    make-long-set.py XREC_DIR OUT_DIR [--types-per-recording 3] [--seed 0]

Each long recording strings together the pairs of a few noise types, one type after another (the
~6 pairs of a type, about a minute, then the next type's), so that the noise changes every minute
or so, as in a field recording moved from room to street. OUT_DIR gets long/noisy/*.wav and
long/clean/*.wav, and a pair-level manifest (manifest.csv, score.py's columns plus `long`,
`start`, `frames`) that names each original pair's place in its long recording, so a long output
cut back at those places is scored pair by pair against the same references as xrec itself.
"""
import argparse, csv, os, random
import numpy as np
import soundfile as sf

ap = argparse.ArgumentParser()
ap.add_argument("xrec"); ap.add_argument("out")
ap.add_argument("--types-per-recording", type=int, default=3)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()

rows = list(csv.DictReader(open(os.path.join(a.xrec, "manifest.csv"))))
by_type = {}
for r in rows: by_type.setdefault(r["noise_type"], []).append(r)
types = sorted(by_type)
random.Random(a.seed).shuffle(types)
groups = [types[i:i + a.types_per_recording] for i in range(0, len(types), a.types_per_recording)]
for d in ("long/noisy", "long/clean"): os.makedirs(os.path.join(a.out, d), exist_ok=True)
out_rows = []
for g, group in enumerate(groups):
    name = f"long{g}_" + "-".join(group)
    noisy, clean, start = [], [], 0
    for t in group:
        for r in sorted(by_type[t], key=lambda r: r["id"]):
            x, rate = sf.read(os.path.join(a.xrec, r["noisy"]), dtype="float32")
            s, _ = sf.read(os.path.join(a.xrec, r["clean"]), dtype="float32")
            assert rate == 16000 and len(x) == len(s)
            noisy.append(x); clean.append(s)
            out_rows.append({**{k: (os.path.relpath(os.path.join(a.xrec, r[k]), a.out) if k in ("noisy", "clean", "noise_ref") else r[k]) for k in r},
                             "long": name, "start": start, "frames": len(x)})
            start += len(x)
    sf.write(os.path.join(a.out, "long/noisy", name + ".wav"), np.concatenate(noisy), 16000, subtype="FLOAT")
    sf.write(os.path.join(a.out, "long/clean", name + ".wav"), np.concatenate(clean), 16000, subtype="FLOAT")
    print(name, f"{start / 16000:.1f} s")
with open(os.path.join(a.out, "manifest.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(out_rows[0].keys()))
    w.writeheader(); w.writerows(out_rows)
