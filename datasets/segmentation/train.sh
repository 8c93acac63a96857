#!/usr/bin/env bash
# Trains the shipped segmenter's recipe with hwr train-segmenter: the train pages of the four shared
# page sets, chosen on all their valid pages; resumable (run it again after an interruption).
# The shipped models/segmenter.safetensors was trained by the experiment script this command took
# over (datasets/segmentation/train.py at commit d34ccc5, run seg2: the same network, loss, crops,
# zooms, ink, schedule and seed; it chose the epoch on 8 valid pages of each set): RESULTS.md.
#   datasets/segmentation/train.sh [SHARED_DATASETS] [OUT_DIR]
# SHARED_DATASETS defaults to ../shared/datasets (beside the checkout). One thread: 2 hours here.
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
if [ -f "$out/last.safetensors" ]; then
  exec hwr train-segmenter -o "$out" --resume --threads 1
fi
train=() valid=()
for set in "${sets[@]}"; do
  train+=("$shared/$set/pages/train")
  valid+=(--valid "$shared/$set/pages/valid")
done
exec hwr train-segmenter "${train[@]}" "${valid[@]}" -o "$out" --epochs 30 --crop 512 --batch-size 4 \
  --learning-rate 0.002 --zooms 1.0,0.8,1.25 --seed 0 --threads 1
