"""Every shared page, of every split, through every output: the checks of ``tests/test_real_pages.py``
(which CI runs on the test pages only) over all pages of the four page sets and the page samples.

For each set: ``hwr transcribe PAGES -f alto --glyphs`` over all its pages, timed (seconds per page,
one thread, the default model with its language model), its exit status and whether every page
got text; then each page read again by the library and written as PAGE, ALTO, JSON and text, each
output read back and validated (``tests/page_checks.py``). Prints a table; exits 1 if anything failed.

    python bench/check_real_pages.py            # needs the test extra (lxml)
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hwr.api import load_model  # noqa: E402
from hwr.data.layout import read_layout  # noqa: E402
from tests.page_checks import problems_of, transcribe_to_every_format  # noqa: E402
from tests.shared_data import PAGE_SETS, SHARED  # noqa: E402


def command_run(pages: list[Path], out: Path) -> tuple[int, float, int]:
    """``hwr transcribe`` of ``pages`` to ALTO with glyphs: exit status, seconds, pages without text."""
    start = time.perf_counter()
    hwr = Path(sys.executable).with_name("hwr")
    command = [str(hwr) if hwr.exists() else "hwr", "transcribe", *map(str, pages), "-f", "alto", "--glyphs"]
    run = subprocess.run([*command, "-o", str(out), "--threads", "1"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    textless = 0
    for page in pages:
        written = out / page.name
        if not written.exists() or not any((line.text or "").strip() for line in read_layout(written).lines):
            textless += 1
    if run.returncode != 0:
        print(run.stderr[-2000:], file=sys.stderr)
    return run.returncode, seconds, textless


def main() -> None:
    model = load_model()
    groups = {name: sorted((SHARED / name / "pages").glob("*/*.xml")) for name in PAGE_SETS}
    groups["page_samples"] = sorted((SHARED / "page_samples").glob("*/*.xml"))
    failed = False
    print(
        "| set | pages | lines | hwr transcribe -f alto --glyphs: exit | s/page | pages without text | pages with problems |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        for name, pages in groups.items():
            if not pages:
                continue
            status, seconds, textless = command_run(pages, Path(folder) / name)
            lines, bad = 0, 0
            for page in pages:
                try:
                    reading, outputs = transcribe_to_every_format(model, page)
                    problems = problems_of(reading, outputs, Path(folder))
                    lines += len(reading.lines)
                except Exception as exc:  # reported, and the other pages checked
                    problems = [f"{type(exc).__name__}: {exc}"]
                if problems:
                    bad += 1
                    print(f"{page}: {problems}", file=sys.stderr)
            failed |= status != 0 or textless > 0 or bad > 0
            print(f"| {name} | {len(pages)} | {lines} | {status} | {seconds / len(pages):.2f} | {textless} | {bad} |")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
