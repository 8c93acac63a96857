"""A training process killed with SIGKILL mid-epoch resumes from its last checkpoint and ends as if never killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pandas as pd

from hwr.engine.checkpoint import load_checkpoint
from hwr.model_file import load_model
from hwr.synth import generate_dataset

EPOCHS = 5
ARGS = f"--height 16 --hidden 2,6 --subsample 6 --input-block 2x2 --subsample-blocks 4x1 --epochs {EPOCHS} --threads 1 --seed 3".split()


def command(manifest, out, *extra):
    return [
        sys.executable,
        "-c",
        "from cli.main import app; app()",
        "train",
        str(manifest),
        "-o",
        str(out),
        *ARGS,
        *extra,
    ]


def completed_epochs(out) -> int:
    try:
        return len(pd.read_csv(out / "log.csv"))
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return 0


def test_sigkill_mid_epoch_then_resume_matches_an_uninterrupted_run(tmp_path):
    manifest = generate_dataset(tmp_path / "data", 80, seed=3, valid_fraction=0.2, test_fraction=0.0)
    env = {**os.environ, "HWR_THREADS": "1"}
    killed = tmp_path / "killed"
    process = subprocess.Popen(command(manifest, killed), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while completed_epochs(killed) < 2:
        assert process.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    seconds = pd.read_csv(killed / "log.csv")["seconds"]
    time.sleep(0.4 * (seconds[1] - seconds[0]))  # part way into epoch 3
    process.send_signal(signal.SIGKILL)
    process.wait()
    _, _, state = load_checkpoint(killed / "last.safetensors")  # the last good checkpoint loads
    assert 2 <= state.epoch < EPOCHS
    load_model(killed / "best.safetensors")

    (killed / ".last.safetensors.x1y2.tmp").write_bytes(b"half a checkpoint")  # as if killed mid-write
    resumed = subprocess.run(
        command(manifest, killed, "--resume"), env=env, capture_output=True, text=True, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    assert f"after epoch {state.epoch}" in resumed.stdout + resumed.stderr
    straight = subprocess.run(
        command(manifest, tmp_path / "straight"), env=env, capture_output=True, text=True, check=False
    )
    assert straight.returncode == 0, straight.stderr

    metrics = ["epoch", "train_loss", "valid_cer", "valid_wer", "skipped_steps"]
    a = pd.read_csv(killed / "log.csv")[metrics]
    b = pd.read_csv(tmp_path / "straight" / "log.csv")[metrics]
    assert len(a) == EPOCHS
    assert not list(killed.glob(".*.tmp")), "half-written files of the killed run are cleaned up"
    pd.testing.assert_frame_equal(a, b, rtol=1e-6)
    assert (
        load_model(killed / "best.safetensors").alphabet
        == load_model(tmp_path / "straight" / "best.safetensors").alphabet
    )
