"""Starting from a trained model: its weights exactly, alphabets changed row by row, clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from cli.main import app
from hwr.data.alphabet import Alphabet
from hwr.data.images import Preprocessing
from hwr.data.readers import read_lines
from hwr.engine.config import InitConfig, RunConfig, TrainConfig, network_fields
from hwr.engine.run import resume_run, start_run
from hwr.engine.transfer import fitted_alphabet, init_model, with_alphabet
from hwr.errors import ConfigError
from hwr.model_file import Model, load_model
from hwr.recognizer import line_log_probs
from hwr.synth import generate_dataset
from tests.tiny_runs import tiny_run


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A trained one-network model file and its training manifest."""
    folder = tmp_path_factory.mktemp("base")
    manifest = generate_dataset(folder / "d", 30, seed=1, valid_fraction=0.2, test_fraction=0.0)
    start_run(
        tiny_run(manifest, TrainConfig(epochs=1, augment=False, learning_rate=3e-3)), folder / "m", log=lambda _: None
    )
    return folder / "m" / "best.safetensors", manifest


def outputs(model: Model, images) -> list[np.ndarray]:
    return [lp for _, lp in sorted(line_log_probs(model, images))]


def test_a_model_fitted_to_its_own_alphabet_reads_exactly_as_before(base):
    path, manifest = base
    model = init_model(str(path))
    same = with_alphabet(model, fitted_alphabet(model.alphabet, ["abc"], None))
    images = [np.full((16, 40 + 9 * k), 30 * k, np.uint8) for k in range(5)]
    for want, got in zip(outputs(model, images), outputs(same, images)):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("mode", ["keep", "union", "new"])
def test_each_alphabet_mode_keeps_the_rows_of_shared_characters_exactly(base, mode):
    model = init_model(str(base[0]))
    known = model.alphabet.characters
    texts = [known[0] + known[3] + "ßþ"]  # two known characters, two new ones
    alphabet = fitted_alphabet(model.alphabet, texts, mode)
    expected = {"keep": known, "union": (*known, "ß", "þ"), "new": tuple(sorted({known[0], known[3], "ß", "þ"}))}
    assert alphabet.characters == expected[mode]
    fitted = with_alphabet(model, alphabet)
    old, new = model.network.output, fitted.network.output
    assert new.weight.shape[0] == len(alphabet) + 1
    for k, c in enumerate(alphabet.characters, start=1):
        if c in known:
            assert (
                torch.equal(new.weight[k], old.weight[known.index(c) + 1])
                and new.bias[k] == old.bias[known.index(c) + 1]
            )
        else:
            assert new.weight[k].abs().max() <= 1e-3
    assert torch.equal(new.weight[0], old.weight[0])  # the blank
    for name, value in model.network.state_dict().items():
        if not name.startswith("output."):
            assert torch.equal(fitted.network.state_dict()[name], value)


def test_a_mismatch_without_a_mode_names_the_characters_and_the_choices(base):
    model = init_model(str(base[0]))
    with pytest.raises(ConfigError, match=r"2 characters the model lacks \('ßþ'\); --alphabet union .* --alphabet new"):
        fitted_alphabet(model.alphabet, ["ßþ"], None)
    assert fitted_alphabet(model.alphabet, [model.alphabet.characters[0]], None) == model.alphabet


def test_a_resumed_fine_tuning_run_continues_exactly(base, tmp_path):
    path, manifest = base
    other = generate_dataset(tmp_path / "d", 24, seed=7, valid_fraction=0.25, test_fraction=0.0)

    def run(out, **training):
        config = TrainConfig(**{"epochs": 2, "augment": True, "learning_rate": 1e-3, **training})
        network = network_fields(load_model(path).network.config)  # the network comes from the model
        return start_run(tiny_run(other, config, network, InitConfig(str(path), "union")), out, log=lambda _: None)

    straight = run(tmp_path / "straight")
    assert run(tmp_path / "resumed", max_minutes=1e-9).epoch == 1
    resumed = resume_run(tmp_path / "resumed", {"training": {"max_minutes": None}}, log=lambda _: None)
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]
    model = load_model(tmp_path / "resumed" / "best.safetensors")
    assert set(Alphabet.from_texts(line.text for line in read_lines(other, "train").lines).characters) <= set(
        model.alphabet.characters
    )


def test_the_command_line_starts_from_a_model_and_refuses_what_it_cannot(base, tmp_path):
    path, manifest = base
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(app, [str(a) for a in args])
        assert "Traceback" not in result.output
        return result

    other = generate_dataset(tmp_path / "d", 24, seed=7, valid_fraction=0.25, test_fraction=0.0)
    common = ["train", other, "--threads", 1, "--epochs", 1]
    result = invoke(*common, "-o", tmp_path / "a", "--init", path)
    assert result.exit_code == 1 and "characters the model lacks" in result.output, result.output
    result = invoke(
        *common, "-o", tmp_path / "a", "--init", path, "--alphabet", "union", "--dropout", "0,0.2", "--scale", 0.5
    )
    assert result.exit_code == 0, result.output
    assert "starting from" in result.output and "new; a fresh optimizer and schedule" in result.output
    tuned = load_model(tmp_path / "a" / "best.safetensors")
    assert tuned.network.config.dropout == (0.0, 0.2) and tuned.preprocessing == Preprocessing(16, 0.5)
    result = invoke(
        *common, "-o", tmp_path / "b", "--init", path, "--alphabet", "new", "--hidden", "2,9", "--height", 24
    )
    assert result.exit_code == 1 and "network.hidden_sizes ((2, 6) -> (2, 9))" in result.output
    assert "preprocessing.height (16 -> 24)" in result.output
    result = invoke(*common, "-o", tmp_path / "a", "--resume", "--init", path)
    assert result.exit_code == 1 and "--resume continues a run as it is" in result.output
    (tmp_path / "notes.txt").write_text("not a model")
    result = invoke(*common, "-o", tmp_path / "c", "--init", tmp_path / "notes.txt")
    assert result.exit_code == 1 and "notes.txt: not a valid hwr model file" in result.output
    (tmp_path / "evil.pt").write_bytes(b"\x80\x04K\x01.")
    result = invoke(*common, "-o", tmp_path / "c", "--init", tmp_path / "evil.pt")
    assert result.exit_code == 1 and "evil.pt: is a pickle" in result.output
    result = invoke(*common, "-o", tmp_path / "c", "--alphabet", "new")
    assert result.exit_code == 1 and "it needs --init MODEL" in result.output
    ensemble = invoke("ensemble", path, "--shifts", "-1,0", "-o", tmp_path / "e.safetensors")
    assert ensemble.exit_code == 0
    result = invoke(*common, "-o", tmp_path / "c", "--init", tmp_path / "e.safetensors", "--alphabet", "union")
    assert result.exit_code == 1 and "an ensemble; --init takes a model of one network" in result.output


def test_frozen_parts_stay_exactly_as_they_were_for_their_epochs_then_learn(base, tmp_path):
    path, _ = base
    other = generate_dataset(tmp_path / "d", 24, seed=7, valid_fraction=0.25, test_fraction=0.0)
    network = network_fields(load_model(path).network.config)
    config = TrainConfig(
        epochs=2, augment=False, learning_rate=3e-3, weight_decay=0.1, freeze=("mdlstm1",), freeze_epochs=1,
        max_minutes=1e-9,  # stop after epoch 1, to look at it
    )  # fmt: skip
    run = tiny_run(other, config, network, InitConfig(str(path), "union"))
    start_run(run, tmp_path / "m", log=lambda _: None)
    before = load_model(path).network.state_dict()
    after_one = load_model(tmp_path / "m" / "last.safetensors").network.state_dict()
    resume_run(tmp_path / "m", {"training": {"max_minutes": None}}, log=lambda _: None)
    after_two = load_model(tmp_path / "m" / "last.safetensors").network.state_dict()
    for name in ("mdlstm.0.weight_ih", "mdlstm.0.weight_hh", "subsample.0.weight"):
        assert torch.equal(after_one[name], before[name]), name  # weight decay did not touch them either
        assert not torch.equal(after_two[name], before[name]), name  # learning from epoch 2
    assert not torch.equal(after_one["mdlstm.1.weight_ih"], before["mdlstm.1.weight_ih"])
    with pytest.raises(ConfigError, match="freeze: mdlstm3, but the network has 2 MDLSTM levels"):
        start_run(RunConfig.from_dict({**run.to_dict(), "training": {"freeze": ["mdlstm3"]}}), tmp_path / "x")
    with pytest.raises(ConfigError, match="freeze: unknown part 'top'"):
        TrainConfig(freeze=("top",))
