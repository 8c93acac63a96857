"""A folder of page scans without layouts, read in one command and resumed after an interruption.

Copies N page images of the shared sets (their test and valid pages, images only) into a temporary
folder, runs ``hwr transcribe FOLDER -f alto -o OUT --threads 1``, interrupts it (SIGINT) once a
third of the pages are written, runs the same command again, and checks that every page then has
its ALTO file with text, that the second run skipped the pages the first had written, and how long
each took. Prints a table; exits 1 if anything failed.

    python bench/check_page_folder.py --pages 100
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwr.data.layout import read_layout  # noqa: E402
from tests.shared_data import PAGE_SETS, SHARED  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=100)
    arguments = parser.parse_args()
    images = [
        image
        for name in PAGE_SETS
        for split in ("test", "valid")
        for image in sorted((SHARED / name / "pages" / split).glob("*.webp"))
    ]
    images = images[:: max(1, len(images) // arguments.pages)][: arguments.pages]
    hwr = Path(sys.executable).with_name("hwr")
    with tempfile.TemporaryDirectory() as temporary:
        scans, out = Path(temporary) / "scans", Path(temporary) / "out"
        scans.mkdir()
        for image in images:
            shutil.copy(image, scans / image.name)
        command = [
            str(hwr) if hwr.exists() else "hwr",
            "transcribe",
            str(scans),
            "-f",
            "alto",
            "-o",
            str(out),
            "--threads",
            "1",
        ]
        start = time.perf_counter()
        first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while first.poll() is None and len(list(out.glob("*.xml"))) < len(images) // 3:
            time.sleep(0.5)
        first.send_signal(signal.SIGINT)
        _, first_err = first.communicate()
        first_seconds, written = time.perf_counter() - start, len(list(out.glob("*.xml")))
        start = time.perf_counter()
        second = subprocess.run(command, capture_output=True, text=True)
        second_seconds = time.perf_counter() - start
        textless = [
            p.name for p in out.glob("*.xml") if not any((line.text or "").strip() for line in read_layout(p).lines)
        ]
        missing = len(images) - len(list(out.glob("*.xml")))
        skipped = f"{written} of {len(images)} pages already done" in second.stderr
    print("| run | exit | pages written | seconds | s/page |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(
        f"| first, interrupted | {first.returncode} | {written} | {first_seconds:.0f} | {first_seconds / max(1, written):.2f} |"
    )
    done = len(images) - written
    print(
        f"| second, resumed | {second.returncode} | {done} | {second_seconds:.0f} | {second_seconds / max(1, done):.2f} |"
    )
    print(
        f"\npages: {len(images)}; missing after both: {missing}; without text: {len(textless)}; "
        f"second run skipped the first's pages: {skipped}"
    )
    if second.returncode or missing or textless or not skipped:
        print(second.stderr[-3000:], file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
