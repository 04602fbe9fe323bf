#!/usr/bin/env python3
"""A band-limited copy of a pair set (xrec by default): noisy, clean and noise_ref through the same
steep low-pass (Butterworth order 12, forward and backward), cutoffs 4.0 / 5.8 / 7.0 kHz in turn,
like a phone's, a codec's or a video site's band. The manifest gains a `cutoff` column.
    make-lowpassed-set.py SET_DIR OUT_DIR     (the scorer's Python: ../shared/eval/setup.sh)"""
import csv, os, sys
import numpy as np, soundfile as sf
from scipy.signal import butter, sosfiltfilt

src, out = (p.rstrip("/") + "/" for p in sys.argv[1:3])
rows = list(csv.DictReader(open(src + "manifest.csv")))
cutoffs = [4000, 5800, 7000]
written = []
for i, r in enumerate(rows):
    fc = cutoffs[i % len(cutoffs)]
    for key in ["noisy", "clean", "noise_ref"]:
        x, sr = sf.read(src + r[key])
        os.makedirs(os.path.dirname(out + r[key]), exist_ok=True)
        sf.write(out + r[key], sosfiltfilt(butter(12, fc, fs=sr, output="sos"), x, axis=0).astype(np.float32), sr, subtype="PCM_16")
    written.append(dict(r, cutoff=fc))
with open(out + "manifest.csv", "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=list(written[0].keys()))
    w.writeheader()
    w.writerows(written)
print(f"{len(written)} pairs written to {out}")
