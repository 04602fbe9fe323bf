#!/usr/bin/env bash
# Fetches extra training speech: the recorded voices of Debian's hedgewars-data (GFDL-1.3, 16 voice
# packs of short phrases, 44.1 kHz), without the 6 packs the fullband pairs are made of
# (../shared/corpus/fullband/test_voices.txt). Each pack's phrases are joined, in order with 0.2 s
# between them (no dither, so the files are the same each time), into utterances of about 8 s at
# 16 kHz mono (OUT_DIR/<pack>_NN.wav), so that the discriminative training's 6 s mixtures hold
# speech throughout; `EXTRA_SPEECH=OUT_DIR
# scripts/train-dictionaries.sh` trains the speech dictionary and the general model's bases and
# layers on them beside the corpus. Measured (README, "Quality", "Other voices in the speech model"):
# +4.2 dB on the fullband pairs (the same game's other packs), −1.1 dB on xrec and real OVRL −0.11:
# not in the shipped recipe. Only the dictionaries computed from them would enter the repository.
#   scripts/fetch-extra-speech.sh [OUT_DIR]    (default: $HOME/.cache/denoise-extra-speech; 145 MB download)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$HOME/.cache/denoise-extra-speech}
test_voices=${CORPUS:-../shared/corpus}/fullband/test_voices.txt
[ -f "$test_voices" ] || { echo "missing $test_voices: the packs the fullband pairs use must be left out" >&2; exit 1; }
command -v sox >/dev/null || { echo "needs sox (apt-get install sox libsox-fmt-all)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download hedgewars-data >/dev/null 2>&1) || { echo "cannot download hedgewars-data (apt-get download)" >&2; exit 1; }
dpkg-deb -x "$work"/hedgewars-data_*.deb "$work/x"
voices="$work/x/usr/share/games/hedgewars/Data/Sounds/voices"
mkdir -p "$out"
cp "$work/x/usr/share/doc/hedgewars-data/copyright" "$out/copyright" 2>/dev/null || true
gap="$work/gap.wav"
sox -D -n -r 16000 -c 1 -b 16 "$gap" trim 0 0.2
for dir in "$voices"/*/; do
  pack=$(basename "$dir")
  grep -qxF "$pack" "$test_voices" && continue
  n=0; part=(); length=0
  for f in "$dir"*.ogg; do
    sox -D -q "$f" -r 16000 -c 1 -b 16 "$work/phrase_${n}_${#part[@]}.wav"
    part+=("$work/phrase_${n}_${#part[@]}.wav" "$gap")
    length=$(awk -v a="$length" -v b="$(soxi -D "$f")" 'BEGIN { print a + b + 0.2 }')
    if awk -v a="$length" 'BEGIN { exit !(a >= 8) }'; then
      sox -D "${part[@]}" "$out/${pack}_$(printf %02d $n).wav"; n=$((n + 1)); part=(); length=0
    fi
  done
  [ ${#part[@]} -eq 0 ] || sox -D "${part[@]}" "$out/${pack}_$(printf %02d $n).wav"
done
echo "wrote $(ls "$out"/*.wav | wc -l) utterances to $out"
