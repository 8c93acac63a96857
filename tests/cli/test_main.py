"""The command line: help for every option, one-line errors for bad paths, a tiny end-to-end run."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
import typer
from typer.testing import CliRunner

import hwr
import hwr.data.readers
import hwr.shipped
from cli.main import app
from hwr.data.images import Preprocessing
from hwr.data.readers import read_lines
from hwr.engine.checkpoint import load_checkpoint
from hwr.errors import DatasetError
from hwr.model_file import load_model, read_model_file
from hwr.synth import generate_dataset

runner = CliRunner()
COMMANDS = ["synth", "train", "lm", "ensemble", "transcribe", "evaluate", "segment", "demo", "models"]
TINY = "--height 16 --hidden 2,8 --subsample 8 --input-block 2x2 --subsample-blocks 4x1 --threads 1 --no-augment --learning-rate 3e-3".split()


AUGMENTED = [arg for arg in TINY if arg != "--no-augment"]


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_help_lists_commands_and_every_option_is_described():
    result = invoke("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output
    group = typer.main.get_command(app)
    for name in COMMANDS:
        command = group.commands[name]
        assert command.help, name
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{name} {param.name}"
        assert invoke(name, "--help").exit_code == 0


def test_every_help_fits_80_columns_with_whole_option_names():
    group = typer.main.get_command(app)
    for name in ["", *COMMANDS]:
        args = [name, "--help"] if name else ["--help"]
        result = runner.invoke(app, args, env={"COLUMNS": "80", "TERMINAL_WIDTH": "80"})
        assert result.exit_code == 0, name
        assert max(map(len, result.output.splitlines())) <= 80, name
        assert "…" not in result.output, f"hwr {name} --help cuts something:\n{result.output}"
        command = group.commands[name] if name else group
        for param in command.params:
            for option in [*param.opts, *param.secondary_opts]:
                if option.startswith("--"):
                    assert option in result.output, f"hwr {name} --help: {option} is not shown whole"


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.output == f"hwr {hwr.__version__}\n"


def test_a_bug_keeps_its_traceback_and_an_hwr_error_is_one_line(tmp_path, monkeypatch):
    manifest = generate_dataset(tmp_path / "d", 3, seed=0)

    def broken(*args, **kwargs):
        raise ValueError("a bug deep in the library")

    monkeypatch.setattr(hwr.data.readers, "_read_manifest", broken)
    result = invoke("evaluate", manifest)
    assert isinstance(result.exception, ValueError) and "a bug deep in the library" in str(result.exception)
    assert result.exit_code != 0 and "error:" not in result.output

    def refused(*args, **kwargs):
        raise DatasetError(f"{manifest}: refused for the test")

    monkeypatch.setattr(hwr.data.readers, "_read_manifest", refused)
    result = invoke("evaluate", manifest)
    assert result.exit_code == 1 and result.output == f"error: {manifest}: refused for the test\n"


@pytest.mark.parametrize(
    "args, path",
    [
        (["transcribe", "{tmp}/missing.png", "--model", "{tmp}/m.safetensors"], "missing.png"),
        (["transcribe", "{tmp}/nothing*.png", "--model", "{tmp}/m.safetensors"], "nothing*.png"),
        (["evaluate", "{tmp}/nope.tsv", "--model", "{tmp}/m.safetensors"], "nope.tsv"),
        (["train", "{tmp}/nope.tsv", "--output", "{tmp}/out"], "nope.tsv"),
        (["train", "{tmp}", "--output", "{tmp}/out", "--resume"], "last.safetensors"),
        (["lm", "{tmp}/nope.tsv", "--model", "{tmp}/m.safetensors", "--output", "{tmp}/lm.safetensors"], "nope.tsv"),
        (["lm", "{tmp}", "--model", "{tmp}/none.safetensors", "--output", "{tmp}/lm.safetensors"], "none.safetensors"),
    ],
)
def test_bad_paths_give_one_line_naming_the_path(tmp_path, args, path):
    result = invoke(*[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and path in lines[0]


def test_dropout_needs_a_rate_per_level(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 10, seed=0)
    result = invoke("train", manifest, "--output", tmp_path / "m", "--dropout", "0.5", *TINY)
    assert result.exit_code == 1
    assert result.output.strip() == "error: dropout needs one rate in [0, 1) per MDLSTM level (2), got (0.5,)"
    result = invoke("train", manifest, "--output", tmp_path / "m", "--dropout", "half", *TINY)
    assert result.exit_code == 2 and "expected comma-separated numbers" in result.output
    result = invoke("train", manifest, "--output", tmp_path / "m", *TINY, "--hidden", "2,x")
    assert result.exit_code == 2 and "expected comma-separated integers" in result.output


def test_augment_settings_name_fields_of_the_augmentation(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 10, seed=0)
    for settings, message, status in (
        ("elastic=big", "expected name=number pairs", 2),
        ("wobble=1", "error: unknown augmentation settings: wobble", 1),
        ("blur=-1", "error: augmentation blur must not be negative", 1),
    ):
        result = invoke("train", manifest, "--output", tmp_path / "m", *TINY, "--augment-settings", settings)
        unboxed = " ".join(result.output.replace("│", " ").split())
        assert result.exit_code == status and message in unboxed, result.output


def test_train_with_convolutions_before_and_lstms_after_the_mdlstm_at_a_fixed_scale(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 12, seed=1, valid_fraction=0.25, test_fraction=0.0)
    result = invoke("train", manifest, "--output", tmp_path / "m", *TINY, "--conv", "4,4")
    assert result.exit_code == 1
    assert result.output.strip().startswith("error: each convolution needs >= 1 channels and one pooling window")
    result = invoke(
        "train",
        manifest,
        "--output",
        tmp_path / "m",
        "--epochs",
        1,
        *TINY,
        "--conv",
        "4,6",
        "--conv-pools",
        "2x1,1x1",
        "--conv-dropout",
        "0,0.3",
        "--sequence-lstm",
        "5,5",
        "--sequence-residual",
        "--sequence-dropout",
        "0.5",
        "--scale",
        "0.25",
    )
    assert result.exit_code == 0, result.output
    assert load_model(tmp_path / "m" / "best.safetensors").preprocessing == Preprocessing(height=16, scale=0.25)
    config = load_model(tmp_path / "m" / "best.safetensors").network.config
    assert config.conv_channels == (4, 6) and config.conv_pools == ((2, 1), (1, 1)) and config.conv_dropout == (0, 0.3)
    assert config.sequence_lstm == (5, 5) and config.sequence_residual and config.sequence_dropout == 0.5
    result = invoke(
        "transcribe", tmp_path / "d" / "images" / "000000.png", "--model", tmp_path / "m" / "best.safetensors"
    )
    assert result.exit_code == 0, result.output


def test_transcribe_uses_the_shipped_model_by_default(tmp_path):
    generate_dataset(tmp_path / "d", 3, seed=0)
    result = invoke("transcribe", tmp_path / "d" / "images" / "000000.png")
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 1


def test_a_missing_shipped_model_says_so(tmp_path, monkeypatch):
    generate_dataset(tmp_path / "d", 3, seed=0)
    monkeypatch.setattr(hwr.shipped, "shipped_models", dict)
    result = invoke("transcribe", tmp_path / "d" / "images" / "000000.png")
    assert result.exit_code == 1
    assert "the shipped default model is missing from this install; give one with --model" in result.output


def test_missing_model_and_pickle_model(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 3, seed=0)
    image = tmp_path / "d" / "images" / "000000.png"
    result = invoke("transcribe", image, "--model", tmp_path / "none.safetensors")
    assert result.exit_code == 1 and "none.safetensors: no such model file, nor a shipped model's name" in result.output
    (tmp_path / "evil.pt").write_bytes(b"\x80\x04K\x01.")
    result = invoke("evaluate", manifest, "--model", tmp_path / "evil.pt")
    assert result.exit_code == 1 and "evil.pt: is a pickle" in result.output


def test_synth_train_transcribe_evaluate(tmp_path):
    assert invoke("synth", tmp_path / "d", "--lines", 30, "--seed", 4, "--valid", 0.2, "--test", 0.2).exit_code == 0
    manifest = tmp_path / "d" / "lines.tsv"
    result = invoke(
        "train",
        manifest,
        "--output",
        tmp_path / "m",
        "--epochs",
        2,
        "--batch-size",
        4,
        "--dropout",
        "0,0.1",
        "--schedule",
        "cosine",
        "--warmup-epochs",
        "0.5",
        "--weight-decay",
        "0.01",
        *AUGMENTED,
        "--augment-probability",
        "0.8",
        "--augment-settings",
        "elastic=2.5,shift=0.05",
    )
    assert result.exit_code == 0, result.output
    assert "epoch 2: loss" in result.output and "best validation CER" in result.output
    model = tmp_path / "m" / "best.safetensors"
    assert load_model(model).network.config.dropout == (0.0, 0.1)
    config = load_checkpoint(tmp_path / "m" / "last.safetensors")[2].config
    assert config.schedule == "cosine" and config.warmup_epochs == 0.5
    assert config.weight_decay == 0.01 and config.augmentation.probability == 0.8
    assert config.augmentation.elastic == 2.5 and config.augmentation.shift == 0.05

    result = invoke("transcribe", tmp_path / "d" / "images", "--model", model, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 30 and set(rows[0]) == {"image", "text", "confidence", "characters"}
    result = invoke(
        "transcribe",
        tmp_path / "d/images/00000*.png",
        "--model",
        model,
        "--format",
        "tsv",
        "--output",
        tmp_path / "out.tsv",
    )
    assert result.exit_code == 0 and len(pd.read_csv(tmp_path / "out.tsv", sep="\t")) == 10

    result = invoke("evaluate", manifest, "--model", model, "--split", "test", "--report", tmp_path / "r.csv")
    assert result.exit_code == 0, result.output
    assert "CER:" in result.output and "WER:" in result.output and "NFC" in result.output
    report = pd.read_csv(tmp_path / "r.csv", keep_default_na=False)
    assert len(report) == 6 and {"reference", "hypothesis", "cer"} <= set(report.columns)
    cer = report["char_edits"].sum() / report["chars"].sum()
    assert f"CER: {100 * cer:.2f}%" in result.output


def test_lm_adds_a_tuned_language_model_that_transcribe_and_evaluate_use(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 40, seed=2, valid_fraction=0.25, test_fraction=0.0)
    assert invoke("train", manifest, "--output", tmp_path / "m", "--epochs", 3, *TINY).exit_code == 0
    greedy_model, lm_model = tmp_path / "m" / "best.safetensors", tmp_path / "lm.safetensors"
    result = invoke(
        "lm",
        manifest,
        "--model",
        greedy_model,
        "--output",
        lm_model,
        "--order",
        3,
        "--weights",
        "0.5,1",
        "--bonuses",
        "1",
        "--word-bonuses",
        "2",
        "--threads",
        1,
    )
    assert result.exit_code == 0, result.output
    assert "lm weight 0.5, insertion bonus 1, word bonus 0: valid CER" in result.output
    assert "insertion bonus 1, word bonus 2: valid CER" in result.output
    tuned = load_model(lm_model).language_model
    assert tuned.order == 3 and tuned.settings.insertion_bonus == 1.0 and tuned.settings.lm_weight in (0.5, 1.0)
    assert tuned.settings.word_bonus in (0.0, 2.0) and tuned.lexicon.words
    training = read_model_file(greedy_model)[1]["training"]
    assert read_model_file(lm_model)[1]["training"] == training, "the training record stays with the weights"
    summary = result.output.strip().splitlines()[-1]
    greedy_cer, lm_cer = (part.split("%")[0].split()[-1] for part in summary.split("->"))
    # hwr evaluate on the validation lines reproduces both numbers.
    with_lm = invoke("evaluate", manifest, "--split", "valid", "--model", lm_model)
    without = invoke("evaluate", manifest, "--split", "valid", "--model", lm_model, "--no-lm")
    assert f"CER: {lm_cer}%" in with_lm.output and f"CER: {greedy_cer}%" in without.output
    result = invoke("transcribe", tmp_path / "d" / "images" / "000000.png", "--model", lm_model)
    assert result.exit_code == 0 and len(result.output.splitlines()) == 1

    # A plain-text corpus is counted beside the training texts and stored with them.
    one, two, three = (line.text for line in read_lines(manifest, split="train").lines[:3])
    (tmp_path / "a.txt").write_text(f"{one}  {two}\n\n  {two}\n{three} \u2603\n", encoding="utf-8")
    (tmp_path / "b.txt").write_text(f"{two}\n", encoding="utf-8")
    args = ["--model", greedy_model, "--order", 3, "--weights", "0.5", "--bonuses", "1", "--word-bonuses", "0"]
    result = invoke("lm", manifest, *args, "--text", tmp_path / "a.txt", "--text", tmp_path / "b.txt", "-o", lm_model)
    assert result.exit_code == 0, result.output
    assert "1 lines of --text have characters outside the model's alphabet ('\u2603'); not counted" in result.output
    corpus = load_model(lm_model).language_model.corpus
    assert corpus[-3:] == (f"{one} {two}", two, two)
    assert len(corpus) == 30 + 3  # the training lines' texts, then the usable lines of text

    # A run config's sources give the lines instead, each read at its own scale (as evaluate --scale reads).
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[data.sources]]\ntrain = "{manifest.as_posix()}"\nscale = 0.8\n', encoding="utf-8")
    result = invoke("lm", "--config", sources, *args, "-o", lm_model)
    assert result.exit_code == 0, result.output
    greedy_cer = result.output.strip().splitlines()[-1].split("%")[0].split()[-1]
    without = invoke("evaluate", manifest, "--split", "valid", "--model", lm_model, "--no-lm", "--scale", 0.8)
    assert f"CER: {greedy_cer}%" in without.output
    result = invoke("lm", manifest, "--config", sources, *args, "-o", lm_model)
    assert result.exit_code != 0 and "either as DATA or as --config" in result.output
    result = invoke("lm", "--config", sources, "--valid", manifest, *args, "-o", lm_model)
    assert result.exit_code == 1 and "--valid goes with DATA" in result.output
    missing = tmp_path / "missing.toml"
    missing.write_text(f'[[data.sources]]\ntrain = "{(tmp_path / "nope.tsv").as_posix()}"\n', encoding="utf-8")
    result = invoke("lm", "--config", missing, *args, "-o", lm_model)
    assert result.exit_code == 1 and result.output.strip().splitlines() == [
        f"error: {tmp_path / 'nope.tsv'}: no such file or folder"
    ]


def test_ensemble_combines_trained_models_and_lm_tunes_it(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 40, seed=2, valid_fraction=0.25, test_fraction=0.0)
    for seed in (0, 1):
        assert (
            invoke("train", manifest, "--output", tmp_path / f"m{seed}", "--epochs", 1, "--seed", seed, *TINY).exit_code
            == 0
        )
    members = [tmp_path / f"m{seed}" / "best.safetensors" for seed in (0, 1)]
    result = invoke("ensemble", *members, "--output", tmp_path / "e.safetensors")
    assert result.exit_code == 0, result.output
    header = read_model_file(tmp_path / "e.safetensors")[1]
    assert [m["sha256"] for m in header["members"]] == [read_model_file(m)[1]["sha256"] for m in members]
    assert header["members"][1]["training"]["run"]["training"]["seed"] == 1
    result = invoke(
        "lm",
        manifest,
        "--model",
        tmp_path / "e.safetensors",
        "--output",
        tmp_path / "e_lm.safetensors",
        "--order",
        3,
        "--weights",
        "0.5",
        "--bonuses",
        "1",
        "--beam-width",
        4,
    )
    assert result.exit_code == 0, result.output
    assert read_model_file(tmp_path / "e_lm.safetensors")[1]["members"] == header["members"]
    result = invoke("evaluate", manifest, "--split", "valid", "--model", tmp_path / "e_lm.safetensors")
    assert result.exit_code == 0 and "CER: " in result.output
    result = invoke("ensemble", members[0], "--output", tmp_path / "x.safetensors")
    assert result.exit_code == 1
    assert (
        result.output.strip()
        == "error: an ensemble needs at least two models, or one model read at two or more --shifts"
    )
    result = invoke("ensemble", members[0], "--shifts", "-2,0,2", "--output", tmp_path / "s.safetensors")
    assert result.exit_code == 0 and "1 networks at shifts -2, 0, 2" in result.output, result.output
    assert load_model(tmp_path / "s.safetensors").network.shifts == (-2, 0, 2)
    result = invoke("ensemble", *members, "--shifts", "0,40", "--output", tmp_path / "x.safetensors")
    assert result.exit_code == 1 and "each must move the line by less than half its height" in result.output
    result = invoke("ensemble", members[0], tmp_path / "none.safetensors", "--output", tmp_path / "x.safetensors")
    assert result.exit_code == 1 and "none.safetensors: no such file" in result.output


def test_a_network_with_1d_lstm_layers_joins_an_ensemble_as_a_rescoring_group(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 40, seed=2, valid_fraction=0.25, test_fraction=0.0)
    for name, extra in (("a", []), ("b", ["--seed", 1]), ("h", ["--sequence-lstm", 4])):
        assert invoke("train", manifest, "--output", tmp_path / name, "--epochs", 1, *extra, *TINY).exit_code == 0
    members = [tmp_path / name / "best.safetensors" for name in "ahb"]
    result = invoke("ensemble", *members, "--shifts", "-1,0", "--output", tmp_path / "e.safetensors")
    assert result.exit_code == 0, result.output
    assert "3 networks at shifts -1, 0, in 2 groups (2+1) that rescore each other's readings" in result.output
    lm_model = tmp_path / "e_lm.safetensors"
    result = invoke(
        "lm",
        manifest,
        "--model",
        tmp_path / "e.safetensors",
        "--output",
        lm_model,
        "--order",
        3,
        "--weights",
        "0.5",
        "--bonuses",
        "1",
        "--word-bonuses",
        "2",
        "--beam-width",
        4,
        "--threads",
        1,
    )
    assert result.exit_code == 0, result.output
    greedy_cer, lm_cer = (part.split("%")[0].split()[-1] for part in result.output.strip().splitlines()[-1].split("->"))
    with_lm = invoke("evaluate", manifest, "--split", "valid", "--model", lm_model)
    without = invoke("evaluate", manifest, "--split", "valid", "--model", lm_model, "--no-lm")
    assert f"CER: {lm_cer}%" in with_lm.output and f"CER: {greedy_cer}%" in without.output


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_a_device_that_is_not_there_is_one_line(tmp_path):
    generate_dataset(tmp_path / "d", 1, seed=0)
    image = tmp_path / "d" / "images" / "000000.png"
    result = invoke("transcribe", image, "--device", "cuda")
    assert result.exit_code == 1
    assert (
        result.output == "error: --device cuda: CUDA is not available here "
        f"(torch {torch.__version__}); use --device cpu\n"
    )
    result = invoke("evaluate", tmp_path / "d" / "lines.tsv", "--device", "gpu")
    assert (
        result.exit_code == 1
        and result.output == "error: --device gpu: not a device; choose cpu, cuda, cuda:N or auto\n"
    )


def test_resume_takes_no_options_that_start_a_run(tmp_path):
    for extra in (["--dump-config"], ["--overwrite"]):
        result = invoke("train", "-o", tmp_path, "--resume", *extra)
        assert result.exit_code == 1 and "--resume continues a run as it is" in result.output


def test_scale_reads_lines_at_another_resolution_than_the_model_or_at_their_own(tmp_path):
    from cli.read import load, read_at
    from hwr.data.readers import line_heights

    manifest = generate_dataset(tmp_path / "d", 10, seed=0)
    assert invoke("train", manifest, "--output", tmp_path / "m", "--epochs", 1, *TINY).exit_code == 0
    model = load(str(tmp_path / "m" / "best.safetensors"), True, "cpu", 1)
    assert model.preprocessing.scale is None
    read_at(model, "0.5", lambda: [])
    assert model.preprocessing == Preprocessing(16, 0.5)
    heights = line_heights([line.image for line in read_lines(manifest).lines])
    read_at(model, "auto", lambda: heights)
    assert model.preprocessing.scale == pytest.approx(16 / np.median(heights))
    result = invoke("evaluate", manifest, "--model", tmp_path / "m" / "best.safetensors", "--scale", "auto")
    assert result.exit_code == 0 and "CER:" in result.output
    assert f"reading at scale {16 / np.median(heights):.3f} (auto: the median line is" in result.output
    result = invoke(
        "transcribe", tmp_path / "d" / "images", "--model", tmp_path / "m" / "best.safetensors", "--scale", "9"
    )
    assert result.exit_code == 2 and "expected a factor in (0, 8] or auto" in result.output
