#!/usr/bin/env python3
"""Scores cleaners on long recordings whose noise changes (scripts/make-long-set.py), pair by pair.

    evaluate-long.py SET_DIR NAME=TEMPLATE... [--work DIR] [--out scores.csv]

Each TEMPLATE (a shell command with {in} and {out}) cleans every long recording of SET_DIR whole;
its output is cut back at the places of the xrec pairs it was made of, and the pieces are scored
by ../shared/eval/score.py against the pairs' own references, as xrec itself is scored. The piece
of a pair carries what the cleaner learned (or failed to learn) from the rest of the recording.
"""
import argparse, csv, os, subprocess, sys
import soundfile as sf

ap = argparse.ArgumentParser()
ap.add_argument("set_dir"); ap.add_argument("methods", nargs="+")
ap.add_argument("--work", default="/tmp/denoise-long-work")
ap.add_argument("--out", default="/tmp/denoise-long-scores.csv")
a = ap.parse_args()
here = os.path.dirname(os.path.abspath(__file__))
rows = list(csv.DictReader(open(os.path.join(a.set_dir, "manifest.csv"))))
longs = sorted({r["long"] for r in rows})
methods = []
for spec in a.methods:
    name, template = spec.split("=", 1)
    methods.append(name)
    pieces = os.path.join(a.work, name)
    os.makedirs(pieces, exist_ok=True)
    for long in longs:
        noisy = os.path.join(a.set_dir, "long/noisy", long + ".wav")
        out = os.path.join(a.work, f"{name}.{long}.wav")
        cmd = template.replace("{in}", noisy).replace("{out}", out)
        subprocess.run(cmd, shell=True, check=True)
        y, rate = sf.read(out, dtype="float32")
        for r in rows:
            if r["long"] == long:
                start, frames = int(r["start"]), int(r["frames"])
                sf.write(os.path.join(pieces, r["id"] + ".wav"), y[start:start + frames], rate, subtype="FLOAT")
        print(f"{name}: {long} cleaned", file=sys.stderr, flush=True)
score = os.path.join(here, "../../shared/eval/score.py")
subprocess.run([sys.executable, score, a.set_dir, "noisy"]
               + [f"cmd:cp {os.path.join(a.work, m)}/{{id}}.wav {{out}}" for m in methods] + ["--out", a.out],
               check=True, stderr=subprocess.DEVNULL)
