"""Start-up: wall time of ``hwr transcribe LINE`` with the default model and its language model, in fresh
processes, and where that time goes, part by part (in one more fresh process, timed from inside).

    python bench/bench_startup.py                       # a shared Copiste d'un jour line
    python bench/bench_startup.py --line line.png --runs 10

Run it on an otherwise idle machine, after one ``hwr transcribe`` has built the C++ modules (or
after ``pip install``, which builds them).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE = ROOT.parent / "shared/datasets/copiste_dun_jour/lines/imp_wikitexte_0024__eSc_line_74c3f694.jpg"

PARTS = """
import time, json, sys
marks = [("start", time.perf_counter())]
def mark(name): marks.append((name, time.perf_counter()))
import cli.main
mark("the command line (typer, numpy, OpenCV)")
import torch
mark("import torch")
from hwr.shipped import resolve_model
from hwr import model_file
mark("hwr's modules")
data = resolve_model(None).read_bytes()
mark("model file read")
model = model_file.load_model(resolve_model(None))
mark("model built (network, language model from its tables)")
from hwr.data.images import normalize_line, read_gray
image = normalize_line(read_gray(sys.argv[1]), model.preprocessing)
mark("line read and normalised")
from hwr.recognizer import line_log_probs, decode
(_, log_probs), = line_log_probs(model, [image], 1)
mark("network")
from hwr.decoders.beam import _searcher
_searcher(model.language_model.ngram, model.language_model.lexicon)
mark("compiled search built from the tables")
decode(model, log_probs)
mark("beam search")
print(json.dumps([(name, t - marks[k][1]) for k, (name, t) in enumerate(marks[1:])]))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--line", type=Path, default=LINE, help="a line image (default: a shared Copiste line)")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes timed")
    arguments = parser.parse_args()
    beside = Path(sys.executable).with_name("hwr")  # the installed script itself, not a shim (pyenv's adds 0.2 s)
    hwr = str(beside) if beside.exists() else shutil.which("hwr")
    if hwr is None:
        sys.exit("error: no hwr command on the PATH: pip install . (or -e .) first")
    command = [hwr, "transcribe", str(arguments.line)]
    subprocess.run(command, check=True, capture_output=True)  # builds what is not built yet
    walls = []
    for _ in range(arguments.runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    print(f"hwr transcribe {arguments.line.name}: {arguments.runs} fresh processes, default model with its LM")
    print(f"wall time: median {statistics.median(walls):.2f} s, min {min(walls):.2f} s, max {max(walls):.2f} s")
    floor = []
    for _ in range(arguments.runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import torch"], check=True)
        floor.append(time.perf_counter() - start)
    print(f"python -c 'import torch' alone: median {statistics.median(floor):.2f} s\n")
    parts = subprocess.run(
        [sys.executable, "-c", PARTS, str(arguments.line)], check=True, capture_output=True, text=True
    )
    print("| part | seconds |\n| --- | ---: |")
    for name, seconds in json.loads(parts.stdout.strip().splitlines()[-1]):
        print(f"| {name} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
