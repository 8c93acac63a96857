#!/usr/bin/env bash
# Fine-tunes the shipped base model (models/base.safetensors) on the Joseph Hooker train split,
# selecting on valid: two networks side by side, one torch thread each (seeds 0 and 1), 16 epochs
# or 55 minutes, whichever comes first; then both at three shifts in one ensemble, a language
# model tuned on valid, and CER/WER on test. Runs are recorded in RESULTS.md (Session 26).
#   datasets/joseph_hooker/fine_tune.sh [DATA_DIR] [OUT_DIR] [BASE_MODEL]
# DATA_DIR defaults to ../shared/datasets/joseph_hooker_htr (beside the checkout).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${1:-$here/../../../shared/datasets/joseph_hooker_htr}
out=${2:-runs/joseph_hooker_fine_tuned}
base=${3:-$here/../../models/base.safetensors}
if [ ! -f "$data/lines.tsv" ]; then
  echo "error: $data/lines.tsv: not found; give the data set's folder as the first argument" >&2
  exit 1
fi
mkdir -p "$out"
[ -f "$out/masked/lines.tsv" ] || python "$here/mask_lines.py" "$data" "$out/masked"
lines=$out/masked/lines.tsv
# The base reads lines at scale 1.0, where the French sets' writing has its size; Hooker's masked
# crops are read at 0.74, as they were in the base's training. --alphabet new: the output rows of
# Hooker's characters are kept, the French sets' other characters dropped.
common=(--init "$base" --alphabet new --scale 0.74 --learning-rate 0.001 --epochs 16 --max-minutes 55 --threads 1)
stop() { for run in $(jobs -p); do kill "$run" 2>/dev/null || true; done; }
trap stop EXIT
hwr train "$lines" -o "$out/s0" "${common[@]}" --seed 0 > "$out/s0.log" 2>&1 &
first=$!
hwr train "$lines" -o "$out/s1" "${common[@]}" --seed 1 > "$out/s1.log" 2>&1 &
second=$!
wait "$first" || { echo "error: see $out/s0.log" >&2; exit 1; }
wait "$second" || { echo "error: see $out/s1.log" >&2; exit 1; }
hwr ensemble "$out"/s{0,1}/best.safetensors --shifts -7,0,7 -o "$out/ensemble.safetensors"
hwr lm "$lines" -m "$out/ensemble.safetensors" -o "$out/with_lm.safetensors" --order 6 --threads 2
hwr evaluate "$lines" --split test -m "$out/with_lm.safetensors" --report "$out/test_report.csv"
