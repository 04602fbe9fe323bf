#!/usr/bin/env bash
# Fetches the extra training noise: recorded ambient sounds (engines, rain, wind, water, forests,
# traffic, radio static, machines) shipped by free games in Debian's main archive, for the general
# noise model only (never for scoring). Each file is copied into OUT_DIR/<type>/ under its package's
# name; `EXTRA_NOISE=OUT_DIR scripts/train-dictionaries.sh` trains on them beside the corpus.
#   scripts/fetch-extra-noise.sh [OUT_DIR]    (default: $HOME/.cache/denoise-extra-noise; ~3 GB download)
# Licences (each package's debian/copyright, copied into OUT_DIR/licences/): flightgear-data-base
# GPL-2+; megaglest-data CC-BY-SA-3.0; redeclipse-data CC-BY-SA-3.0 / CC-BY-3.0; supertuxkart-data
# CC-BY-SA / CC0 per file. Measured worse on xrec (README, "Quality"): not in the shipped recipe.
# Only the dictionaries computed from them enter the repository.
set -euo pipefail
out=${1:-$HOME/.cache/denoise-extra-noise}
mkdir -p "$out/licences"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# package | path inside the package (under usr/share/games/) | type
list="
flightgear-data-base|flightgear/Aircraft/c172p/Sounds/engine-idle.wav|engine
flightgear-data-base|flightgear/Aircraft/c172p/Sounds/engine.wav|engine
flightgear-data-base|flightgear/Sounds/engine-prop.wav|engine
flightgear-data-base|flightgear/Sounds/prop.wav|engine
supertuxkart-data|supertuxkart/data/tracks/black_forest/steamLocomotive.ogg|engine
flightgear-data-base|flightgear/Aircraft/c172p/Sounds/flaps-motor.wav|machine
flightgear-data-base|flightgear/Sounds/rattleroll.wav|machine
flightgear-data-base|flightgear/Aircraft/c172p/Sounds/tires-rolling-asphalt.wav|machine
flightgear-data-base|flightgear/Aircraft/c172p/Sounds/tires-rolling-gravel.wav|machine
flightgear-data-base|flightgear/Sounds/rain.wav|rain
flightgear-data-base|flightgear/Sounds/rain-windshield.wav|rain
megaglest-data|megaglest/tilesets/autumn/sounds/rain.ogg|rain
megaglest-data|megaglest/tilesets/birch_forest/sounds/rain.ogg|rain
megaglest-data|megaglest/tilesets/desert2/sounds/rain.wav|rain
redeclipse-data|redeclipse/data/sounds/ambience/morph/rain.ogg|rain
flightgear-data-base|flightgear/Sounds/wind1.wav|wind
megaglest-data|megaglest/tilesets/winter/sounds/wind.ogg|wind
redeclipse-data|redeclipse/data/sounds/ambience/wind.ogg|wind
redeclipse-data|redeclipse/data/sounds/ambience/wastewind.ogg|wind
redeclipse-data|redeclipse/data/sounds/ambience/blowwind.ogg|wind
flightgear-data-base|flightgear/Aircraft/c172p/Sounds/water-fast.wav|running_water
flightgear-data-base|flightgear/Aircraft/c172p/Sounds/water-still.wav|running_water
redeclipse-data|redeclipse/data/sounds/ambience/river.ogg|running_water
redeclipse-data|redeclipse/data/sounds/ambience/creek.ogg|running_water
redeclipse-data|redeclipse/data/sounds/ambience/waterfall2.ogg|running_water
redeclipse-data|redeclipse/data/sounds/ambience/waterfall3.ogg|running_water
supertuxkart-data|supertuxkart/data/sfx/river_loop.ogg|running_water
supertuxkart-data|supertuxkart/data/sfx/waterfall_loop_2.ogg|running_water
redeclipse-data|redeclipse/data/sounds/ambience/distant_cars.ogg|street_traffic
megaglest-data|megaglest/tilesets/birch_forest/sounds/night.ogg|outdoors
megaglest-data|megaglest/tilesets/fernland/sounds/day.ogg|outdoors
megaglest-data|megaglest/tilesets/mediterran/sounds/desertday.ogg|outdoors
megaglest-data|megaglest/tilesets/spring/sounds/day.ogg|outdoors
redeclipse-data|redeclipse/data/sounds/ambience/forest3.ogg|outdoors
redeclipse-data|redeclipse/data/sounds/ambience/nightcrickets.ogg|outdoors
redeclipse-data|redeclipse/data/sounds/ambience/cycadas.ogg|outdoors
supertuxkart-data|supertuxkart/data/sfx/static-radio.ogg|static
"

for package in $(echo "$list" | cut -d'|' -f1 | sort -u); do
  (cd "$work" && apt-get download "$package" >/dev/null 2>&1) || { echo "cannot download $package (apt-get download)" >&2; exit 1; }
  paths=$(echo "$list" | awk -F'|' -v p="$package" '$1 == p { print "./usr/share/games/" $2 }')
  mkdir -p "$work/$package"
  dpkg-deb --fsys-tarfile "$work/$package"_*.deb | tar -x -C "$work/$package" $paths "./usr/share/doc/$package/copyright"
  cp "$work/$package/usr/share/doc/$package/copyright" "$out/licences/$package.copyright"
  echo "$list" | awk -F'|' -v p="$package" '$1 == p { print $2 "|" $3 }' | while IFS='|' read -r path type; do
    mkdir -p "$out/$type"
    cp "$work/$package/usr/share/games/$path" "$out/$type/$package-$(echo "$path" | tr '/' '-' | sed 's/^[^-]*-//')"
  done
  rm -rf "$work/$package" "$work/$package"_*.deb
done
echo "extra noise in $out: $(find "$out" -name '*.ogg' -o -name '*.wav' | wc -l) files"
