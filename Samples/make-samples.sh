#!/usr/bin/env bash
# Makes the noisy demo recordings in this folder from nothing but espeak-ng and sox:
# synthetic speech mixed with synthesized noise. No third-party audio is used.
#   apt-get install espeak-ng sox && Samples/make-samples.sh
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

speech() {  # speech TEXT VOICE OUT: 16 kHz mono speech at about −26 dBFS RMS
  espeak-ng -v "$2" -s 150 -w "$tmp/raw.wav" "$1"
  sox "$tmp/raw.wav" -r 16000 -c 1 -b 32 -e float "$3" pad 0.3 0.3 norm -12
}

mix() {  # mix SPEECH NOISE GAIN_DB OUT: noise scaled by GAIN_DB, summed, written as 16-bit WAV
  local dur
  dur=$(soxi -D "$1")
  sox "$2" "$tmp/n.wav" trim 0 "$dur" vol "$3" dB
  sox -m "$1" "$tmp/n.wav" -b 16 "$4"
}

speech "Noise reduction works best when the speech and the noise look different in the spectrum." en-us "$tmp/s1.wav"
speech "The quick brown fox jumps over the lazy dog, and then it rests in the shade." en-gb "$tmp/s2.wav"
speech "Please leave a message after the tone, and we will call you back tomorrow." en-us+f3 "$tmp/s3.wav"

# Steady fan-like noise: pink noise, low-passed.
sox -n -r 16000 -c 1 -b 32 -e float "$tmp/fan.wav" synth 10 pinknoise lowpass 3000 norm -20
# Mains hum with harmonics over brown noise.
sox -n -r 16000 -c 1 -b 32 -e float "$tmp/hum.wav" synth 10 sine 50 sine 150 sine 250 brownnoise \
    remix 1-4 norm -20
# Hiss: white noise, high-passed, with a slow level wobble (like tape or a cheap preamp).
sox -n -r 16000 -c 1 -b 32 -e float "$tmp/hiss.wav" synth 10 whitenoise vol 0.3 highpass 1500 tremolo 0.5 40 norm -20

# For tests and `denoise eval`: the clean speech of speech-fan.wav, and 4 s of the same fan noise
# alone (another stretch of it) as a noise sample for `run --noise-sample`.
# (sox -m scales each of its two inputs by 1/2: the reference is the speech as the mix holds it.)
sox -v 0.5 "$tmp/s1.wav" -b 16 speech-fan-clean.wav
sox -v 0.5 "$tmp/fan.wav" -b 16 fan-noise-sample.wav trim 6 4
mix "$tmp/s1.wav" "$tmp/fan.wav" -4 speech-fan.wav
mix "$tmp/s2.wav" "$tmp/hum.wav" -6 speech-hum.wav
mix "$tmp/s3.wav" "$tmp/hiss.wav" -8 speech-hiss.wav
ls -l ./*.wav
