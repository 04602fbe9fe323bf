#!/usr/bin/env python3
"""SI-SDR improvement of both (all three) outputs of `denoise separate` against each clean source,
plain and with trained separation bases, beside the same pipeline in librosa + scikit-learn.

  evaluate-separation.py CORPUS WORK [--denoise .build/release/denoise]

Makes the mixtures (make-separation-mixtures.py) in WORK/mixtures, trains every dictionary in
WORK/dicts without the tested music recordings (two folds; the street recording is one
xrec/exclude.txt leaves out), separates into WORK/out, prints a Markdown table.
"""
import argparse
import csv
import os
import subprocess
import sys
import time

import librosa
import numpy as np
import soundfile as sf
from sklearn.decomposition import NMF, non_negative_factorization

HERE = os.path.dirname(os.path.abspath(__file__))
N_FFT, HOP = 1024, 256


def si_sdr(estimate, reference):
    n = min(len(estimate), len(reference))
    e, r = estimate[:n].astype(np.float64), reference[:n].astype(np.float64)
    alpha = np.dot(e, r) / (np.dot(r, r) + 1e-12)
    target = alpha * r
    return 10 * np.log10((np.dot(target, target) + 1e-12) / (np.dot(e - target, e - target) + 1e-12))


def run(cmd):
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


# --- librosa + scikit-learn peer (the route of ../shared/eval/nmf_peer.py, N sources) ---
def mag(x):
    return np.abs(librosa.stft(x, n_fft=N_FFT, hop_length=HOP, window="hann")).astype(np.float32)


def peer_train(files, rank, iters=200):
    V = np.concatenate([mag(librosa.load(f, sr=16000, mono=True)[0]) for f in files], axis=1)
    V = V[:, V.sum(0) > 1e-6]
    m = NMF(n_components=rank, solver="mu", beta_loss="kullback-leibler", max_iter=iters, init="nndsvda", tol=0, random_state=0)
    m.fit(V.T)
    W = m.components_.T
    return (W / (W.sum(0, keepdims=True) + 1e-12)).astype(np.float32)


def peer_separate(x, dictionaries, iters=100, p=1.0):
    W = np.concatenate(dictionaries, axis=1)
    X = librosa.stft(x, n_fft=N_FFT, hop_length=HOP, window="hann")
    V = np.abs(X).astype(np.float32)
    H, _, _ = non_negative_factorization(V.T + 1e-9, H=W.T, n_components=W.shape[1], update_H=False, solver="mu",
                                         beta_loss="kullback-leibler", max_iter=iters, tol=0)
    H = H.T
    estimates, row = [], 0
    for D in dictionaries:
        estimates.append((D @ H[row:row + D.shape[1]]) ** p)
        row += D.shape[1]
    total = sum(estimates) + 1e-12
    return [librosa.istft(e / total * X, hop_length=HOP, window="hann", length=len(x)) for e in estimates]


def audio_files(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".flac"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("work")
    ap.add_argument("--denoise", default=os.path.join(HERE, "../.build/release/denoise"))
    a = ap.parse_args()
    mixdir, dicts, out = (os.path.join(a.work, d) for d in ("mixtures", "dicts", "out"))
    for d in (dicts, out):
        os.makedirs(d, exist_ok=True)
    run([sys.executable, os.path.join(HERE, "make-separation-mixtures.py"), a.corpus, mixdir])
    rows = list(csv.DictReader(open(os.path.join(mixdir, "manifest.csv"))))
    folds = {line.split()[0]: line.split()[1:] for line in open(os.path.join(mixdir, "folds.txt"))}
    excluded = {os.path.basename(l.strip()) for l in open(os.path.join(a.corpus, "xrec/exclude.txt"))}
    street_files = [f for f in audio_files(os.path.join(a.corpus, "noise/train/street_traffic")) if os.path.basename(f) not in excluded]
    speech_files = audio_files(os.path.join(a.corpus, "speech/train"))
    dn = a.denoise

    def path(name):
        return os.path.join(dicts, name)

    # denoise's dictionaries: the shipped speech one; music per fold; street; trained bases per fold and set.
    if not os.path.exists(path("street.safetensors")):
        run([dn, "train", *street_files, "-o", path("street.safetensors"), "--kind", "street", "--rank", "32", "-q"])
    for fold, music in folds.items():
        m = path(f"music-{fold}.safetensors")
        if not os.path.exists(m):
            run([dn, "train", *music, "-o", m, "--kind", "music", "--rank", "128", "-q"])
        for tag, extra in (("2", []), ("3", ["--source", f"street={path('street.safetensors')}"])):
            target = path(f"trained{tag}-{fold}")
            if os.path.exists(os.path.join(target, "music.safetensors")):
                continue
            audio = ["--audio", f"speech={os.path.join(a.corpus, 'speech/train')}"] + [x for f in music for x in ("--audio", f"music={f}")]
            if tag == "3":
                audio += [x for f in street_files for x in ("--audio", f"street={f}")]
            run([dn, "train-discriminative", "--source", "speech=speech", "--source", f"music={m}", *extra, *audio,
                 "--mixtures", "150", "--iterations", "100", "-o", target, "-q"])

    # The peer's dictionaries (cached).
    def peer_dict(name, files, rank):
        p = path(f"peer-{name}.npy")
        if not os.path.exists(p):
            np.save(p, peer_train(files, rank))
        return np.load(p)
    peer_speech = peer_dict("speech", speech_files, 64)
    peer_street = peer_dict("street", street_files, 32)

    results = {}  # (set, method) -> list of dicts source -> (ΔSI-SDR), snr
    timing = {}
    for fold in folds:
        for tag in ("2", "3"):
            names = ["speech", "music"] + (["street"] if tag == "3" else [])
            ids = [r for r in rows if r["fold"] == fold and (r["sources"].count("+") + 1) == len(names)]
            if not ids:
                continue
            mixes = [os.path.join(mixdir, f"{r['id']}.mix.wav") for r in ids]
            plain = ["--source", "speech=speech", "--source", f"music={path(f'music-{fold}.safetensors')}"]
            if tag == "3":
                plain += ["--source", f"street={path('street.safetensors')}"]
            trained = [x for n in names for x in ("--source", f"{n}={os.path.join(path(f'trained{tag}-{fold}'), n + '.safetensors')}")]
            methods = {"denoise separate (atoms)": plain, "denoise separate (trained bases)": trained}
            for method, sources in methods.items():
                target = os.path.join(out, f"{tag}-{fold}-{'trained' if 'trained' in method else 'plain'}")
                start = time.time()
                run([dn, "separate", *mixes, "-o", target, *sources, "-q"])
                timing[method] = timing.get(method, 0) + time.time() - start
                for r in ids:
                    got = {n: sf.read(os.path.join(target, f"{r['id']}.mix.{n}.wav"), dtype="float32")[0] for n in names}
                    results.setdefault((tag, method), []).append((r, got))
            peer_music = peer_dict(f"music-{fold}", folds[fold], 128)
            method = "librosa + scikit-learn NMF"
            for r in ids:
                x = sf.read(os.path.join(mixdir, f"{r['id']}.mix.wav"), dtype="float32")[0]
                start = time.time()
                parts = peer_separate(x, [peer_speech, peer_music] + ([peer_street] if tag == "3" else []))
                timing[method] = timing.get(method, 0) + time.time() - start
                results.setdefault((tag, method), []).append((r, dict(zip(names, parts))))

    print("| set | method | " + " | ".join(f"ΔSI-SDR {n}" for n in ("speech", "music", "street")) + " | speech at −5 / 0 / +5 dB | music at −5 / 0 / +5 dB |")
    print("|---|---|---|---|---|---|---|")
    for (tag, method), items in results.items():
        names = ["speech", "music"] + (["street"] if tag == "3" else [])
        gains = {n: [] for n in names}
        by_snr = {}
        for r, got in items:
            mix = sf.read(os.path.join(mixdir, f"{r['id']}.mix.wav"), dtype="float32")[0]
            for n in names:
                ref = sf.read(os.path.join(mixdir, f"{r['id']}.{n}.wav"), dtype="float32")[0]
                g = si_sdr(got[n], ref) - si_sdr(mix, ref)
                gains[n].append(g)
                by_snr.setdefault((n, int(r["snr"])), []).append(g)
        cells = [f"{np.mean(gains[n]):+.2f}" if n in gains else "" for n in ("speech", "music", "street")]
        snr = [" / ".join(f"{np.mean(by_snr[(n, s)]):+.1f}" if (n, s) in by_snr else "–" for s in (-5, 0, 5)) for n in ("speech", "music")]
        label = f"speech + music ({len(items)})" if tag == "2" else f"speech + music + street ({len(items)})"
        print(f"| {label} | {method} | " + " | ".join(cells) + " | " + " | ".join(snr) + " |")
    print()
    for method, t in timing.items():
        print(f"{method}: {t:.1f} s in all", file=sys.stderr)


if __name__ == "__main__":
    main()
