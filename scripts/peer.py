#!/usr/bin/env python3
"""One peer denoiser of ../shared/eval/baselines.py on one file, for scorers that take commands
(score_real.py):  $PY scripts/peer.py rnnoise IN OUT   (names: see baselines.METHODS)."""
import os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../shared/eval"))
import baselines
import soundfile as sf

name, inp, out = sys.argv[1:4]
x, sr = sf.read(inp, dtype="float32", always_2d=True)
sf.write(out, baselines.METHODS[name](x.mean(1), sr, {}), sr, subtype="FLOAT")
