#!/usr/bin/env bash
# Trains the shipped Joseph Hooker model from scratch on the train split, selects it on
# valid, and reports CER/WER on test. The data is read in place; nothing is copied.
#   datasets/joseph_hooker/train.sh [DATA_DIR] [OUT_DIR]
# DATA_DIR defaults to ../shared/datasets/joseph_hooker_htr (beside the checkout).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${1:-$here/../../../shared/datasets/joseph_hooker_htr}
out=${2:-runs/joseph_hooker}
if [ ! -f "$data/lines.tsv" ]; then
  echo "error: $data/lines.tsv: not found; give the data set's folder as the first argument" >&2
  exit 1
fi
hwr train "$data/lines.tsv" -o "$out" --threads 1 \
  --height 48 --input-block 2x2 --hidden 2,10,50 --subsample 12,40 --subsample-blocks 4x2,4x1 \
  --dropout 0,0.25,0.25 --learning-rate 3e-3 --lr-patience 6 --patience 20 --epochs 85
hwr evaluate "$data/lines.tsv" --split test -m "$out/best.safetensors" --report "$out/test_report.csv"
