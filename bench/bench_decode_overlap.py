"""Does decoding a batch while the network reads the next one pay? Lines/s of one model with its
language model on Hooker test lines already normalised (reading the files is the same in every
row), three ways:

- 1 thread: the network, then the beam search, in turn (``hwr transcribe --threads 1``);
- 2 torch threads: the same, with the network's operators on two threads (hwr before the overlap);
- 1 torch thread + a decoding thread: each batch's lines are searched on a second thread (the C++
  search releases the GIL) while the network reads the next batch (``hwr transcribe --threads 2``,
  :func:`hwr.recognizer.transcribe_normalized`).

Run it on an otherwise idle 2-core machine:

    python bench/bench_decode_overlap.py -m runs/base/with_lm.safetensors --scale 0.74 --lines 300
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwr.api import load_model  # noqa: E402
from hwr.data.images import normalize_line  # noqa: E402
from hwr.data.readers import LineImages, read_lines  # noqa: E402
from hwr.metrics import error_rates  # noqa: E402
from hwr.recognizer import decode, line_log_probs, transcribe_normalized  # noqa: E402
from tests.shared_data import HOOKER_MANIFEST, mask_script  # noqa: E402


def in_turn(model, images, batch_size: int) -> list[str]:
    texts = [""] * len(images)
    for i, log_probs in line_log_probs(model, images, batch_size):
        texts[i] = decode(model, log_probs).text
    return texts


def overlapped(model, images, batch_size: int) -> list[str]:
    return [t.text for t in transcribe_normalized(model, images, batch_size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-m", "--model", required=True, help="a model file or shipped name, with a language model")
    parser.add_argument("--manifest", type=Path, help="masked Hooker lines (default: masked here from the data set)")
    parser.add_argument("--lines", type=int, default=None, help="only the first LINES test lines")
    parser.add_argument("--scale", type=float, default=None, help="read at this scale instead of the model's")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2, help="rounds of the three ways, interleaved")
    arguments = parser.parse_args()
    model = load_model(arguments.model, threads=1)
    if model.language_model is None:
        parser.error(f"{arguments.model}: no language model to decode with")
    if arguments.scale is not None:
        model.preprocessing = replace(model.preprocessing, scale=arguments.scale)
    with tempfile.TemporaryDirectory() as folder:
        manifest = arguments.manifest or mask_script().mask_lines(HOOKER_MANIFEST.parent, Path(folder), split="test")
        lines = read_lines(manifest, split="test").lines[: arguments.lines]
        read = LineImages()
        images = [normalize_line(read(line), model.preprocessing) for line in lines]
    ways = [("1 thread, in turn", 1, in_turn), ("2 torch threads, in turn", 2, in_turn)]
    ways.append(("1 torch thread + decoding thread", 2, overlapped))
    in_turn(model, images[:4], arguments.batch_size)  # warm: kernels built, caches filled
    print(f"{len(images)} Hooker test lines, normalised, batches of {arguments.batch_size}\n")
    print("| way | round | lines/s | CER |")
    print("| --- | ---: | ---: | ---: |")
    for repeat in range(arguments.repeats):
        for name, threads, way in ways:
            torch.set_num_threads(threads)
            start = time.perf_counter()
            texts = way(model, images, arguments.batch_size)
            speed = len(images) / (time.perf_counter() - start)
            cer = error_rates([line.text for line in lines], texts).cer
            print(f"| {name} | {repeat + 1} | {speed:.1f} | {100 * cer:.2f}% |")


if __name__ == "__main__":
    main()
