"""The shipped segmenter on real pages: every test page of the four shared sets segmented into PAGE
and ALTO that validate against the official schemas and read back; and, on a page of each set,
``hwr segment`` then ``hwr transcribe`` reads the pages nearly as well as their own layouts do.
Issue 38 asks for a page CER within 1.5 points of the layout's; the shipped segmenter is at +7.1
on these four pages, read greedily by base 2 (+5.6 by base 1, which read the layouts' own lines
worse; ``datasets/segmentation/RESULTS.md``): the bound here guards that level."""

from __future__ import annotations

import pytest
from lxml import etree
from typer.testing import CliRunner

from cli.main import app
from hwr.api import load_model, load_segmenter
from hwr.data.layout import read_layout
from hwr.metrics import ErrorCounts
from hwr.page_output import render_layout
from hwr.pages import read_layout_page
from hwr.segmentation.layout import segmented_layout
from hwr.segmentation.metrics import line_scores, page_errors
from tests.page_checks import ALTO_4, PAGE_2019, schema
from tests.shared_data import PAGE_SETS, SHARED

PAGES = [path for name in PAGE_SETS for path in sorted((SHARED / name / "pages/test").glob("*.xml"))]
pytestmark = pytest.mark.skipif(not PAGES, reason="the shared page sets are not on this machine")
BOUND = 0.09
"""Page CER of the found lines over that of the layout's own: at most this much more (measured: 0.071)."""


@pytest.fixture(scope="module")
def segmenter():
    return load_segmenter()


@pytest.mark.parametrize("xml", PAGES, ids=[f"{p.parents[2].name}/{p.stem}" for p in PAGES])
def test_a_real_page_segments_into_valid_page_and_alto(segmenter, xml, tmp_path):
    found = segmenter.segment(read_layout(xml).image)
    assert found.lines, "a test page has lines"
    for format, namespace in (("page", PAGE_2019), ("alto", ALTO_4)):
        target = tmp_path / f"{format}.xml"
        target.write_bytes(render_layout(segmented_layout(found, format, target)))
        schema(namespace).assertValid(etree.parse(str(target)))
        again = read_layout(target)
        assert len(again.lines) == len(found.lines) and again.image.resolve() == found.image.resolve()


def test_segment_then_transcribe_reads_pages_as_their_layouts_do(tmp_path):
    """The first test page of each set, read by the default model (greedy, each page at the scale of
    its own lines): through hwr segment and hwr transcribe, and through its own layout."""
    recognizer = load_model()
    recognizer.language_model = None
    ours, theirs = ErrorCounts(), ErrorCounts()
    for name in PAGE_SETS:
        xml = next(p for p in PAGES if SHARED / name in p.parents)
        layout = read_layout(xml)
        out = tmp_path / name
        segmented = CliRunner().invoke(app, ["segment", str(layout.image), "-o", str(out)])
        assert segmented.exit_code == 0, segmented.output
        layout_file = out / f"{layout.image.stem}.xml"
        read = CliRunner().invoke(
            app, ["transcribe", str(layout_file), "--no-lm", "--scale", "auto", "-f", "page", "-o", str(out / "read")]
        )
        assert read.exit_code == 0, read.output
        texts = [line.text or "" for line in layout.lines]
        ours += page_errors(
            [line.text or "" for line in read_layout(out / "read" / f"{layout.image.stem}.xml").lines], texts
        )
        theirs += page_errors(
            [line.transcription.text for line in read_layout_page(recognizer, layout, scale="auto").lines], texts
        )
    assert ours.cer <= theirs.cer + BOUND, (ours.cer, theirs.cer)


@pytest.mark.parametrize(
    ("page", "gutter", "least_f", "least_left"),
    [
        # Verse in two columns whose lines face each other across a narrow gutter: the network reads
        # each pair as one line; cut at the gutter, the lines match the layout's (line F 0.29 uncut).
        ("valid/manuscrits-rviven_f93", 830, 0.85, 15),
        # Such verse on a small sheet in a corner of a scan otherwise empty: read whole, its lines lie
        # 8 input pixels apart and the network finds 4 merged lines of its 61 (line F 0.06); its sheet
        # is read alone and larger.
        ("train/manuscrits-rviven_f73", 750, 0.75, 25),
    ],
)
def test_verse_in_two_columns_is_read_column_by_column(segmenter, page, gutter, least_f, least_left):
    """CREMMA pages of two columns: the found lines match the layout's, and the left column (lines
    whose middle lies left of ``gutter``, in page pixels) comes first."""
    xml = SHARED / "cremma_mss19/pages" / f"{page}.xml"
    if not xml.exists():
        pytest.skip("the shared CREMMA pages are not on this machine")
    layout = read_layout(xml)
    found = segmenter.segment(layout.image).lines
    scores = line_scores([line.polygon for line in found], [line.polygon for line in layout.lines])
    assert scores.f >= least_f, scores
    middles = [float(line.baseline[:, 0].mean()) for line in found]
    left = [k for k, x in enumerate(middles) if x < gutter]
    assert left == list(range(len(left))) and len(left) >= least_left
