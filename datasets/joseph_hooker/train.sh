#!/usr/bin/env bash
# Trains the shipped Joseph Hooker model from scratch on the train split, selects it on
# valid, adds a language model tuned on valid, and reports CER/WER on test. The data is read in place; nothing is copied.
#   datasets/joseph_hooker/train.sh [DATA_DIR] [OUT_DIR]
# DATA_DIR defaults to ../shared/datasets/joseph_hooker_htr (beside the checkout).
# The model is an ensemble of two networks trained side by side, one torch thread each
# (on two cores that beats one run with two threads; see RESULTS.md, Session 11):
# one to two hours on an otherwise idle 2-core machine (64 minutes on the VM that trained the
# shipped file, 120 on a slower one), then a few minutes for the language model and the test.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${1:-$here/../../../shared/datasets/joseph_hooker_htr}
out=${2:-runs/joseph_hooker}
if [ ! -f "$data/lines.tsv" ]; then
  echo "error: $data/lines.tsv: not found; give the data set's folder as the first argument" >&2
  exit 1
fi
mkdir -p "$out"
common=(--threads 1 --height 96 --scale 0.74 --conv 8,32,48 --conv-pools 2x2,2x2,3x2 --input-block 2x1
  --subsample 128 --subsample-blocks 2x1 --dropout 0,0.25
  --learning-rate 3e-3 --schedule cosine --warmup-epochs 1 --epochs 32 --patience 100
  --augment-probability 0.7 --augment-settings elastic=3,vertical=0.15,shift=0.08,contrast=0.5,blur=0.7
  --weight-decay 0.01 --seed 0)
hwr train "$data/lines.tsv" -o "$out/a" --hidden 32,64 "${common[@]}" > "$out/a.log" 2>&1 &
first=$!
hwr train "$data/lines.tsv" -o "$out/b" --hidden 48,96 "${common[@]}" > "$out/b.log" 2>&1 &
second=$!
wait "$first" || { echo "error: training $out/a failed; see $out/a.log" >&2; exit 1; }
wait "$second" || { echo "error: training $out/b failed; see $out/b.log" >&2; exit 1; }
# Each network also reads every line moved 7 rows up and down (RESULTS.md, Sessions 16-17).
hwr ensemble "$out/a/best.safetensors" "$out/b/best.safetensors" --shifts -7,0,7 -o "$out/ensemble.safetensors"
# A character 6-gram counted on the training texts, its weight tuned on valid.
hwr lm "$data/lines.tsv" -m "$out/ensemble.safetensors" -o "$out/with_lm.safetensors" --order 6 --threads 2
hwr evaluate "$data/lines.tsv" --split test -m "$out/with_lm.safetensors" --report "$out/test_report.csv"
