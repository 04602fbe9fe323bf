#!/usr/bin/env python3
"""Noisy/clean pairs at 48 kHz whose noise is strong above 8 kHz (hiss, a spray, a fan's whine), for
the full-band checks: the clean voices of ../shared/corpus/fullband with synthetic noise at 0/5/10 dB.
  $PY scripts/make-highband-pairs.py OUT_DIR        (then score.py OUT_DIR METHOD...)
Needs the scorer's environment (../shared/eval/setup.sh). Writes only OUT_DIR (never the repo)."""
import csv, os, sys
import numpy as np, soundfile as sf
from scipy.signal import butter, sosfilt

out = sys.argv[1]
src = os.path.join(os.path.dirname(__file__), "../../shared/corpus/fullband/mixtures")
rows = list(csv.DictReader(open(os.path.join(src, "manifest.csv"))))
cleans = sorted({r["clean"] for r in rows})[:6]
rng = np.random.default_rng(14)
os.makedirs(os.path.join(out, "noisy"), exist_ok=True); os.makedirs(os.path.join(out, "clean"), exist_ok=True)

def noise(kind, n, sr):
    w = rng.standard_normal(n)
    if kind == "hiss":   # white: flat to 24 kHz
        return w
    if kind == "spray":  # 6-16 kHz band in bursts of about half a second
        x = sosfilt(butter(4, [6000, 16000], "bandpass", fs=sr, output="sos"), w)
        env = np.repeat(rng.random(n // (sr // 2) + 1) > 0.4, sr // 2)[:n].astype(float)
        return x * np.convolve(env, np.hanning(2400) / 1200, "same")
    # whine: a fan's broadband hum plus tones at 9.5 and 13 kHz
    t = np.arange(n) / sr
    return sosfilt(butter(2, 3000, "lowpass", fs=sr, output="sos"), w) * 0.5 + 0.3 * np.sin(2 * np.pi * 9500 * t) + 0.2 * np.sin(2 * np.pi * 13000 * t)

with open(os.path.join(out, "manifest.csv"), "w", newline="") as f:
    m = csv.writer(f)
    m.writerow(["id", "noisy", "clean", "noise_type", "snr", "speaker", "noise_ref", "recording"])
    k = 0
    for kind in ["hiss", "spray", "whine"]:
        for snr in [0, 5, 10]:
            clean_path = cleans[k % len(cleans)]
            s, sr = sf.read(os.path.join(src, clean_path), dtype="float64")
            v = noise(kind, len(s), sr)
            v *= np.sqrt(np.mean(s ** 2) / np.mean(v ** 2) / 10 ** (snr / 10))
            x = s + v
            peak = max(np.abs(x).max(), 1e-9)
            g = min(1.0, 0.95 / peak)
            name = f"h{k:03d}_{kind}_{snr:+d}dB.flac"
            sf.write(os.path.join(out, "noisy", name), x * g, sr, subtype="PCM_16")
            sf.write(os.path.join(out, "clean", name), s * g, sr, subtype="PCM_16")
            m.writerow([name[:-5], f"noisy/{name}", f"clean/{name}", kind, snr, clean_path.split("/")[-1].split("_")[0], "", kind])
            k += 1
print(f"{k} pairs in {out}")
