#!/usr/bin/env bash
# Scores denoise (shipped defaults, which pick the noise dictionary per file; the general model
# alone; with the noise type named; with a 4 s noise-only clip of the same noise as
# --noise-sample; and without the noise atoms learned from each file's pauses, --no-adapt) against the noisy input on the
# 64 development pairs, with ../shared/eval/score.py. Add peer names as arguments to score them too:
#   scripts/evaluate.sh [speexdsp rnnoise deepfilternet3 noisereduce …]
# Needs the scorer's environment: ../shared/eval/setup.sh (once).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PY:-$HOME/.cache/denoise-eval/bin/python}
set_dir=${SET_DIR:-../shared/corpus/mixtures}
[ -x .build/release/denoise ] || swift build -c release
"$py" ../shared/eval/score.py "$set_dir" noisy \
    "cmd:.build/release/denoise run {in} -o {out}" \
    "cmd:.build/release/denoise run {in} -o {out} --noise general" \
    "cmd:.build/release/denoise run {in} -o {out} --noise {noise_type}" \
    "cmd:.build/release/denoise run {in} -o {out} --noise-sample $set_dir/{noise_ref}" \
    "cmd:.build/release/denoise run {in} -o {out} --no-adapt" \
    "$@" --out "${OUT:-/tmp/denoise-scores.csv}" 2>/dev/null
