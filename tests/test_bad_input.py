"""Bad input through every command: one clear line naming the file, skipping where safe, never a traceback.

A corpus of more than 200 bad inputs is generated here: damaged, odd and huge
images; broken manifests; damaged, tampered and foreign model files.
"""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from cli.main import app
from hwr.engine.config import TrainConfig
from hwr.engine.run import start_run
from hwr.synth import generate_dataset
from tests.tiny_runs import tiny_run

runner = CliRunner()
TINY_ARGS = (
    "--height 16 --hidden 2,6 --subsample 6 --input-block 2x2 --subsample-blocks 4x1 --epochs 1 --no-augment".split()
)


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{args}: {type(result.exception).__name__}: {result.exception}\n{result.output}"
    )
    assert "Traceback" not in result.output
    return result


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def huge_png_header(width: int, height: int) -> bytes:
    """A PNG that declares a huge size (its pixel data is cut short)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\0" * 1000))


@pytest.fixture(scope="module")
def setting(tmp_path_factory):
    root = tmp_path_factory.mktemp("bad")
    manifest = generate_dataset(root / "data", 24, seed=9, valid_fraction=0.25, test_fraction=0.0)
    run = tiny_run(manifest, TrainConfig(epochs=1, augment=False))
    start_run(run, root / "model", log=lambda _: None)
    return root, manifest, root / "model" / "best.safetensors"


def bad_images(folder, good_png: bytes) -> dict[str, bytes]:
    """Name -> file content of broken images (each must be refused with a message)."""
    rng = np.random.default_rng(0)
    _, jpg = cv2.imencode(".jpg", cv2.imdecode(np.frombuffer(good_png, np.uint8), cv2.IMREAD_GRAYSCALE))
    jpg = jpg.tobytes()
    files = {"empty.png": b"", "text.png": b"just some text, not an image\n", "pickle.png": b"\x80\x04K\x01."}
    for k in range(30):
        files[f"cut_png_{k}.png"] = good_png[: int(len(good_png) * k / 30)] if k else good_png[:8]
    for k in range(30):
        files[f"cut_jpg_{k}.jpg"] = jpg[: max(1, int(len(jpg) * k / 60))]
    for k in range(40):
        files[f"noise_{k}.png"] = rng.integers(0, 256, int(rng.integers(1, 4000)), dtype=np.uint8).tobytes()
    for k in range(10):
        flipped = bytearray(good_png)
        flipped[8:40] = rng.integers(0, 256, 32, dtype=np.uint8).tobytes()  # header smashed
        files[f"smashed_{k}.png"] = bytes(flipped)
    for size in ((1, 1), (1, 50), (50, 1)):
        files[f"tiny_{size[0]}x{size[1]}.png"] = cv2.imencode(".png", np.zeros(size, np.uint8))[1].tobytes()
    files["huge_20000x20000.png"] = huge_png_header(20000, 20000)
    files["huge_100000x1000.png"] = huge_png_header(100000, 1000)
    return files


def odd_but_valid_images() -> dict[str, bytes]:
    """Images hwr must read and transcribe: 16-bit, colour, alpha, flat, float."""
    gray = np.full((40, 160), 235, np.uint8)
    gray[15:25, 20:140] = 30
    images = {
        "gray16.png": gray.astype(np.uint16) * 257,
        "colour.png": np.dstack([gray, gray // 2, gray]),
        "alpha.png": np.dstack([gray, gray, gray, np.full_like(gray, 200)]),
        "white.png": np.full((40, 160), 255, np.uint8),
        "black.png": np.zeros((40, 160), np.uint8),
        "float.tiff": gray.astype(np.float32) / 255,
    }
    return {name: cv2.imencode("." + name.split(".")[1], im)[1].tobytes() for name, im in images.items()}


def test_transcribe_skips_each_bad_image_with_its_name_and_counts_them(setting, tmp_path):
    root, _, model = setting
    good = (root / "data" / "images" / "000000.png").read_bytes()
    bad = bad_images(tmp_path, good)
    for name, content in {**bad, **odd_but_valid_images()}.items():
        (tmp_path / name).write_bytes(content)
    assert len(bad) >= 110
    result = invoke("transcribe", tmp_path, "--model", model, "--format", "tsv", "--segment", "never")
    assert result.exit_code == 1  # the readable ones written, the status says some were not
    lines = result.output.splitlines()
    transcribed = {line.split("\t")[0].rsplit("/", 1)[-1] for line in lines[1:] if "\t" in line}
    assert set(odd_but_valid_images()) <= transcribed and not transcribed & set(bad)
    for name in bad:
        assert any(name in line and line.startswith("warning: ") for line in lines), name
    assert f"{len(bad)} of {len(bad) + 6} images skipped" in result.output
    # In a manifest, for evaluate and train: each bad image is skipped with its name, the run goes on.
    rows = (root / "data" / "lines.tsv").read_text(encoding="utf-8").splitlines()
    extra = [f"bad{k}\ttrain\t{tmp_path / name}\tsome text\tnone" for k, name in enumerate(bad)]
    manifest = tmp_path / "with_bad_images.tsv"
    good = [r.replace("images/", f"{root}/data/images/") for r in rows[1:]]
    manifest.write_text("\n".join([rows[0], *good * 8, *extra]))  # most lines stay usable
    evaluated = invoke("evaluate", manifest, "--model", model)
    assert evaluated.exit_code == 0 and f"{len(bad)} skipped" in evaluated.output
    trained = invoke("train", manifest, "-o", tmp_path / "run", *TINY_ARGS)
    assert trained.exit_code == 0 and f"train: {len(bad)} lines were skipped" in trained.output
    for name in bad:
        assert name in evaluated.output and name in trained.output, name
    for name in bad:  # alone, each is fatal: one line, exit 1
        alone = invoke("transcribe", tmp_path / name, "--model", model)
        assert alone.exit_code == 1 and name in alone.output


def test_huge_image_is_refused_before_decoding(tmp_path, setting):
    _, _, model = setting
    (tmp_path / "huge.png").write_bytes(huge_png_header(20000, 20000))
    result = invoke("transcribe", tmp_path / "huge.png", "--model", model)
    assert result.exit_code == 1 and "huge.png: image too large (20000x20000 pixels" in result.output


def bad_models(good: bytes) -> dict[str, bytes]:
    rng = np.random.default_rng(1)
    models = {
        "empty.safetensors": b"",
        "text.safetensors": b"hello",
        "pickle.pt": b"\x80\x04K\x01.",
        "zip.pt": b"PK\x03\x04" + b"\0" * 100,
    }
    for k in range(30):
        models[f"cut_{k}.safetensors"] = good[: int(len(good) * k / 30)]
    for k in range(40):
        flipped = bytearray(good)
        flipped[int(rng.integers(0, len(good)))] ^= 1 << int(rng.integers(0, 8))
        models[f"flip_{k}.safetensors"] = bytes(flipped)
    return models


def test_damaged_tampered_and_foreign_models_are_refused_by_every_command(setting, tmp_path):
    root, manifest, model = setting
    image = root / "data" / "images" / "000000.png"
    models = bad_models(model.read_bytes())
    assert len(models) >= 70
    for name, content in models.items():
        (tmp_path / name).write_bytes(content)
        for args in (("transcribe", image), ("evaluate", manifest)):
            result = invoke(*args, "--model", tmp_path / name)
            assert result.exit_code == 1, (name, result.output)
            assert result.output.count("\n") == 1 and name in result.output and result.output.startswith("error: ")


def bad_manifests(root) -> dict[str, str]:
    good = (root / "data" / "lines.tsv").read_text(encoding="utf-8").splitlines()
    header, rows = good[0], good[1:]
    manifests = {
        "empty.tsv": "",
        "header_only.tsv": header + "\n",
        "no_text_column.tsv": "id\timage\n1\timages/000000.png\n",
        "no_image_column.tsv": "id\ttext\n1\thello\n",
        "binary.tsv": "\x00\x01\x02garbage\n",
    }
    for k in range(6, 16):  # rows 6.. are training lines
        broken = list(rows)
        broken[k] = broken[k].replace("images/", "images/missing_")
        broken[k + 1] = "\t".join(broken[k + 1].split("\t")[:3] + ["", "font"])  # empty text
        broken[k + 2] = broken[k + 2] + "\textra\tfields"
        broken[k % 6] = broken[k % 6].rsplit("\t", 2)[0] + "\t" + "€" * 3 + "\tfont"  # unknown in valid
        broken[k + 4] = broken[k + 4].rsplit("\t", 2)[0] + "\t" + "x" * 300 + "\tfont"  # far too long
        manifests[f"rows_{k}.tsv"] = "\n".join([header, *broken]) + "\n"
    return manifests


def test_broken_manifests_through_train_and_evaluate(setting, tmp_path):
    root, _, model = setting
    manifests = bad_manifests(root)
    for name, content in manifests.items():
        path = root / "data" / name  # beside the images, so relative paths resolve
        path.write_text(content, encoding="utf-8")
        evaluated = invoke("evaluate", path, "--model", model)
        trained = invoke("train", path, "-o", tmp_path / name, *TINY_ARGS)
        if name.startswith("rows_"):
            assert evaluated.exit_code == 0 and "3 skipped" in evaluated.output, evaluated.output
            assert "missing_" in evaluated.output and "empty text" in evaluated.output
            assert trained.exit_code == 0, trained.output
            for expected in (
                "not found, skipped",
                "empty text",
                "malformed row",
                "too long for their image",
                "'€' x3",
                "lines were skipped",
            ):
                assert expected in trained.output, (name, expected)
        else:
            for result in (evaluated, trained):
                assert result.exit_code == 1 and name in result.output and result.output.startswith("error: ")


def bad_layouts(good: dict[str, str]) -> dict[str, tuple[str, str]]:
    """Name -> (content, what happens: ``page`` skipped, ``line`` l1 skipped, or ``read``) of broken
    PAGE-XML and ALTO files, made from a good file of each format."""
    rng = np.random.default_rng(2)
    layouts: dict[str, tuple[str, str]] = {}
    for form, text in good.items():
        for k in range(1, 11):
            layouts[f"cut_{k}_{form}.xml"] = (text[: len(text) * k // 11], "page")
        first_points = "points" if form == "page" else "POINTS"
        start = text.index(f'{first_points}="', text.index("l1")) + len(first_points) + 2
        end = text.index('"', start)
        line_points = text[start:end]
        two = " ".join(line_points.replace(",", " ").split()[:4])
        two = two if form == "alto" else ",".join(two.split(" ", 1)[:1]) + " " + ",".join(two.split(" ")[2:4])
        image = "page0.png"
        x, y = line_points.replace(",", " ").split()[:2]
        flat, one = (f"{x},{y} 800,{y}", f"{x},{y}") if form == "page" else (f"{x} {y} 800 {y}", f"{x} {y}")
        layouts |= {
            f"empty_{form}.xml": ("", "page"),
            f"binary_{form}.xml": (bytes(rng.integers(0, 256, 300, dtype=np.uint8)).decode("latin-1"), "page"),
            f"laughs_{form}.xml": (
                '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
                '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>' + text[text.index("<", 5) :].replace("l1", "&c;", 1),
                "page",
            ),
            f"external_{form}.xml": (
                '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                + text[text.index("<", 5) :].replace("l1", "&x;", 1),
                "page",
            ),
            f"namespace_{form}.xml": (text.replace("2019-07-15", "1999-01-01").replace("ns-v4#", "ns-v9#"), "page"),
            f"html_{form}.xml": ("<html><body>not a layout</body></html>", "page"),
            f"no_image_{form}.xml": (text.replace(image, "missing.png"), "page"),
            f"bad_image_{form}.xml": (text.replace(image, "broken.png"), "page"),
            f"two_points_{form}.xml": (text[:start] + two + text[end:], "line"),  # read as their box
            f"flat_two_points_{form}.xml": (text[:start] + flat + text[end:], "line"),
            f"one_point_{form}.xml": (text[:start] + one + text[end:], "line"),
            f"garbage_points_{form}.xml": (text[:start] + "a,b c,d e,f" + text[end:], "line"),
            f"outside_{form}.xml": (text[:start] + "9000,9000 9900,9000 9900,9900" + text[end:], "line"),
            f"no_lines_{form}.xml": (text[: text.index("<TextLine")] + text[text.rindex("</TextLine>") + 11 :], "read"),
        }
    layouts["mm10_alto.xml"] = (good["alto"].replace(">pixel<", ">mm10<"), "page")
    layouts["no_filename_page.xml"] = (good["page"].replace('imageFilename="page0.png"', ""), "page")
    return layouts


@pytest.mark.parametrize("form", ["page", "alto"])
def test_bad_layout_files_through_transcribe_evaluate_and_train(setting, tmp_path, form):
    from tests.synthetic_pages import synthetic_pages

    _, _, model = setting
    folder = tmp_path / form
    good_pages = synthetic_pages(folder, 12, 4, form)  # most lines are good: training goes on
    good = {f: synthetic_pages(tmp_path / f"one_{f}", 1, 3, f)[0].read_text(encoding="utf-8") for f in ("page", "alto")}
    layouts = {name: value for name, value in bad_layouts(good).items() if form in name}
    assert len(layouts) >= 22 and len(good_pages) == 12  # as many of the other format: over 40 bad files in all
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    for name, (content, _) in layouts.items():
        (folder / name).write_text(content, encoding="utf-8")
    for name, (_, outcome) in layouts.items():
        result = invoke("transcribe", folder / name, "--model", model, "-f", "json")
        if outcome == "page":
            assert result.exit_code == 1 and f"warning: {folder / name}" in result.output, (name, result.output)
            assert "page skipped" in result.output and "1 of 1 pages skipped" in result.output
        else:
            assert result.exit_code == 0, (name, result.output)
        if outcome == "line":
            assert f"warning: {folder / name}: line 'l1':" in result.output, name
    # A folder of them, the good page among them: each bad one is named, the good lines are used.
    evaluated = invoke("evaluate", folder, "--model", model)
    assert evaluated.exit_code == 0 and "CER:" in evaluated.output, evaluated.output
    trained = invoke("train", folder, "-o", tmp_path / f"run_{form}", "--partition", "0.8", *TINY_ARGS)
    assert trained.exit_code == 0, trained.output
    for name, (_, outcome) in layouts.items():
        if outcome != "read":
            assert name in evaluated.output and name in trained.output, name


def failing_on(target, name):
    """``target`` (a function or a class's ``__call__``) made to raise a bug's ZeroDivisionError when its
    first argument names ``name``."""

    def broken(*args, **kwargs):
        if any(name in str(getattr(a, "image", a)) for a in args[:2]):
            raise ZeroDivisionError("a bug")
        return target(*args, **kwargs)

    return broken


def test_a_bug_on_one_page_or_line_never_stops_the_others(setting, tmp_path, monkeypatch):
    """Each command reports the failing page or line in one line and goes on; --debug shows the
    traceback after the run, and only then."""
    import hwr.data.prepare
    import hwr.data.readers
    import hwr.page_output
    import hwr.recognizer
    from tests.synthetic_pages import synthetic_pages

    _, _, model = setting
    layouts = synthetic_pages(tmp_path / "pages", 3, 3, "page")
    render = hwr.page_output.render

    def render_failing_on_page1(reading, *args, **kwargs):
        if reading.layout.path.name == "page1.xml":
            raise ZeroDivisionError("a bug")
        return render(reading, *args, **kwargs)

    monkeypatch.setattr(hwr.page_output, "render", render_failing_on_page1)
    result = invoke("transcribe", *layouts, "--model", model, "-f", "alto", "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["page0.xml", "page2.xml"]
    (problem,) = [line for line in result.output.splitlines() if "page1.xml" in line]
    assert problem.startswith("warning: ") and "ZeroDivisionError: a bug" in problem and "page skipped" in problem
    assert "1 of 3 pages skipped" in result.output
    debug = runner.invoke(
        app, ["--debug", "transcribe", *map(str, layouts), "-m", str(model), "-o", str(tmp_path / "d")]
    )
    assert debug.exit_code == 1
    before, _, after = debug.output.partition("Traceback")
    assert (
        "1 of 3 pages skipped" in before and "ZeroDivisionError: a bug" in after and "render_failing_on_page1" in after
    )
    monkeypatch.delenv("HWR_DEBUG")  # --debug set it for the process

    # Line images (transcribe, evaluate) and the training reader: a bug while one line is read.
    monkeypatch.setattr(hwr.recognizer, "LineImages", lambda: failing_on(hwr.data.readers.LineImages(), "000002"))
    monkeypatch.setattr(hwr.data.prepare, "LineImages", lambda: failing_on(hwr.data.readers.LineImages(), "000002"))
    manifest = generate_dataset(tmp_path / "lines", 8, seed=1, valid_fraction=0.25, test_fraction=0.0)
    images = sorted((tmp_path / "lines" / "images").glob("*.png"))
    result = invoke("transcribe", *images, "--model", model, "-f", "tsv")
    assert result.exit_code == 1 and "1 of 8 images skipped" in result.output
    assert len([line for line in result.output.splitlines() if ".png\t" in line]) == 7
    evaluated = invoke("evaluate", manifest, "--model", model)
    assert evaluated.exit_code == 0 and "7 evaluated, 1 skipped" in evaluated.output
    trained = invoke("train", manifest, "-o", tmp_path / "run", *TINY_ARGS)
    assert trained.exit_code == 0 and "000002.png: failed (ZeroDivisionError: a bug)" in trained.output

    # A layout file that fails while train, evaluate or lm read it: skipped, named, the others read.
    monkeypatch.setattr(hwr.data.readers, "_layout_lines", failing_on(hwr.data.readers._layout_lines, "page1"))
    evaluated = invoke("evaluate", tmp_path / "pages", "--model", model)
    assert evaluated.exit_code == 0 and "6 evaluated" in evaluated.output and "page1.xml: failed" in evaluated.output
