#!/usr/bin/env bash
# Trains the shipped segmenter's recipe with hwr train-segmenter, in two stages, each resumable (run
# the script again after an interruption; a finished stage is passed over):
#  1. the network from scratch on the train pages of the four shared page sets (run seg2: 30 epochs
#     of 512-pixel crops, chosen on all their valid pages);
#  2. fine-tuned from stage 1's best (run seg3, the shipped models/segmenter.safetensors): 20 epochs
#     of 640-pixel crops at half the learning rate, CREMMA's train pages twice (its dense pages).
# The shipped stage 1 was trained by the experiment script this command took over
# (datasets/segmentation/train.py at commit d34ccc5: the same network, loss, crops, zooms, ink,
# schedule and seed; it chose the epoch on 8 valid pages of each set), and stage 2 fine-tuned it:
# RESULTS.md.
#   datasets/segmentation/train.sh [SHARED_DATASETS] [OUT_DIR]
# SHARED_DATASETS defaults to ../shared/datasets (beside the checkout); stage 2 goes to
# OUT_DIR-finetuned. Here: stage 1 two hours on one thread, stage 2 45 minutes on two.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shared=${1:-$here/../../../shared/datasets}
out=${2:-runs/segmenter}
sets=(joseph_hooker_htr copiste_dun_jour cremma_mss19 testaments_de_poilus)
for set in "${sets[@]}"; do
  if [ ! -d "$shared/$set/pages/train" ]; then
    echo "error: $shared/$set/pages/train: not found; give the shared data sets' folder as the first argument" >&2
    exit 1
  fi
done
valid=()
for set in "${sets[@]}"; do
  valid+=(--valid "$shared/$set/pages/valid")
done
pages() {  # the train pages of the four sets; CREMMA's twice if $1 is 2
  local set
  for set in "${sets[@]}"; do
    echo "$shared/$set/pages/train"
    if [ "$set" = cremma_mss19 ] && [ "$1" = 2 ]; then
      echo "$shared/$set/pages/train"
    fi
  done
}

if [ -f "$out/last.safetensors" ]; then
  hwr train-segmenter -o "$out" --resume --threads 1
else
  mapfile -t train < <(pages 1)
  hwr train-segmenter "${train[@]}" "${valid[@]}" -o "$out" --epochs 30 --crop 512 --batch-size 4 \
    --learning-rate 0.002 --zooms 1.0,0.8,1.25 --seed 0 --threads 1
fi

if [ -f "$out-finetuned/last.safetensors" ]; then
  hwr train-segmenter -o "$out-finetuned" --resume --threads 2
else
  mapfile -t train < <(pages 2)
  hwr train-segmenter "${train[@]}" "${valid[@]}" -o "$out-finetuned" --init "$out/best.safetensors" \
    --epochs 20 --crop 640 --batch-size 4 --learning-rate 0.001 --zooms 1.0,0.8,1.25 --seed 1 --threads 2
fi
