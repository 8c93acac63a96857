#!/usr/bin/env bash
# Trains the shipped Joseph Hooker model from scratch on the train split, selects it on
# valid, adds a language model tuned on valid, and reports CER/WER on test. The data is
# read in place; only the masked line images are written, under OUT_DIR.
#   datasets/joseph_hooker/train.sh [DATA_DIR] [OUT_DIR]
# DATA_DIR defaults to ../shared/datasets/joseph_hooker_htr (beside the checkout).
# The model is an ensemble of four networks trained two at a time, one torch thread each
# (on two cores that beats one run with two threads; see RESULTS.md, Session 11): a and b
# are averaged frame by frame; c and d have a bidirectional 1-D LSTM over the collapsed
# columns, so each joins them as a group of its own that rescores their readings (RESULTS.md,
# Session 18); d is c with more weight decay (Session 20).
# The whole script took 147 minutes alone on the 2-core VM of 2026-12-02 (training 133,
# the ensemble and language model 11, the test 3); slower VMs may need more (RESULTS.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${1:-$here/../../../shared/datasets/joseph_hooker_htr}
out=${2:-runs/joseph_hooker}
if [ ! -f "$data/lines.tsv" ]; then
  echo "error: $data/lines.tsv: not found; give the data set's folder as the first argument" >&2
  exit 1
fi
mkdir -p "$out"
# Each crop is masked with its PAGE-XML polygon, so that the neighbouring lines it takes in
# are not read (RESULTS.md, Session 19); training, the language model and the test read the masked lines.
python "$here/mask_lines.py" "$data" "$out/masked"
lines=$out/masked/lines.tsv
# Two trainings at a time, one per core: three at once on two cores cost ~20% more core time, and
# one network in two processes (--processes 2) trains at ~1.6x, two side by side at 2x (docs/benchmarks.md).
# Each network is deterministic given its seed and thread count, so the order does not matter.
# Each network's settings: common.toml, then its own NAME.toml laid over it.
train() {  # NAME
  local name=$1
  hwr train "$lines" -o "$out/$name" --config "$here/common.toml" --config "$here/$name.toml" --threads 1 \
    > "$out/$name.log" 2>&1 \
    || { echo "error: training $out/$name failed; see $out/$name.log" >&2; return 1; }
}
# If one chain fails, the script stops the other one's training too, rather than leave it running.
stop_chains() { for chain in $(jobs -p); do pkill -P "$chain" 2>/dev/null || true; kill "$chain" 2>/dev/null || true; done; }
trap stop_chains EXIT
( train b && train a ) &
first=$!
( train c && train d ) &
second=$!
wait "$first" || exit 1
wait "$second" || exit 1
# Each network also reads every line moved 7 rows up and down (RESULTS.md, Sessions 16-17).
hwr ensemble "$out"/{a,b,c,d}/best.safetensors --shifts -7,0,7 \
  -o "$out/ensemble.safetensors"
# A character 6-gram counted on the training texts, its weight tuned on valid.
hwr lm "$lines" -m "$out/ensemble.safetensors" -o "$out/with_lm.safetensors" --order 6 --threads 2
hwr evaluate "$lines" --split test -m "$out/with_lm.safetensors" --report "$out/test_report.csv"
