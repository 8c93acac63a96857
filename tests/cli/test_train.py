"""hwr train: run config files, --dump-config, and the refusals that keep a run from being lost."""

from __future__ import annotations

import tomllib

from typer.testing import CliRunner

from cli.main import app
from hwr.engine.config import RunConfig
from hwr.model_file import read_model_file
from hwr.synth import generate_dataset

runner = CliRunner()
TINY = ["--height", "16", "--input-block", "2x2", "--subsample-blocks", "4x1", "--threads", "1", "--no-augment"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_config_files_layer_under_the_options_and_the_dump_is_the_record_in_the_model(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 20, seed=3, valid_fraction=0.25, test_fraction=0.0)
    (tmp_path / "base.toml").write_text(
        "[network]\nhidden_sizes = [2, 7]\nsubsample_sizes = [5]\n[training]\nepochs = 3\nlearning_rate = 0.003\n"
    )
    (tmp_path / "more.json").write_text('{"training": {"epochs": 1, "augmentation": {"elastic": 2.0}}}')
    result = invoke(
        "train",
        manifest,
        "--config",
        tmp_path / "base.toml",
        "--config",
        tmp_path / "more.json",
        *TINY,
        "--hidden",
        "2,6",
        "--dump-config",
    )
    assert result.exit_code == 0, result.output
    dumped = tomllib.loads(result.output)
    assert dumped["network"]["hidden_sizes"] == [2, 6] and dumped["network"]["subsample_sizes"] == [5]
    assert dumped["training"]["epochs"] == 1 and dumped["training"]["learning_rate"] == 0.003
    assert dumped["training"]["augmentation"]["elastic"] == 2.0 and dumped["training"]["augment"] is False
    assert (
        dumped["data"]["sources"] == [{"train": str(manifest), "weight": 1.0}]
        and dumped["preprocessing"]["height"] == 16
    )
    assert not (tmp_path / "model").exists(), "--dump-config trains nothing"

    (tmp_path / "run.toml").write_text(result.output)
    result = invoke("train", "--config", tmp_path / "run.toml", "-o", tmp_path / "m", "--threads", "1")
    assert result.exit_code == 0, result.output
    record = read_model_file(tmp_path / "m" / "best.safetensors")[1]["training"]["run"]
    assert RunConfig.from_dict(record) == RunConfig.from_dict(dumped)


def test_a_run_folder_is_not_overwritten_unless_asked_and_resume_refuses_a_new_network(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 20, seed=3, valid_fraction=0.25, test_fraction=0.0)
    args = ["train", manifest, "-o", tmp_path / "m", "--epochs", 1, "--hidden", "2,6", "--subsample", "6", *TINY]
    assert invoke(*args).exit_code == 0
    best = (tmp_path / "m" / "best.safetensors").read_bytes()
    result = invoke(*args, "--seed", 5)
    assert result.exit_code == 1 and "already holds a training run" in result.output, result.output
    assert (tmp_path / "m" / "best.safetensors").read_bytes() == best
    result = invoke(*args, "--seed", 5, "--overwrite")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "m" / "best.safetensors").read_bytes() != best
    result = invoke(*args, "--resume", "--epochs", 2, "--hidden", "2,8")
    assert result.exit_code == 1, result.output
    assert "network.hidden_sizes ((2, 6) -> (2, 8))" in result.output and len(result.output.splitlines()) == 1
    result = invoke(
        "train", "-o", tmp_path / "m", "--resume", "--epochs", 2, "--learning-rate", "0.002", "--threads", 1
    )
    assert result.exit_code == 0, result.output
    assert "resuming with training.learning_rate 0.001 -> 0.002" in result.output


def test_train_help_names_every_form_of_data():
    result = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for form in ("manifest", "x.gt.txt", "lines.txt", "PAGE-XML/ALTO"):
        assert form in text, form
