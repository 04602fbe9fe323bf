#!/usr/bin/env python3
"""Musical-noise check: cleans every fourth development pair with `denoise run` and measures, in the
clean speech's pauses (frames more than 30 dB below its loudest), the log kurtosis ratio of the
output's power against the noise alone's (Uemura et al. 2009: each bin normalized by its mean; 0 =
unchanged, above 0 = more isolated peaks, the signature of musical noise) and by how much the
pauses are attenuated.

    ~/.cache/denoise-eval/bin/python scripts/musical-noise.py [run options…]
    e.g. scripts/musical-noise.py --noise general --gain-exponent 1

Needs the scorer's environment (../shared/eval/setup.sh) for numpy, scipy and soundfile.
"""
import csv, os, subprocess, sys, tempfile
import numpy as np, soundfile as sf
from scipy.signal import stft

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
set_dir = os.environ.get('SET_DIR', os.path.join(root, '../shared/corpus/mixtures'))
denoise = os.path.join(root, '.build/release/denoise')
rows = list(csv.DictReader(open(os.path.join(set_dir, 'manifest.csv'))))[::4]


def power(x):
    return np.abs(stft(x, nperseg=1024, noverlap=768, window='hann')[2]) ** 2


def kurtosis(p):  # bins × frames power, each bin normalized by its mean, pooled
    z = (p / (p.mean(1, keepdims=True) + 1e-20)).ravel()
    return ((z - z.mean()) ** 4).mean() / (z.var() ** 2 + 1e-30)


ratios, attenuation = [], []
with tempfile.TemporaryDirectory() as tmp:
    for r in rows:
        noisy, out = os.path.join(set_dir, r['noisy']), os.path.join(tmp, r['id'] + '.wav')
        subprocess.run([denoise, 'run', noisy, '-o', out] + sys.argv[1:], check=True)
        x, _ = sf.read(noisy)
        c, _ = sf.read(os.path.join(set_dir, r['clean']))
        y, _ = sf.read(out)
        pc, pn, py = power(c), power(x - c), power(y)
        level = 10 * np.log10(pc.sum(0) + 1e-20)
        pause = level < level.max() - 30
        if pause.sum() < 10:
            continue
        ratios.append(np.log(kurtosis(py[:, pause]) / kurtosis(pn[:, pause])))
        attenuation.append(10 * np.log10(pn[:, pause].sum() / (py[:, pause].sum() + 1e-20)))
print(f'log kurtosis ratio {np.mean(ratios):+.2f} over {len(ratios)} pairs, '
      f'pauses attenuated {np.mean(attenuation):.1f} dB')
