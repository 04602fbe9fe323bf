#!/usr/bin/env bash
# Scores denoise on the cross-recording pairs (../shared/corpus/xrec), the yardstick of quality:
# with dictionaries trained without the xrec recordings (xrec/exclude.txt), so that every noise
# recording scored is one the model never heard. Trains them first unless XREC_DICTS holds them.
#   scripts/evaluate-xrec.sh [peer names: rnnoise deepfilternet3 speexdsp …]
#   XREC_DICTS=/tmp/xrec-dicts GENERAL_ONLY=1 scripts/evaluate-xrec.sh   (the general model only:
#                                         about 1 hour of training on 2 cores instead of 3½)
#   LOWPASSED=1 …                        the same pairs low-passed at 4 / 5.8 / 7 kHz
#                                         (scripts/make-lowpassed-set.py), with and without --bandwidth
# Needs the scorer's environment: ../shared/eval/setup.sh (once).
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PY:-$HOME/.cache/denoise-eval/bin/python}
set_dir=../shared/corpus/xrec/mixtures
dicts=${XREC_DICTS:-/tmp/denoise-xrec-dictionaries}
[ -x .build/release/denoise ] || swift build -c release
if [ ! -f "$dicts/noise.safetensors" ]; then
  EXCLUDE=../shared/corpus/xrec/exclude.txt SPEECH=${SPEECH:-Dictionaries/speech.safetensors} scripts/train-dictionaries.sh "$dicts"
fi
run="DENOISE_DICTIONARIES=$dicts .build/release/denoise run {in} -o {out}"
stream="DENOISE_DICTIONARIES=$dicts .build/release/denoise run {in} -o - > {out}"   # cleaned as a stream (output '-')
if [ -n "${LOWPASSED:-}" ]; then
  lowpassed=${LOWPASSED_DIR:-/tmp/denoise-xrec-lowpassed}
  [ -f "$lowpassed/manifest.csv" ] || "$py" scripts/make-lowpassed-set.py "$set_dir" "$lowpassed"
  set_dir=$lowpassed
  methods=("cmd:$run --noise general" "cmd:$run --noise general --bandwidth full"
           "cmd:$run --noise general --no-steady-floor" "cmd:$run --noise general --no-steady-floor --bandwidth full")
else
  methods=("cmd:$run --noise general --no-adapt --no-steady-floor --no-pause-gate" "cmd:$run --noise general --no-steady-floor --no-pause-gate"
           "cmd:$run --noise general --no-pause-gate" "cmd:$run --noise general" "cmd:$run --noise general --noise-sample $(realpath "$set_dir")/{noise_ref}"
           "cmd:$stream")
  if [ -z "${GENERAL_ONLY:-}" ]; then
    methods=("cmd:$run --noise auto" "${methods[@]}" "cmd:$run --noise {noise_type}")
  fi
fi
"$py" ../shared/eval/score.py "$set_dir" noisy "${methods[@]}" "$@" --out "${OUT:-/tmp/denoise-xrec-scores.csv}" 2>/dev/null
