#!/usr/bin/env bash
# Trains the base models on the train splits of the shared data sets, in stages, each resumable
# (run the script again after an interruption and it goes on where its stage stopped):
#   1. heldout: Joseph Hooker and Copiste d'un jour, not CREMMA (the transfer experiment's base;
#      see RESULTS.md);
#   2. base: started from heldout's best model, on all three, CREMMA drawn twice per epoch;
#      then a language model of the three sets' training texts: runs/base/base_lm.safetensors,
#      the first shipped base model (base 1);
#   3. base2: started from base's best model, on all four sets (Testaments de poilus added),
#      40 epochs of a cosine schedule, at most 8 hours of training: a run of several sessions.
#      One process of one thread (the training's augmentation takes the other core), which
#      trains at 0.8x the lines/s of two processes and leaves a core for other work; then a
#      language model of the four sets' training texts: runs/base/base2_lm.safetensors is the
#      shipped models/base.safetensors.
# Each selects on the valid splits of its sets together.
#   datasets/base/train.sh [SHARED_DATASETS] [OUT_DIR]
# SHARED_DATASETS defaults to ../shared/datasets (beside the checkout).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=${1:-$here/../../../shared/datasets}
out=${2:-runs/base}
for set in joseph_hooker_htr copiste_dun_jour cremma_mss19 testaments_de_poilus; do
  if [ ! -f "$shared/$set/lines.tsv" ]; then
    echo "error: $shared/$set/lines.tsv: not found; give the shared data sets' folder as the first argument" >&2
    exit 1
  fi
done
mkdir -p "$out"
shared=$(cd "$shared" && pwd)
# Hooker's crops are masked with their PAGE-XML polygons (the French sets come masked) and read at
# 0.74 of their size, where its writing has the French sets' size at their given scale.
[ -f "$out/masked/lines.tsv" ] || python "$here/../joseph_hooker/mask_lines.py" "$shared/joseph_hooker_htr" "$out/masked"
sources() {  # NAME:WEIGHT ...: the [[data.sources]] of a run config
  for item in "$@"; do
    local name=${item%%:*} weight=${item##*:}
    case $name in
      hooker) printf '[[data.sources]]\nname = "hooker"\ntrain = "%s"\nscale = 0.74\n' "$(cd "$out" && pwd)/masked/lines.tsv" ;;
      copiste) printf '[[data.sources]]\nname = "copiste"\ntrain = "%s"\n' "$shared/copiste_dun_jour/lines.tsv" ;;
      cremma) printf '[[data.sources]]\nname = "cremma"\ntrain = "%s"\n' "$shared/cremma_mss19/lines.tsv" ;;
      poilus) printf '[[data.sources]]\nname = "poilus"\ntrain = "%s"\n' "$shared/testaments_de_poilus/lines.tsv" ;;
    esac
    printf 'weight = %s\n\n' "$weight"
  done
}
stage() {  # NAME EPOCHS PROCESSES SOURCES [hwr train options]: train the stage, or go on with it
  local name=$1 epochs=$2 processes=$3 sources=$4
  shift 4
  if [ -f "$out/$name/last.safetensors" ]; then
    hwr train -o "$out/$name" --resume --processes "$processes" >> "$out/$name.log" 2>&1
  else
    hwr train -o "$out/$name" --config "$here/network.toml" --config "$sources" --epochs "$epochs" \
      --processes "$processes" "$@" > "$out/$name.log" 2>&1
  fi || { echo "error: training $out/$name failed; see $out/$name.log" >&2; return 1; }
}
sources hooker:1 copiste:1 > "$out/heldout-sources.toml"
stage heldout 10 2 "$out/heldout-sources.toml"
sources hooker:1 copiste:1 cremma:2 > "$out/base-sources.toml"
stage base 6 2 "$out/base-sources.toml" --init "$out/heldout/best.safetensors" --alphabet union
# Each set's valid lines are read at its own scale, as in training (--config gives the sources).
[ -f "$out/base_lm.safetensors" ] || hwr lm --config "$out/base-sources.toml" -m "$out/base/best.safetensors" \
  -o "$out/base_lm.safetensors" --order 6 --threads 2 > "$out/base_lm.log" 2>&1 \
  || { echo "error: the language model failed; see $out/base_lm.log" >&2; exit 1; }
sources hooker:1 copiste:1 cremma:2 poilus:1 > "$out/base2-sources.toml"
# A session resumes it from the committed checkpoint: cp checkpoints/base2-last.safetensors
# $out/base2/last.safetensors, then this script (or hwr train -o $out/base2 --resume).
stage base2 40 1 "$out/base2-sources.toml" --init "$out/base/best.safetensors" --alphabet union \
  --max-minutes 480
[ -f "$out/base2_lm.safetensors" ] || hwr lm --config "$out/base2-sources.toml" -m "$out/base2/best.safetensors" \
  -o "$out/base2_lm.safetensors" --order 7 --weights 0.6,0.7,0.8 --bonuses 1,1.25,1.5 --word-bonuses 0.5,1,1.5 \
  --threads 2 > "$out/base2_lm.log" 2>&1 \
  || { echo "error: the language model failed; see $out/base2_lm.log" >&2; exit 1; }
