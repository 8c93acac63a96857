"""``hwr lm`` reads its lines in every form ``hwr train`` takes, with and without --valid."""

from __future__ import annotations

import shutil

import pytest

from hwr.data.readers import read_lines
from hwr.model_file import load_model
from hwr.synth import generate_dataset
from tests.cli.test_main import TINY, invoke
from tests.synthetic_pages import synthetic_pages

GRID = ["--order", 3, "--weights", "0.5", "--bonuses", "1", "--word-bonuses", "0", "--threads", 1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny trained model and the synthetic manifest it was trained on."""
    folder = tmp_path_factory.mktemp("lm")
    manifest = generate_dataset(folder / "d", 40, seed=2, valid_fraction=0.25, test_fraction=0.0)
    assert invoke("train", manifest, "--output", folder / "m", "--epochs", 1, *TINY).exit_code == 0
    return folder, manifest, folder / "m" / "best.safetensors"


def pairs(manifest, split, folder):
    """The ``split`` lines of ``manifest`` as a kraken folder of x.png + x.gt.txt."""
    folder.mkdir()
    for k, line in enumerate(read_lines(manifest, split).lines):
        shutil.copy(line.image, folder / f"{k}.png")
        (folder / f"{k}.gt.txt").write_text(line.text, encoding="utf-8")
    return folder


def iam(manifest, folder):
    """The lines of ``manifest`` as IAM's ascii/lines.txt and lines/ tree."""
    (folder / "ascii").mkdir(parents=True)
    rows = []
    for k, line in enumerate(read_lines(manifest).lines):
        target = folder / "lines" / "a01" / "a01-000u" / f"a01-000u-{k:02d}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(line.image, target)
        rows.append(f"a01-000u-{k:02d} ok 154 19 408 746 1661 89 {line.text.replace(' ', '|')}\n")
    (folder / "ascii" / "lines.txt").write_text("".join(rows), encoding="utf-8")
    return folder / "ascii" / "lines.txt"


FORMS = ["manifest", "manifest --valid pairs", "pairs --valid pairs", "iam", "pages folder", "pages glob", "pages"]


@pytest.mark.parametrize("form", FORMS)
def test_lm_takes_every_data_form_of_train(trained, tmp_path, form):
    folder, manifest, model = trained
    if form == "manifest":
        data = [manifest]
    elif form == "manifest --valid pairs":  # once: "valid must be a string or none, got PosixPath(...)"
        data = [manifest, "--valid", pairs(manifest, "valid", tmp_path / "valid")]
    elif form == "pairs --valid pairs":
        data = [pairs(manifest, "train", tmp_path / "train"), "--valid", pairs(manifest, "valid", tmp_path / "valid")]
    elif form == "iam":
        data = [iam(manifest, tmp_path)]
    else:
        layouts = synthetic_pages(tmp_path / "pages", pages=3, lines_per_page=4, format="page")
        data = {"pages folder": [tmp_path / "pages"], "pages glob": [f"{tmp_path}/pages/*.xml"], "pages": layouts}[form]
    result = invoke("lm", *data, "--model", model, "--output", tmp_path / "lm.safetensors", *GRID)
    assert result.exit_code == 0, result.output
    assert "valid CER" in result.output.splitlines()[-1]
    assert load_model(tmp_path / "lm.safetensors").language_model.order == 3
