#!/usr/bin/env bash
# How the default choice of noise dictionary (--noise auto) fares on noise of a kind it has no dictionary for: each development pair is
# cleaned with its own noise type's dictionary removed from the shipped set (leave one type out),
# so auto must choose between the general model and the 19 other types; also with --no-adapt. Scored
# beside the general model with ../shared/eval/score.py (needs ../shared/eval/setup.sh once).
#   scripts/evaluate-unseen.sh
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PY:-$HOME/.cache/denoise-eval/bin/python}
set_dir=${SET_DIR:-../shared/corpus/mixtures}
[ -x .build/release/denoise ] || swift build -c release
dicts=$(pwd)/Dictionaries
loo=$(mktemp -d)
trap 'rm -rf "$loo"' EXIT
types=$(ls "$dicts/noise" | sed 's/\.safetensors$//')
for t in $types; do
  mkdir -p "$loo/$t/noise"
  ln -s "$dicts/speech.safetensors" "$dicts/noise.safetensors" "$loo/$t/"
  for u in $types; do [ "$u" = "$t" ] || ln -s "$dicts/noise/$u.safetensors" "$loo/$t/noise/"; done
done
"$py" ../shared/eval/score.py "$set_dir" noisy \
    "cmd:.build/release/denoise run {in} -o {out} --noise general" \
    "cmd:DENOISE_DICTIONARIES=$loo/{noise_type} .build/release/denoise run {in} -o {out} --noise auto" \
    "cmd:DENOISE_DICTIONARIES=$loo/{noise_type} .build/release/denoise run {in} -o {out} --noise auto --no-adapt" \
    --out "${OUT:-/tmp/denoise-unseen-scores.csv}" 2>/dev/null
