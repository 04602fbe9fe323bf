#!/usr/bin/env python3
"""Speech + music (and speech + music + street noise) mixtures for measuring `denoise separate`.

Music recordings are never heard in training: two folds, each testing on the last quarter of two
music recordings (noise/test/music) with a music dictionary trained on the first three quarters of
the other three (noise/train/music). The street noise is the test part of a recording that
`xrec/exclude.txt` leaves out of training.

  make-separation-mixtures.py CORPUS OUT
writes OUT/<id>.mix.wav, .speech.wav, .music.wav (and .street.wav), OUT/manifest.csv and
OUT/folds.txt (which training recordings each fold's music dictionary may use).
"""
import csv
import os
import sys

import numpy as np
import soundfile as sf

FOLDS = {
    "A": ["LIBROSA-Kevin_MacLeod_-_Vibe_Ace", "LIBROSA-admiralbob77_-_Choice_-_Drum-bass"],
    "B": ["LIBROSA-Karissa_Hobbs_-_Lets_Go_Fishin", "LIBROSA-Kevin_MacLeod_-_P_I_Tchaikovsky_Dance_of"],
}
ALL_MUSIC = FOLDS["A"] + FOLDS["B"] + ["LIBROSA-sorohanro_-_solo-trumpet-06"]
STREET = "PST-street-2019-08-19-10.07.44"
SNRS = [-5, 0, 5]


def power(x):
    return float(np.mean(x.astype(np.float64) ** 2)) + 1e-20


def excerpt(x, n, rng):
    if len(x) <= n:
        return np.resize(x, n)
    start = int(rng.integers(0, len(x) - n + 1))
    return x[start:start + n]


def main(corpus, out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(7)
    speech = sorted(os.listdir(os.path.join(corpus, "speech/test")))
    music = {name: sf.read(os.path.join(corpus, "noise/test/music", name + ".flac"), dtype="float32")[0]
             for fold in FOLDS.values() for name in fold}
    street = sf.read(os.path.join(corpus, "noise/test/street_traffic", STREET + ".flac"), dtype="float32")[0]
    rows = []
    for i, name in enumerate(speech):
        s, rate = sf.read(os.path.join(corpus, "speech/test", name), dtype="float32")
        fold = "AB"[i % 2]
        rec = FOLDS[fold][(i // 2) % 2]
        snr = SNRS[i % 3]
        m = excerpt(music[rec], len(s), rng)
        m = m * np.sqrt(power(s) / power(m) / 10 ** (snr / 10))
        parts = {"speech": s, "music": m}
        # Every fifth utterance (of both folds, every music recording and SNR) also gets street
        # noise 5 dB below the speech.
        if i % 5 == 0:
            n = excerpt(street, len(s), rng)
            parts["street"] = n * np.sqrt(power(s) / power(n) / 10 ** (5 / 10))
        mix = sum(parts.values())
        peak = max(np.max(np.abs(mix)), 1e-9)
        scale = min(1.0, 0.95 / peak)
        ident = f"sep{i:02d}"
        for k, x in parts.items():
            sf.write(os.path.join(out, f"{ident}.{k}.wav"), (x * scale).astype(np.float32), rate, subtype="FLOAT")
        sf.write(os.path.join(out, f"{ident}.mix.wav"), (mix * scale).astype(np.float32), rate, subtype="FLOAT")
        rows.append({"id": ident, "fold": fold, "music": rec, "snr": snr, "sources": "+".join(parts)})
    with open(os.path.join(out, "manifest.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    with open(os.path.join(out, "folds.txt"), "w") as f:
        for fold, tested in FOLDS.items():
            train = [os.path.abspath(os.path.join(corpus, "noise/train/music", r + ".flac")) for r in ALL_MUSIC if r not in tested]
            f.write(fold + " " + " ".join(train) + "\n")
    print(f"{len(rows)} mixtures in {out}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
