#!/usr/bin/env bash
# Scores denoise on real noisy recordings without a clean reference (../shared/corpus/real) with
# DNSMOS P.835 (SIG speech, BAK background, OVRL overall), beside RNNoise and DeepFilterNet3.
#   scripts/evaluate-real.sh [more NAME=cmd:TEMPLATE methods]
# Needs the scorer's environment: ../shared/eval/setup.sh (once).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PY:-$HOME/.cache/denoise-eval/bin/python}
[ -x .build/release/denoise ] || swift build -c release
here=$(pwd)  # score_real.py runs each command in a folder of its own
run="$here/.build/release/denoise run {in} -o {out}"
"$py" ../shared/eval/score_real.py ../shared/corpus/real/catalog.tsv noisy \
    "defaults=cmd:$run" "no-pause-gate=cmd:$run --no-pause-gate" "no-steady-floor=cmd:$run --no-steady-floor --no-pause-gate" \
    "no-adapt=cmd:$run --no-adapt --no-steady-floor --no-pause-gate" "plain-general=cmd:$run --noise general --no-adapt --no-steady-floor --no-pause-gate" \
    "stream=cmd:$here/.build/release/denoise run {in} -o - > {out}" \
    "rnnoise=cmd:$py $here/scripts/peer.py rnnoise {in} {out}" "deepfilternet3=cmd:$py $here/scripts/peer.py deepfilternet3 {in} {out}" \
    "$@" --match-length --out-dir "${OUT_DIR:-/tmp/denoise-real}"
