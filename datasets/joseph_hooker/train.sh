#!/usr/bin/env bash
# Trains the shipped Joseph Hooker model from scratch on the train split, selects it on
# valid, adds a language model tuned on valid, and reports CER/WER on test. The data is read in place; nothing is copied.
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
# Two threads: run it on an otherwise idle 2-core machine (see README, "Threads").
hwr train "$data/lines.tsv" -o "$out" --threads 2 \
  --height 96 --conv 16,32,48 --conv-pools 2x2,2x2,3x2 --input-block 2x1 \
  --hidden 32,64 --subsample 128 --subsample-blocks 2x1 --dropout 0,0.25 \
  --learning-rate 3e-3 --schedule cosine --warmup-epochs 1 --epochs 48 --patience 100 \
  --augment-probability 0.7 --weight-decay 0.01
# A character 6-gram counted on the training texts, its weight tuned on valid.
hwr lm "$data/lines.tsv" -m "$out/best.safetensors" -o "$out/with_lm.safetensors" --order 6 --threads 2
hwr evaluate "$data/lines.tsv" --split test -m "$out/with_lm.safetensors" --report "$out/test_report.csv"
