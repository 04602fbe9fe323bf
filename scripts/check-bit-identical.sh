#!/usr/bin/env bash
# Shows that two builds of denoise give byte-identical outputs and trained dictionaries (for a
# refactoring that must not change behaviour): run with the defaults, --noise general, a named
# type, --noise-sample, --no-adapt, a stream, 48 kHz stereo, a --jobs 2 batch; separate; train-noise
# and train-discriminative (mask bases with context and solve layers; separation bases).
#   scripts/check-bit-identical.sh OLD/denoise NEW/denoise [NOISY.wav ...]
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2
shift 2
inputs=("$@")
[ ${#inputs[@]} -gt 0 ] || inputs=(Samples/speech-fan.wav Samples/speech-hum.wav Samples/speech-hiss.wav)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export DENOISE_DICTIONARIES="$PWD/Dictionaries"
sox "${inputs[0]}" -r 48000 -c 2 "$work/in48.wav" 2>/dev/null || cp "${inputs[0]}" "$work/in48.wav"
for side in old new; do
  d=${!side} o="$work/$side"
  mkdir -p "$o/batch" "$o/parts"
  f=${inputs[0]}
  "$d" run "$f" -o "$o/default.wav" -q
  "$d" run "$f" -o "$o/general.wav" --noise general -q
  "$d" run "$f" -o "$o/type.wav" --noise wind -q
  "$d" run "$f" -o "$o/sample.wav" --noise-sample Samples/fan-noise-sample.wav -q
  "$d" run "$f" -o "$o/no-adapt.wav" --no-adapt -q
  "$d" run - -o - < "$f" > "$o/stream.wav"
  "$d" run "$work/in48.wav" -o "$o/48k.wav" -q
  "$d" run "${inputs[@]}" -o "$o/batch" --jobs 2 -q
  "$d" separate "$f" -o "$o/parts" --source speech=speech --source fan=hair_dryer --source hum=fridge_hum -q 2>/dev/null || true
  "$d" train-noise Samples/fan-noise-sample.wav -o "$o/noise.safetensors" --rank 8 -q
  "$d" train-discriminative --speech-dict Dictionaries/speech.safetensors --noise-dict "$o/noise.safetensors" \
      --speech "${inputs[@]}" --noise Samples/fan-noise-sample.wav --mixtures 6 --seconds 2 --iterations 4 \
      --context-past 1 --context-future 1 --solve-layers 2 --layer-steps 2 -o "$o/disc.safetensors" -q
  "$d" train-discriminative --source speech=speech --source fan="$o/noise.safetensors" --audio speech="${inputs[0]}" \
      --audio fan=Samples/fan-noise-sample.wav --mixtures 4 --seconds 2 --iterations 3 -o "$o/separation" -q 2>/dev/null || true
done
status=0
for f in $(cd "$work/old" && find . -type f | sort); do
  if cmp -s "$work/old/$f" "$work/new/$f"; then echo "same       $f"; else echo "DIFFERENT  $f"; status=1; fi
done
exit $status
