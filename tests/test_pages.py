"""Pages in, pages out: layouts read, lines cut and read, readings written back or converted."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from cli.main import app
from hwr.data.alphabet import Alphabet
from hwr.data.images import Preprocessing
from hwr.data.layout import read_layout
from hwr.data.readers import read_lines
from hwr.model_file import Model, save_model
from hwr.network import MDLSTMNetwork
from hwr.network_config import NetworkConfig
from hwr.page_output import clashing, output_path, render
from hwr.pages import read_page
from tests.synthetic_pages import synthetic_pages

SAMPLES = Path(__file__).resolve().parents[2] / "shared/datasets/page_samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason="the shared page samples are not on this machine")
REPLACED = {"page": ("TextEquiv", "Word", "Glyph"), "alto": ("String", "SP", "HYP")}


def reading_model(texts: list[str]) -> Model:
    """A random network that reads something on every line (its output rows scaled up)."""
    torch.manual_seed(0)
    alphabet = Alphabet.from_texts(texts)
    network = MDLSTMNetwork(
        NetworkConfig(
            len(alphabet), input_block=(2, 2), hidden_sizes=(2, 6), subsample_sizes=(6,), subsample_blocks=((4, 1),)
        )
    )
    with torch.no_grad():
        network.output.weight.mul_(20)
        network.output.bias[0] = -5  # fewer blanks: every line reads some characters
    return Model(network.eval(), alphabet, Preprocessing(height=24))


@pytest.fixture(scope="module", params=["page", "alto"])
def pages(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param)
    layouts = synthetic_pages(folder, pages=2, lines_per_page=3, format=request.param)
    return request.param, layouts


def without_readings(root: ET.Element, format: str) -> str:
    """The file's canonical form without the elements a reading replaces."""
    for line in [e for e in root.iter() if isinstance(e.tag, str) and e.tag.endswith("TextLine")]:
        for child in list(line):
            if child.tag.rpartition("}")[2] in REPLACED[format]:
                line.remove(child)
    return ET.canonicalize(ET.tostring(root, encoding="unicode"), strip_text=True)


def test_lines_cut_read_and_written_back_read_back_the_same(pages, tmp_path):
    format, layouts = pages
    model = reading_model([line.text for line in read_lines(layouts[0].parent).lines])
    for layout in layouts:
        reading = read_page(model, layout)
        assert len(reading.lines) == 3 and all(line.transcription.text for line in reading.lines)
        for target in ("page", "alto"):
            written = tmp_path / f"{layout.stem}.{target}.xml"
            written.write_bytes(render(read_page(model, layout), target))
            again = read_layout(written)
            assert again.format == target and again.image.name == layout.with_suffix(".png").name
            assert [line.id for line in again.lines] == ["l1", "l2", "l3"]
            assert [line.text for line in again.lines] == [line.transcription.text for line in reading.lines]
            assert all((a.polygon == b.line.polygon).all() for a, b in zip(again.lines, reading.lines))


def test_a_layout_written_back_keeps_everything_else_as_it_was(pages, tmp_path):
    format, layouts = pages
    model = reading_model([line.text for line in read_lines(layouts[0].parent).lines])
    written = tmp_path / "out.xml"
    written.write_bytes(render(read_page(model, layouts[0]), format))
    assert b"<!-- a synthetic page -->" in written.read_bytes()
    original = ET.parse(layouts[0]).getroot()
    assert without_readings(ET.parse(written).getroot(), format) == without_readings(original, format)


@needs_samples
@pytest.mark.parametrize(
    "name",
    ["timeuscorpus/IMG_20190620_122552.page.xml", "timeuscorpus/IMG_20190620_122552.alto.xml", "cremma_mss19/f53.xml"],
)
def test_real_layouts_written_back_keep_everything_else(name, tmp_path):
    layout = read_layout(SAMPLES / name)
    model = reading_model([line.text or "" for line in layout.lines])
    reading = read_page(model, SAMPLES / name)
    written = tmp_path / "out.xml"
    written.write_bytes(render(reading, reading.layout.format, glyphs=True))
    original = ET.parse(SAMPLES / name).getroot()
    assert without_readings(ET.parse(written).getroot(), layout.format) == without_readings(original, layout.format)
    again = read_layout(written)
    assert (
        [line.id for line in again.lines]
        == [line.line.id for line in reading.lines]
        == [line.id for line in layout.lines]
    )
    assert [line.text for line in again.lines] == [line.transcription.text for line in reading.lines]


def test_words_and_characters_lie_on_their_line(pages):
    format, layouts = pages
    model = reading_model([line.text for line in read_lines(layouts[0].parent).lines])
    for line in read_page(model, layouts[0]).lines:
        (x0, y0), (x1, y1) = line.line.polygon.min(axis=0), line.line.polygon.max(axis=0)
        characters = line.transcription.characters
        assert "".join(c.text for c in characters) == line.transcription.text
        assert all(x0 <= c.start < c.end <= x1 + 1 for c in characters)
        assert [c.start for c in characters] == sorted(c.start for c in characters)
        assert " ".join(w.text for w in line.words) == " ".join(line.transcription.text.split())
        for word in line.words:
            x, y, w, h = word.box
            assert x0 <= x and x + w <= x1 + 1 and y0 <= y and y + h <= y1 + 1 and 0 <= word.confidence <= 1


def test_other_formats_and_where_they_go(pages, tmp_path):
    format, layouts = pages
    model = reading_model([line.text for line in read_lines(layouts[0].parent).lines])
    reading = read_page(model, layouts[0])
    data = json.loads(render(reading, "json"))
    assert [line["text"] for line in data["lines"]] == [line.transcription.text for line in reading.lines]
    assert data["lines"][0]["characters"][0].keys() == {"text", "x", "width", "confidence"}
    assert render(reading, "text").decode().splitlines() == [line.transcription.text for line in reading.lines]
    assert render(reading, "tsv").decode().splitlines()[0] == "id\ttext\tconfidence"
    assert output_path(Path("a/p.xml"), "alto") == Path("a/p.hwr.xml")
    assert output_path(Path("a/p.xml"), "json", Path("out")) == Path("out/p.json")
    assert output_path(Path("a/p.xml"), "page", in_place=True) == Path("a/p.xml")
    scans = [Path("a/s.jpg"), Path("a/s.png"), Path("b/s.jpg"), Path("a/t.jpg")]
    assert clashing(scans) == {Path("a/s.jpg"), Path("a/s.png")}
    assert clashing(scans, Path("out")) == {Path("a/s.jpg"), Path("a/s.png"), Path("b/s.jpg")}
    assert output_path(Path("a/s.jpg"), "alto", Path("out"), full_name=True) == Path("out/s.jpg.xml")


def test_hwr_transcribe_writes_pages_beside_them_into_a_folder_or_in_place(pages, tmp_path):
    format, layouts = pages
    model = tmp_path / "m.safetensors"
    save_model(model, reading_model([line.text for line in read_lines(layouts[0].parent).lines]))
    runner = CliRunner()
    result = runner.invoke(app, ["transcribe", *map(str, layouts), "-m", str(model), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["page0.xml", "page1.xml"]
    assert read_layout(tmp_path / "out/page0.xml").format == format
    result = runner.invoke(app, ["transcribe", str(layouts[0]), "-m", str(model), "-f", "json"])
    assert result.exit_code == 0 and layouts[0].with_name("page0.hwr.json").is_file()
    image = layouts[0].with_suffix(".png")
    result = runner.invoke(app, ["transcribe", str(image), "--layout", str(layouts[0]), "-m", str(model), "-f", "text"])
    assert result.exit_code == 0 and layouts[0].with_name("page0.hwr.txt").is_file()
    before = layouts[1].read_bytes()
    result = runner.invoke(app, ["transcribe", str(layouts[1]), "-m", str(model), "--in-place", "-f", "json"])
    assert result.exit_code == 1 and "--in-place writes" in result.output and layouts[1].read_bytes() == before
    result = runner.invoke(app, ["transcribe", str(image), "-m", str(model), "--glyphs"])
    assert result.exit_code == 1 and "are for pages" in result.output


def test_training_and_evaluating_on_folders_of_pages(pages, tmp_path):
    format, layouts = pages
    folder = layouts[0].parent
    runner = CliRunner()
    tiny = [
        "--height",
        "16",
        "--input-block",
        "2x2",
        "--subsample-blocks",
        "4x1",
        "--hidden",
        "2,6",
        "--subsample",
        "6",
    ]
    args = ["train", str(folder), "-o", str(tmp_path / "m"), "--epochs", "1", "--threads", "1", "--partition", "0.5"]
    result = runner.invoke(app, [*args, *tiny])
    assert result.exit_code == 0, result.output
    assert "training on 3 lines, validating on 3" in result.output
    result = runner.invoke(app, ["evaluate", str(folder), "-m", str(tmp_path / "m/best.safetensors")])
    assert result.exit_code == 0, result.output
    assert "lines: 6 evaluated, 0 skipped" in result.output and "CER:" in result.output
    # Layout files listed one by one (as a shell expands pages/*.xml) are one data set.
    args = ["train", *map(str, layouts), "-o", str(tmp_path / "n"), "--epochs", "1", "--threads", "1"]
    result = runner.invoke(app, [*args, "--partition", "0.5", *tiny])
    assert result.exit_code == 0 and "training on 3 lines, validating on 3" in result.output, result.output
    result = runner.invoke(app, ["evaluate", *map(str, layouts), "-m", str(tmp_path / "n/best.safetensors")])
    assert result.exit_code == 0 and "lines: 6 evaluated, 0 skipped" in result.output, result.output


def test_a_page_read_as_a_line_is_read_with_a_warning_or_refused_when_strict(pages, tmp_path):
    format, layouts = pages
    model = tmp_path / "m.safetensors"
    save_model(model, reading_model([line.text for line in read_lines(layouts[0].parent).lines]))
    page, line = tmp_path / "tall.png", read_lines(layouts[0].parent / "lines/lines.tsv").lines[0].image
    three_lines = cv2.imread(str(layouts[0].with_suffix(".png")), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(page), np.vstack([three_lines] * 4))  # twelve lines: higher than wide
    runner = CliRunner()
    never = ["--segment", "never"]
    result = runner.invoke(app, ["transcribe", str(page), str(line), "-m", str(model), "-f", "json", *never])
    assert result.exit_code == 0, result.output
    warning = f"warning: {page}: 980x"
    assert warning in result.output and "looks like a page, not a line: read as a line" in result.output
    rows = json.loads(result.output[result.output.index("[") :])
    assert len(rows) == 2 and rows[1]["characters"] and rows[1]["characters"][0]["x"] >= 0
    assert "".join(c["text"] for c in rows[1]["characters"]) == rows[1]["text"]
    result = runner.invoke(app, ["transcribe", str(page), "-m", str(model), "--strict", *never])
    assert result.exit_code == 1 and warning in result.output and "1 of 1 images skipped" in result.output


def test_a_quoted_glob_of_layouts_is_one_data_set(pages, tmp_path):
    format, layouts = pages
    model = tmp_path / "m.safetensors"
    save_model(model, reading_model([line.text for line in read_lines(layouts[0].parent).lines]))
    pattern = str(layouts[0].parent / "page*.xml")
    result = CliRunner().invoke(app, ["evaluate", pattern, "-m", str(model)])
    assert result.exit_code == 0 and "lines: 6 evaluated" in result.output, result.output
    result = CliRunner().invoke(app, ["evaluate", str(layouts[0].parent / "nothing*.xml"), "-m", str(model)])
    assert result.exit_code == 1 and "nothing*.xml: pattern matches no files" in result.output


def test_a_line_that_reads_nothing_keeps_one_empty_string_in_alto(pages, tmp_path):
    format, layouts = pages
    model = reading_model([line.text for line in read_lines(layouts[0].parent).lines])
    with torch.no_grad():
        model.network.output.bias[0] = 100  # only blanks: every line reads nothing
    reading = read_page(model, layouts[0])
    assert all(line.transcription.text == "" and not line.words for line in reading.lines)
    written = tmp_path / "empty.xml"
    written.write_bytes(render(reading, "alto"))
    strings = [e for e in ET.parse(written).getroot().iter() if isinstance(e.tag, str) and e.tag.endswith("String")]
    assert len(strings) == 3 and all(s.get("CONTENT") == "" for s in strings)
    assert [line.text for line in read_layout(written).lines] == ["", "", ""]


def half_size_copy(layout: Path, folder: Path) -> Path:
    """``layout``'s page scanned at half the resolution: its image and every coordinate halved."""
    folder.mkdir()
    root = ET.parse(layout).getroot()
    page = cv2.imread(str(layout.with_suffix(".png")), cv2.IMREAD_GRAYSCALE)
    cv2.imwrite(str(folder / "half.png"), cv2.resize(page, (page.shape[1] // 2, page.shape[0] // 2)))
    for element in root.iter():
        for name, value in element.attrib.items():
            if name in ("points", "POINTS", "HPOS", "VPOS", "WIDTH", "HEIGHT", "imageWidth", "imageHeight"):
                halves = [str(round(float(v) / 2)) for v in value.replace(",", " ").split()]
                element.set(
                    name,
                    " ".join(",".join(halves[k : k + 2]) for k in range(0, len(halves), 2))
                    if name == "points"
                    else " ".join(halves),
                )
            elif name == "imageFilename":
                element.set(name, "half.png")
        if element.tag.endswith("fileName"):
            element.text = "half.png"
    (folder / "half.xml").write_bytes(ET.tostring(root))
    return folder / "half.xml"


def test_scale_auto_reads_each_page_at_the_scale_of_its_own_lines(pages, tmp_path):
    """Pages of one collection scanned at several resolutions: each is read at its own scale, so a
    page reads the same whichever pages it is read with."""
    format, layouts = pages
    model = reading_model([line.text for line in read_lines(layouts[0].parent).lines])
    model_file = tmp_path / "m.safetensors"
    save_model(model_file, model)
    half = half_size_copy(layouts[0], tmp_path / "half")
    full_scale, half_scale = (
        read_page(model, layouts[0], scale="auto").scale,
        read_page(model, half, scale="auto").scale,
    )
    assert half_scale == pytest.approx(2 * full_scale, rel=0.05)
    runner = CliRunner()

    def transcribe_auto(*layouts: Path, out: str):
        arguments = ["transcribe", *map(str, layouts), "-m", str(model_file), "-f", "json", "-o", str(tmp_path / out)]
        return runner.invoke(app, [*arguments, "--scale", "auto"])

    both = transcribe_auto(layouts[0], half, out="both")
    assert both.exit_code == 0, both.output
    assert f"at scale {full_scale:.3f}" in both.output and f"at scale {half_scale:.3f}" in both.output
    alone = transcribe_auto(half, out="alone")
    assert alone.exit_code == 0, alone.output
    texts = [
        [line["text"] for line in json.loads((tmp_path / run / "half.json").read_text())["lines"]]
        for run in ("both", "alone")
    ]
    assert texts[0] == texts[1]
    # evaluate reads the lines of each page at that page's scale too.
    evaluated = runner.invoke(app, ["evaluate", str(layouts[0]), str(half), "-m", str(model_file), "--scale", "auto"])
    assert evaluated.exit_code == 0, evaluated.output
    assert f"auto): {full_scale:.3f} to {half_scale:.3f} over 2 pages" in evaluated.output


@pytest.mark.parametrize("format", ["page", "alto"])
def test_readings_of_0_1_and_1000_characters_go_through_every_format(format, tmp_path, monkeypatch):
    import hwr.pages
    from hwr.recognizer import Character, Transcription
    from tests.page_checks import problems_of, transcribe_to_every_format

    (layout,) = synthetic_pages(tmp_path / "pages", pages=1, lines_per_page=3, format=format)
    long_text = ("abcdefghi " * 100)[:999] + "j"

    def fixed_readings(model, images, batch_size, widths):
        """Readings of 0, 1 and 1,000 characters, placed evenly along their lines."""
        readings = []
        for text, width in zip(("", "x", long_text), widths):
            step = width / max(1, len(text))
            characters = tuple(
                Character(c, int(k * step), max(int(k * step) + 1, int((k + 1) * step)), 0.9)
                for k, c in enumerate(text)
            )
            readings.append(Transcription(text, 0.9, characters))
        return readings

    monkeypatch.setattr(hwr.pages, "transcribe_normalized", fixed_readings)
    reading, outputs = transcribe_to_every_format(reading_model(["abc"]), layout)
    assert [len(line.transcription.text) for line in reading.lines] == [0, 1, 1000]
    assert problems_of(reading, outputs, tmp_path) == []


def test_a_page_of_300_lines_goes_through_every_format(tmp_path):
    from tests.page_checks import problems_of, transcribe_to_every_format

    (layout,) = synthetic_pages(tmp_path / "pages", pages=1, lines_per_page=300, format="page")
    model = reading_model([line.text for line in read_lines(layout).lines])
    reading, outputs = transcribe_to_every_format(model, layout)
    assert len(reading.lines) == 300
    assert problems_of(reading, outputs, tmp_path) == []
