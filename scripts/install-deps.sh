#!/usr/bin/env bash
# Installs the system libraries denoise builds against (Debian/Ubuntu), only those missing.
# Safe to run repeatedly: with everything present it does nothing and asks apt nothing.
set -euo pipefail

packages=(pkg-config libsndfile1-dev libfftw3-dev libopenblas-dev libsoxr-dev libcairo2-dev)
# --browser: also headless Chromium, which the HTML report's rendering test opens the report in (CI).
if [ "${1:-}" = "--browser" ]; then packages+=(chromium); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "install-deps: missing ${missing[*]}, and no apt-get here; install them with your package manager" >&2
  exit 1
fi
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# apt may be busy (another install, unattended upgrades): wait for the lock rather than fail.
$sudo apt-get -o DPkg::Lock::Timeout=300 update -qq
$sudo apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
