#!/usr/bin/env bash
# denoise against the same computation in Python (librosa STFT, scikit-learn NMF, Wiener mask,
# librosa ISTFT: ../shared/eval/nmf_peer.py), side by side in one run, whole process each:
#   1. run at setting R (n-fft 1024, hop 256, ranks 64 + 32, KL, 100 iterations, every bin) on a
#      generated 10-minute 16 kHz file, with the same dictionaries;
#   2. training: rank 64, 200 iterations of KL multiplicative updates on the training speech
#      (denoise: decoding and STFT included; scikit-learn: the fit alone, on as many frames).
# Needs the scorer's Python environment (../shared/eval/setup.sh). Not part of the test suite.
#   scripts/compare-python.sh [--skip-training]
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PY:-$HOME/.cache/denoise-eval/bin/python}
corpus=${CORPUS:-../shared/corpus}
minutes=${MINUTES:-10}
swift build -c release --product denoise >/dev/null
swift build -c release --product denoise-bench >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PYTHONPATH=../shared/eval

.build/release/denoise-bench --make-audio "$work/in.wav" $((60 * minutes))
"$py" - "$work" <<'PY'
import sys, numpy as np
from safetensors.numpy import load_file
w = sys.argv[1]
for name, path in [("speech", "Dictionaries/speech.safetensors"), ("noise", "Dictionaries/noise.safetensors")]:
    np.save(f"{w}/{name}.npy", load_file(path)["W"])
PY

elapsed() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
seconds() { local s=$(date +%s.%N); "$@" >/dev/null 2>&1; elapsed "$s"; }

echo "run, setting R, ${minutes}-minute 16 kHz file (whole process):"
t_denoise=$(seconds .build/release/denoise run "$work/in.wav" -o "$work/out.wav" --iterations 100 --bands 0 -q)
t_python=$(seconds "$py" -c "
import sys, numpy as np, soundfile as sf
from nmf_peer import nmf_supervised
x, sr = sf.read('$work/in.wav', dtype='float32')
ctx = {'speech_W': np.load('$work/speech.npy'), 'noise_W': np.load('$work/noise.npy')}
sf.write('$work/out-python.wav', nmf_supervised(x, sr, ctx, iters=100), sr)
")
printf "  denoise %8.2f s   python %8.2f s   denoise is %.1f× faster\n" "$t_denoise" "$t_python" "$(ratio "$t_python" "$t_denoise")"

[ "${1:-}" = "--skip-training" ] && exit 0
echo "train-speech, rank 64, 200 iterations, $corpus/speech/train:"
start=$(date +%s.%N)
report=$(.build/release/denoise train-speech "$corpus/speech/train" -o "$work/speech.safetensors" --rank 64 --iterations 200 --tolerance 0 2>&1)
t_denoise=$(elapsed "$start")
frames=$(echo "$report" | sed -n 's/.* \([0-9]*\) frames$/\1/p')
t_python=$("$py" -c "
import glob, time, numpy as np, librosa
from sklearn.decomposition import NMF
from nmf_peer import mag
V = np.concatenate([mag(librosa.load(f, sr=16000, mono=True)[0]) for f in sorted(glob.glob('$corpus/speech/train/*.flac'))], axis=1)
V = V[:, V.sum(0) > 1e-6][:, :$frames]
start = time.time()
NMF(n_components=64, solver='mu', beta_loss='kullback-leibler', max_iter=200, init='nndsvda', tol=0, random_state=0).fit(V.T)
print(time.time() - start)
")
printf "  denoise %8.2f s   scikit-learn %8.2f s (same %s frames)   denoise is %.1f× faster\n" "$t_denoise" "$t_python" "$frames" "$(ratio "$t_python" "$t_denoise")"
