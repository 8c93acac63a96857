"""The segmenter on each shared page set's pages: what issue 38's acceptance table reports.

For each set, on one thread: cBAD baseline P/R/F and line P/R/F (IoU >= 0.5) over its pages, CPU
seconds of segmentation per page (network and post-processing, the image decoded), and the
page CER of reading the found lines against that of reading the layout's own lines, with each
recognizer given (the difference is what segmentation costs). Poilus's layouts leave marginal
notes out: it is scored both on all found lines and on those inside the annotated regions.
Peak memory is the process's, models included.

    python bench/bench_segmentation.py --split test                     # the shipped segmenter
    python bench/bench_segmentation.py --split valid --segmenter runs/seg/best.safetensors --models base
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwr.api import load_model, load_segmenter  # noqa: E402
from hwr.segmentation.evaluation import evaluate_pages  # noqa: E402
from tests.shared_data import PAGE_SETS, SHARED  # noqa: E402

REGIONS_ALSO = ("testaments_de_poilus",)
"""Sets whose layouts are annotated in part: also scored inside their regions."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="test")
    parser.add_argument("--segmenter", default=None, help="a segmenter file or shipped name (default: the shipped one)")
    parser.add_argument("--models", default="base,joseph_hooker", help="recognizers for page CER ('' for none)")
    parser.add_argument("--sets", default=",".join(PAGE_SETS))
    parser.add_argument("--limit", type=int, default=None, help="pages per set")
    parser.add_argument(
        "--scale", default="auto", help="the recognizers read each page at: auto (its own lines' scale) or none"
    )
    arguments = parser.parse_args()
    segmenter = load_segmenter(arguments.segmenter, threads=1)
    recognizers = {name: load_model(name, threads=1) for name in arguments.models.split(",") if name}
    print(f"segmenter: {arguments.segmenter or 'shipped default'}; {arguments.split} pages; one thread\n")
    print("| set | pages | regions | baseline P | baseline R | baseline F | line F | CPU s/page (max) |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    cer_rows = []
    for name in arguments.sets.split(","):
        pages = sorted((SHARED / name / "pages" / arguments.split).glob("*.xml"))[: arguments.limit]
        for regions in (False, True) if name in REGIONS_ALSO else (False,):
            report = evaluate_pages(segmenter, pages, None, regions, warn=print)
            b, lines = report.total("baselines"), report.total("lines")
            seconds = [page.seconds for page in report.pages]
            print(
                f"| {name} | {len(report.pages)} | {'inside' if regions else 'all'} | {b.precision:.4f} | "
                f"{b.recall:.4f} | {b.f:.4f} | {lines.f:.4f} | {sum(seconds) / len(seconds):.2f} ({max(seconds):.2f}) |",
                flush=True,
            )
        for model_name, recognizer in recognizers.items():
            scale = None if arguments.scale == "none" else "auto"
            report = evaluate_pages(segmenter, pages, recognizer, name in REGIONS_ALSO, warn=print, scale=scale)
            found, any_order, theirs = (report.total(k) for k in ("errors", "errors_any_order", "errors_of_layout"))
            points = report.any_order_points()
            cer_rows.append(
                f"| {name} | {model_name} | {100 * theirs.cer:.2f} | {100 * found.cer:.2f} | {100 * any_order.cer:.2f} | "
                f"{points[0]:.2f} | {points[1]:.2f} | {100 * (found.cer - theirs.cer):+.2f} |"
            )
    if cer_rows:
        print("\nPage CER (%), the found lines read against the layout's own (Poilus: inside its regions):\n")
        print(
            "| set | recognizer | layout's lines | found lines, reading order | found lines, any order "
            "| of which missed lines | of which extra lines | difference |"
        )
        print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        print("\n".join(cer_rows))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak memory of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
