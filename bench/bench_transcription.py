"""Transcription speed: lines/s of models on the Joseph Hooker test lines, one thread, greedy and with
their language model, with the CER they reach (the same numbers ``hwr evaluate`` prints).

The lines are the Hooker recipe's masked crops (``mask_lines.py``, written to a temporary folder
unless ``--manifest`` names them). Each model is loaded once (its load time is reported apart);
the timed part reads, normalises, runs the network and decodes every line, as ``hwr evaluate``
does. Run it on an otherwise idle machine.

    python bench/bench_transcription.py                          # the shipped models
    python bench/bench_transcription.py -m runs/base/best.safetensors --scale 0.74 --lines 200
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwr.api import load_model  # noqa: E402
from hwr.data.readers import LineSet, read_lines  # noqa: E402
from hwr.evaluation import evaluate  # noqa: E402
from hwr.shipped import shipped_models  # noqa: E402
from tests.shared_data import HOOKER_MANIFEST, mask_script  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-m", "--model", action="append", help="a model file or shipped name (repeatable)")
    parser.add_argument("--manifest", type=Path, help="masked Hooker lines (default: masked here from the data set)")
    parser.add_argument("--lines", type=int, default=None, help="only the first LINES test lines")
    parser.add_argument("--scale", type=float, default=None, help="read at this scale instead of the model's")
    parser.add_argument("--batch-size", type=int, default=16)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        manifest = arguments.manifest or mask_script().mask_lines(HOOKER_MANIFEST.parent, Path(folder), split="test")
        lines = read_lines(manifest, split="test")
        lines = LineSet(lines.lines[: arguments.lines])
        print(f"{len(lines.lines)} Hooker test lines, 1 thread, batches of {arguments.batch_size}\n")
        print("| model | decoding | lines/s | CER | load s |")
        print("| --- | --- | ---: | ---: | ---: |")
        for name in arguments.model or list(shipped_models()):
            start = time.perf_counter()
            model = load_model(name, threads=1)
            loaded = time.perf_counter() - start
            if arguments.scale is not None:
                model.preprocessing = replace(model.preprocessing, scale=arguments.scale)
            language_model = model.language_model
            for decoding in ("greedy", "language model") if language_model is not None else ("greedy",):
                model.language_model = language_model if decoding != "greedy" else None
                evaluate(model, LineSet(lines.lines[:2]), arguments.batch_size)  # warm: kernels built, caches filled
                start = time.perf_counter()
                result = evaluate(model, lines, arguments.batch_size)
                seconds = time.perf_counter() - start
                speed = len(result.report) / seconds
                print(f"| {name} | {decoding} | {speed:.1f} | {100 * result.totals.cer:.2f}% | {loaded:.1f} |")


if __name__ == "__main__":
    main()
