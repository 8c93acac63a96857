#!/usr/bin/env bash
# The transfer experiment (RESULTS.md): 500 lines of CREMMA's train split, read by two runs side by
# side for the same wall time, one thread each:
#   finetuned: from the base that never saw CREMMA (datasets/base/train.sh, stage heldout);
#   scratch:   the same network from random weights.
# Both select on CREMMA's valid split; their best models are then read on its test split.
#   datasets/cremma_mss19/transfer.sh HELDOUT_MODEL [SHARED_DATASETS] [OUT_DIR] [MINUTES]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
base=${1:?give the held-out base model (runs/base/heldout/best.safetensors)}
shared=${2:-$here/../../../shared/datasets}
out=${3:-runs/cremma_transfer}
minutes=${4:-25}
data=$shared/cremma_mss19
[ -f "$data/lines.tsv" ] || { echo "error: $data/lines.tsv: not found" >&2; exit 1; }
mkdir -p "$out"
# 500 training lines drawn at random (seed 0), with the whole valid and test splits.
python - "$data/lines.tsv" "$out/lines500.tsv" <<'PY'
import csv, sys
from pathlib import Path
import pandas as pd
source, target = Path(sys.argv[1]), Path(sys.argv[2])
table = pd.read_csv(source, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False, dtype=str)
train = table[table["split"] == "train"].sample(n=500, random_state=0)
subset = pd.concat([train, table[table["split"] != "train"]])
subset = subset.assign(image=[str(source.parent / image) for image in subset["image"]])
subset.to_csv(target, sep="\t", index=False, quoting=csv.QUOTE_NONE)
PY
common=(--config "$here/../base/network.toml" --threads 1 --max-minutes "$minutes" --epochs 40)
hwr train "$out/lines500.tsv" -o "$out/finetuned" "${common[@]}" --init "$base" --alphabet union \
  --learning-rate 0.0005 > "$out/finetuned.log" 2>&1 &
finetuned=$!
hwr train "$out/lines500.tsv" -o "$out/scratch" "${common[@]}" > "$out/scratch.log" 2>&1 &
scratch=$!
wait "$finetuned" || { echo "error: see $out/finetuned.log" >&2; exit 1; }
wait "$scratch" || { echo "error: see $out/scratch.log" >&2; exit 1; }
for run in finetuned scratch; do
  echo "$run:"
  hwr evaluate "$out/lines500.tsv" --split test -m "$out/$run/best.safetensors" --threads 1 | grep -E "^(lines|CER|WER):"
done
