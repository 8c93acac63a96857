"""Training: the loss falls, checkpoints resume exactly, logs are written, bad data is reported."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from hwr.data.images import Preprocessing
from hwr.data.prepare import ctc_frames_needed
from hwr.engine.checkpoint import TrainingState, load_checkpoint
from hwr.engine.config import DataConfig, RunConfig, SourceConfig, TrainConfig
from hwr.engine.run import resume_run, start_run
from hwr.engine.trainer import make_optimizer, prefetched
from hwr.errors import ConfigError, DatasetError, TrainingError
from hwr.model_file import load_model
from hwr.synth import generate_dataset
from tests.tiny_runs import tiny_run

TINY = {"input_block": (2, 2), "hidden_sizes": (2, 8), "subsample_sizes": (8,), "subsample_blocks": ((4, 1),)}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return generate_dataset(tmp_path_factory.mktemp("synth"), 40, seed=1, valid_fraction=0.2, test_fraction=0.0)


def train(manifest, out, network=TINY, config=None, log=print):
    """A new run of ``network`` on 16-pixel lines."""
    return start_run(tiny_run(manifest, config or TrainConfig(epochs=1, augment=False), network), out, log=log)


def run(manifest, out, epochs, resume=False, **config):
    settings = {"batch_size": 4, "learning_rate": 3e-3, "seed": 7, "augment": False, **config}
    messages: list[str] = []
    if resume:
        changes = {"data": {"sources": [{"train": str(manifest)}]}, "training": {"epochs": epochs, **config}}
        return resume_run(out, changes, log=messages.append), messages
    return train(manifest, out, config=TrainConfig(epochs=epochs, **settings), log=messages.append), messages


def test_loss_falls_and_outputs_are_written(manifest, tmp_path):
    state, messages = run(manifest, tmp_path, epochs=6)
    losses = [row["train_loss"] for row in state.history]
    assert len(losses) == 6 and losses[-1] < 0.8 * losses[0]
    assert {p.name for p in tmp_path.iterdir()} == {"best.safetensors", "last.safetensors", "log.csv", "curves.png"}
    log = pd.read_csv(tmp_path / "log.csv")
    assert list(log["epoch"]) == [1, 2, 3, 4, 5, 6] and "valid_cer" in log.columns
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert any(m.startswith("epoch 6: loss") for m in messages)
    model = load_model(tmp_path / "best.safetensors")
    assert model.preprocessing == Preprocessing(height=16) and model.network.config.hidden_sizes == (2, 8)


def test_resume_continues_from_the_saved_epoch_exactly(manifest, tmp_path):
    straight, _ = run(manifest, tmp_path / "straight", epochs=3)
    run(manifest, tmp_path / "resumed", epochs=2)
    _, _, saved = load_checkpoint(tmp_path / "resumed" / "last.safetensors")
    assert saved.epoch == 2
    resumed, messages = run(manifest, tmp_path / "resumed", epochs=3, resume=True)
    assert "resuming" in messages[0] and "after epoch 2" in messages[0]
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]
    a = load_model(tmp_path / "straight" / "last.safetensors").network.state_dict()
    b = load_model(tmp_path / "resumed" / "last.safetensors").network.state_dict()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)


def test_lines_too_long_for_their_image_are_skipped_and_named(manifest, tmp_path):
    # 16 px high, widths shrunk 16x: long texts no longer fit their frames.
    network = {**TINY, "input_block": (2, 4), "subsample_blocks": ((4, 4),)}
    messages: list[str] = []
    with pytest.raises(TrainingError, match=r"use a larger --height \(--scale, if set\) or narrower blocks"):
        train(manifest, tmp_path, network=network, log=messages.append)
    assert any("too long for their image's CTC frames" in m and "chars" in m for m in messages)


def test_frames_needed_counts_repeats():
    assert ctc_frames_needed([1, 2, 3]) == 3
    assert ctc_frames_needed([1, 1, 2, 2, 2]) == 8


def test_validation_characters_outside_the_alphabet_are_counted_not_fatal(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 20, seed=5, valid_fraction=0.25, test_fraction=0.0)
    text = manifest.read_text(encoding="utf-8").splitlines()
    header, rows = text[0], text[1:]
    rows = [r.rsplit("\t", 2) for r in rows]
    patched = [f"{a}\t{t}é\t{f}" if "\tvalid\t" in a else f"{a}\t{t}\t{f}" for a, t, f in rows]
    manifest.write_text("\n".join([header, *patched]) + "\n", encoding="utf-8")
    messages: list[str] = []
    train(manifest, tmp_path / "m", log=messages.append)
    prefix = "valid: characters not in the alphabet (they count as errors): 'é' x5"
    assert any(m.startswith(prefix) for m in messages), messages


def test_non_finite_losses_skip_the_step_and_stop_the_run_when_they_persist(manifest, tmp_path, monkeypatch):
    real_ctc = torch.nn.functional.ctc_loss
    calls = {"n": 0}

    def flaky_ctc(*args, **kwargs):
        calls["n"] += 1
        loss = real_ctc(*args, **kwargs)
        return loss * float("nan") if calls["n"] <= 3 else loss

    monkeypatch.setattr(torch.nn.functional, "ctc_loss", flaky_ctc)
    state, messages = run(manifest, tmp_path / "flaky", epochs=1)
    assert state.history[0]["skipped_steps"] == 3
    assert sum("loss is nan, step skipped" in m for m in messages) == 3

    monkeypatch.setattr(torch.nn.functional, "ctc_loss", lambda *a, **k: real_ctc(*a, **k) * float("inf"))
    with pytest.raises(TrainingError, match="20 non-finite losses in a row: training diverged"):
        run(manifest, tmp_path / "diverged", epochs=1, batch_size=1)


def test_resume_refuses_other_data_and_characters_outside_the_run_alphabet(manifest, tmp_path):
    run(manifest, tmp_path / "m", epochs=1)
    data = tmp_path / "data"
    data.mkdir()
    rows = manifest.read_text(encoding="utf-8").splitlines()
    copy = data / "lines.tsv"
    copy.write_text("\n".join(rows) + "\n", encoding="utf-8")
    for image in (manifest.parent / "images").iterdir():
        (data / "images").mkdir(exist_ok=True)
        (data / "images" / image.name).write_bytes(image.read_bytes())
    with pytest.raises(
        ConfigError, match=r"these differ: data\.sources \([^ ]*synth[^ ]*lines\.tsv -> [^ ]*data/lines\.tsv\)"
    ):
        run(copy, tmp_path / "m", epochs=2, resume=True)
    # the same manifest, now with a character the run's alphabet lacks
    changed = [
        r if "\ttrain\t" not in r or k % 4 else r.rsplit("\t", 2)[0] + "\tnew ß\tfont" for k, r in enumerate(rows)
    ]
    manifest.write_text("\n".join(changed) + "\n", encoding="utf-8")
    try:
        with pytest.raises(DatasetError, match="its training lines have characters the run's alphabet lacks"):
            run(manifest, tmp_path / "m", epochs=2, resume=True)
    finally:
        manifest.write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_resume_applies_a_new_learning_rate_and_says_so_and_refuses_a_new_network(manifest, tmp_path):
    run(manifest, tmp_path, epochs=1, learning_rate=3e-3)
    state, messages = run(manifest, tmp_path, epochs=2, resume=True, learning_rate=1e-3)
    assert "resuming with training.learning_rate 0.003 -> 0.001" in messages
    assert list(pd.read_csv(tmp_path / "log.csv")["learning_rate"]) == pytest.approx([3e-3, 1e-3])
    assert state.config.learning_rate == 1e-3
    with pytest.raises(ConfigError, match=r"these differ: network\.hidden_sizes \(\(2, 8\) -> \(2, 9\)\)"):
        resume_run(tmp_path, {"network": {"hidden_sizes": [2, 9]}, "training": {"epochs": 3}}, log=lambda _: None)


def test_a_new_run_refuses_a_folder_that_holds_one_unless_told_to_overwrite(manifest, tmp_path):
    run(manifest, tmp_path, epochs=1)
    before = (tmp_path / "best.safetensors").read_bytes()
    with pytest.raises(TrainingError, match="already holds a training run .*--resume.*--overwrite"):
        run(manifest, tmp_path, epochs=1, seed=8)
    assert (tmp_path / "best.safetensors").read_bytes() == before
    config = TrainConfig(epochs=1, augment=False, seed=8)
    start_run(
        RunConfig(DataConfig((SourceConfig(str(manifest)),)), training=config),
        tmp_path,
        overwrite=True,
        log=lambda _: None,
    )
    assert (tmp_path / "best.safetensors").read_bytes() != before


def test_learning_rate_is_reduced_on_plateau_and_the_reduction_is_resumed(manifest, tmp_path):
    # patience 1: every epoch without a better CER halves the rate the next epoch uses.
    state, messages = run(manifest, tmp_path, epochs=6, lr_patience=1, lr_factor=0.5, learning_rate=1e-3)
    used, best, lr = [], float("inf"), 1e-3
    for row in state.history:
        used.append(lr)
        if row["valid_cer"] < best:
            best = row["valid_cer"]
        else:
            lr *= 0.5
    assert [row["learning_rate"] for row in state.history] == pytest.approx(used)
    assert lr < 1e-3, "the run should have had epochs without improvement"
    assert sum("learning rate now" in m for m in messages) == round(math.log2(1e-3 / lr))
    _, optimizer_state, _ = load_checkpoint(tmp_path / "last.safetensors")
    assert optimizer_state["param_groups"][0]["lr"] == pytest.approx(lr)  # resumed with the reduced rate


@pytest.mark.parametrize("optimizer", ["adam", "rmsprop"])
def test_weight_decay_shrinks_the_weights(optimizer):
    torch.manual_seed(0)
    model = SimpleNamespace(network=torch.nn.Linear(3, 2))
    before = model.network.weight.detach().clone()
    opt = make_optimizer(model, TrainConfig(optimizer=optimizer, learning_rate=0.1, weight_decay=0.5))
    for p in model.network.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    if optimizer == "adam":  # decoupled (AdamW): w -= lr * decay * w, whatever the gradient
        expected = (1 - 0.1 * 0.5) * before
    else:  # an L2 penalty: the same step as plain RMSprop on the gradient decay * w
        plain = torch.nn.Parameter(before.clone())
        plain.grad = 0.5 * before
        torch.optim.RMSprop([plain], lr=0.1).step()
        expected = plain.detach()
    torch.testing.assert_close(model.network.weight.detach(), expected)
    assert not torch.equal(expected, before)
    with pytest.raises(ValueError, match="weight_decay"):
        TrainConfig(weight_decay=-1)


def test_schedule_factor_warms_up_linearly_then_follows_a_half_cosine_to_zero():
    config = TrainConfig(epochs=10, schedule="cosine", warmup_epochs=2)
    assert config.learning_rate_factor(0.5) == pytest.approx(0.25 * 0.5 * (1 + math.cos(math.pi * 0.05)))
    assert config.learning_rate_factor(5) == pytest.approx(0.5)
    assert config.learning_rate_factor(10) == pytest.approx(0.0)
    plateau = TrainConfig(epochs=10, warmup_epochs=2)
    assert [plateau.learning_rate_factor(t) for t in (0.5, 1, 2, 7)] == pytest.approx([0.25, 0.5, 1, 1])
    with pytest.raises(ValueError, match="lr_patience"):
        TrainConfig(schedule="cosine", lr_patience=3)
    with pytest.raises(ValueError, match="warmup_epochs"):
        TrainConfig(epochs=3, warmup_epochs=3)


def test_cosine_schedule_sets_the_rate_every_batch_and_resumes_exactly(manifest, tmp_path):
    settings = {"schedule": "cosine", "warmup_epochs": 2, "learning_rate": 3e-3}
    straight, _ = run(manifest, tmp_path / "straight", epochs=4, **settings)
    # The last batch of epoch e is trained at the factor for e epochs done.
    expected = [3e-3 * TrainConfig(epochs=4, **settings).learning_rate_factor(e) for e in (1, 2, 3, 4)]
    assert [row["learning_rate"] for row in straight.history] == pytest.approx(expected)
    assert expected[0] < expected[1] and expected[-1] == pytest.approx(0.0)  # warm-up, then the fall
    stopped, _ = run(manifest, tmp_path / "resumed", epochs=4, max_minutes=1e-9, **settings)
    assert stopped.epoch == 1
    resumed, _ = run(manifest, tmp_path / "resumed", epochs=4, resume=True, max_minutes=None, **settings)
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]


def test_checkpoints_of_hwr_0_1_read_their_network_and_preprocessing_from_the_model(manifest, tmp_path):
    run(manifest, tmp_path, epochs=1)
    model, _, state = load_checkpoint(tmp_path / "last.safetensors")
    legacy = {**state.to_dict(), "config": {**state.config.to_dict(), "augmentation": None}}
    del legacy["run"], legacy["config"]["augment"]
    old = TrainingState.from_dict(legacy, model)
    assert old.run.network == state.run.network and old.run.preprocessing == Preprocessing(height=16)
    assert old.run.data.sources == () and old.config.augment is False


@pytest.mark.parametrize("beside", [True, False])
def test_prefetched_batches_come_in_order_and_a_failure_reaches_the_caller(beside):
    made = []

    def make(item: int) -> int:
        made.append(item)
        if item == 3:
            raise ValueError("line 3 is unreadable")
        return 10 * item

    assert list(prefetched([0, 1, 2], make, beside)) == [0, 10, 20]
    assert list(prefetched([], make, beside)) == []
    batches = prefetched([1, 3, 4], make, beside)
    assert next(batches) == 10
    with pytest.raises(ValueError, match="line 3"):
        next(batches)
    assert made[-1] in (3, 4)  # made one ahead at most
