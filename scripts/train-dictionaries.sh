#!/usr/bin/env bash
# Retrains the shipped dictionaries from the shared corpus (../shared/corpus beside the repo).
#   scripts/train-dictionaries.sh [OUT_DIR]     (default: Dictionaries; about 3½ hours on 2 cores)
#   MASKS_ONLY=1 scripts/train-dictionaries.sh  (only the mask bases and solve layers, on the existing
#                                                dictionaries: after a change of the run's defaults)
#   EXCLUDE=../shared/corpus/xrec/exclude.txt scripts/train-dictionaries.sh /tmp/xrec-dicts
#                                               (the xrec protocol: the listed noise recordings are left
#                                                out of every training, so xrec scores generalization)
#   SPEECH=Dictionaries/speech.safetensors      reuse a speech dictionary (the noise exclusion does not
#                                                touch it) instead of training one
#   SPEECH_RANK=K                               the speech dictionary's rank (64; experiments)
#   GENERAL_MIXTURES=N, GENERAL_SEED=S          the general model's training mixtures (150) and their
#                                                seed (0; experiments: the learning curve on xrec)
#   GENERAL_ONLY=1                              only the general noise model, no per-type ones
#   ALL_TYPES=1                                 also the retired types (to measure them again on xrec)
#   VOICE_TYPES=1                               the general model also learns the types that hold voices
#                                                (babble_cafe, crowd, office, music; measured, not shipped)
#   EXTRA_NOISE=DIR                             the general model also learns DIR/<type>/ (scripts/fetch-extra-noise.sh;
#                                                a type the corpus has is merged into it)
#   EXTRA_SPEECH=DIR                            the speech dictionary and the mask bases and layers also learn
#                                                the voices in DIR (scripts/fetch-extra-speech.sh; measured, not shipped)
#   TYPES_ONLY=1                                only the per-type models, beside an existing general one
#   REUSE_UNTOUCHED=1                           with EXCLUDE: per-type models only for the types the list
#                                                touches; the others are copied from Dictionaries/noise
#                                                (the same recordings and seeds give the same models)
# The exact commands below are the recipe recorded in the README.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${CORPUS:-../shared/corpus}
out=${1:-Dictionaries}
flags=${TRAIN_FLAGS:-}   # extra options for every training command (experiments)
mask_flags=${MASK_FLAGS:-}   # extra options for the general model's train-discriminative (experiments)
bin=.build/release/denoise
[ -x "$bin" ] || swift build -c release
mkdir -p "$out/noise"
speech="$out/speech.safetensors"
# The clean speech every model learns: the corpus's training speakers (and EXTRA_SPEECH's voices).
speech_audio=("$corpus/speech/train")
[ -z "${EXTRA_SPEECH:-}" ] || speech_audio+=("$EXTRA_SPEECH")

masks_only=${MASKS_ONLY:-}
train() { [ -n "$masks_only" ] || "$bin" "$@"; }

# The noise types to train on: the corpus's own folders, or, with EXCLUDE, a tree of links to
# every recording the list does not name (paths in it are relative to the corpus).
noise_root="$corpus/noise/train"
if [ -n "${EXCLUDE:-}" ]; then
  noise_root=$(mktemp -d)
  trap 'rm -rf "$noise_root"' EXIT
  for dir in "$corpus"/noise/train/*/; do
    type=$(basename "$dir")
    mkdir -p "$noise_root/$type"
    for f in "$dir"*; do
      grep -qxF "noise/train/$type/$(basename "$f")" "$EXCLUDE" || ln -s "$(realpath "$f")" "$noise_root/$type/"
    done
    [ -n "$(ls -A "$noise_root/$type")" ] || rmdir "$noise_root/$type"
  done
fi

# Speech: every training speaker (170 utterances, ~35 min).
if [ -n "${SPEECH:-}" ]; then
  [ "$(realpath "$SPEECH")" = "$(realpath -m "$speech")" ] || cp "$SPEECH" "$speech"
else
  train train-speech "${speech_audio[@]}" -o "$speech" --rank "${SPEECH_RANK:-64}" --iterations 200 --seed 0 $flags
fi

# Mask bases see the activations of 5 frames before and after each frame (80 ms more latency).
# On the general model (dev pairs, mean ΔSI-SDR): frame only +2.80 dB, ±1 frame +2.92, ±3 +3.33,
# ±5 +3.72 (with 150 iterations); 150 mixtures instead of 60 added 0.1 dB at ±3.
context="--context-past 5 --context-future 5"
# The last 20 of the solve's 40 iterations get trained atoms of their own (deep NMF), trained with
# the bases. General model, 60 mixtures (dev pairs, ΔSI-SDR, p = 3 at run time): bases alone +3.84 dB;
# 10 layers, 60 / 150 steps +4.50 / +4.64; 20 layers, 150 steps +4.71; 40 layers, 60 steps +4.61.
layers="--solve-layers 20"
# 200 alternating steps on the layers and bases: on xrec (protocol model, ΔSI-SDR) 60 steps +4.68 dB,
# 200 +4.97, 400 +4.59, while the training cost keeps falling: 200 is the early-stopping point.

# General noise: the training noise types without voices in them, each type weighted equally; then
# mask bases trained on 150 mixtures of training speech and that noise. Babble, crowd, office chatter
# and music (vocals) are left out: atoms that can explain speech compete with the speech dictionary
# and take speech away (dev pairs, mean ΔSI-SDR: +2.43 dB with all 20 types, +2.52 without the
# three chatter types, +2.80 without music too; xrec with all 20, VOICE_TYPES=1: −0.66 dB, real
# OVRL −0.09). Those four keep their own dictionaries below.
general=$(ls -d "$noise_root"/*/ | grep -v -E '/(babble_cafe|crowd|office|music)/$')
[ -z "${VOICE_TYPES:-}" ] || general=$(ls -d "$noise_root"/*/)
# With EXTRA_NOISE, the general model's groups are a tree of links: the corpus's types above, each
# with the extra recordings of its type, and the extra types the corpus does not have.
if [ -n "${EXTRA_NOISE:-}" ]; then
  general_root=$(mktemp -d)
  trap 'rm -rf "$general_root" ${EXCLUDE:+"$noise_root"}' EXIT
  for dir in $general "$EXTRA_NOISE"/*/; do
    type=$(basename "$dir")
    [ "$type" != licences ] || continue
    mkdir -p "$general_root/$type"
    for f in "$dir"*; do ln -sf "$(realpath "$f")" "$general_root/$type/"; done
  done
  general=$(ls -d "$general_root"/*/)
fi
if [ -z "${TYPES_ONLY:-}" ]; then
train train-noise $general -o "$out/noise.safetensors" --rank 32 --iterations 200 --balance --seed 0 $flags
"$bin" train-discriminative --speech-dict "$speech" --noise-dict "$out/noise.safetensors" \
    --speech "${speech_audio[@]}" --noise $general -o "$out/noise.safetensors" $context --mixtures "${GENERAL_MIXTURES:-150}" --seed "${GENERAL_SEED:-0}" \
    --iterations 60 $layers --layer-steps 200 $mask_flags
fi

# One dictionary per noise type, each with mask bases and solve layers from 60 mixtures (frame-only
# bases: 20 mixtures gave +4.65 dB named on the dev pairs, 60 gave +4.86).
[ -z "${GENERAL_ONLY:-}" ] || { echo "general model written to $out/"; exit 0; }
# Types whose own model lost to the general model (with adaptation and the steady floor) on other
# recordings of their kind (xrec, each model trained without them; README, "Quality") do not ship:
# naming one uses the general model (ShippedDictionaries.retiredTypes). ALL_TYPES=1 trains them too.
retired="ac_fan babble_cafe kitchen_dishes music office running_water street_traffic train washing_machine"
for dir in "$noise_root"/*/; do
  type=$(basename "$dir")
  if [ -z "${ALL_TYPES:-}" ] && [[ " $retired " == *" $type "* ]]; then continue; fi
  if [ -n "${REUSE_UNTOUCHED:-}" ] && [ -n "${EXCLUDE:-}" ] && ! grep -q "^noise/train/$type/" "$EXCLUDE"; then
    cp "Dictionaries/noise/$type.safetensors" "$out/noise/$type.safetensors"
    continue
  fi
  train train-noise "$dir" -o "$out/noise/$type.safetensors" --rank 16 --iterations 200 --seed 0 --quiet $flags
  "$bin" train-discriminative --speech-dict "$speech" --noise-dict "$out/noise/$type.safetensors" \
      --speech "${speech_audio[@]}" --noise "$dir" -o "$out/noise/$type.safetensors" $context --mixtures 60 --iterations 80 $layers --layer-steps 150 --quiet
done
echo "dictionaries written to $out/"
