"""Training in several processes: every rank holds the same weights after every step, the same as
one process on the same global batches; a run whose rank is killed resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from hwr.engine import trainer as trainer_module
from hwr.engine.checkpoint import load_checkpoint
from hwr.engine.config import TrainConfig
from hwr.engine.distributed import World, join_world, leave_world
from hwr.engine.run import start_run
from hwr.synth import generate_dataset
from tests.tiny_runs import tiny_run

EPOCHS = 2
ROOT = Path(__file__).resolve().parents[2]


def train_recording_weights(manifest: Path, out: Path, world: World) -> list[torch.Tensor]:
    """Train a tiny run (batches of 5 lines: shares of 3 and 2) and return the weights after every step;
    with several ranks, check after every step that all ranks hold the same weights."""
    steps: list[torch.Tensor] = []
    make_optimizer = trainer_module.make_optimizer

    def recording_optimizer(model, config):
        optimizer = make_optimizer(model, config)
        step = optimizer.step

        def recorded_step(*args, **kwargs):
            result = step(*args, **kwargs)
            weights = torch.cat([p.detach().reshape(-1) for p in model.network.parameters()])
            for other in world.gather(weights):
                assert torch.equal(other, weights), "ranks hold different weights after a step"
            steps.append(weights.clone())
            return result

        optimizer.step = recorded_step
        return optimizer

    trainer_module.make_optimizer = recording_optimizer
    try:
        config = TrainConfig(epochs=EPOCHS, batch_size=5, learning_rate=3e-3, seed=4, augment=True)
        start_run(tiny_run(manifest, config), out, log=lambda _: None, world=world)
    finally:
        trainer_module.make_optimizer = make_optimizer
    return steps


def rank_main(manifest: str, out: str) -> None:
    """One rank of the two-rank run (torchrun starts it: see the end of this file)."""
    manifest, out = Path(manifest), Path(out)
    torch.set_num_threads(1)
    world = join_world(torch.device("cpu"))
    try:
        steps = train_recording_weights(manifest, out, world)
        if world.is_main:
            torch.save(torch.stack(steps), out.parent / "ranked_steps.pt")
    finally:
        leave_world()


def test_two_ranks_hold_equal_weights_after_every_step_and_match_one_process(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 34, seed=6, valid_fraction=0.2, test_fraction=0.0)
    # As torchrun runs them: its agent, not rank 0, holds the rendezvous, so ranks may leave in any order.
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    command = [*torchrun, "-m", "tests.engine.test_distributed", str(manifest), str(tmp_path / "two")]
    ranks = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    assert ranks.returncode == 0, ranks.stderr
    ranked = torch.load(tmp_path / "ranked_steps.pt")
    alone = torch.stack(train_recording_weights(manifest, tmp_path / "one", World()))
    assert ranked.shape == alone.shape and len(alone) == EPOCHS * 6  # 27 lines in batches of 5
    torch.testing.assert_close(ranked, alone, rtol=1e-4, atol=1e-5)
    assert not torch.equal(alone[0], alone[-1])
    two, one = pd.read_csv(tmp_path / "two" / "log.csv"), pd.read_csv(tmp_path / "one" / "log.csv")
    assert list(two["processes"]) == [2] * EPOCHS and list(one["processes"]) == [1] * EPOCHS
    assert list(two["train_loss"]) == pytest.approx(list(one["train_loss"]), rel=1e-4)


def child_pids(pid: int) -> list[int]:
    children = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children += [int(c) for c in (task / "children").read_text().split()]
    return children


def completed_epochs(out: Path) -> int:
    try:
        return len(pd.read_csv(out / "log.csv"))
    except (FileNotFoundError, pd.errors.EmptyDataError):
        return 0


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="finds the ranks through Linux's /proc")
def test_a_run_whose_rank_is_killed_leaves_its_checkpoint_and_resumes(tmp_path):
    manifest = generate_dataset(tmp_path / "d", 80, seed=3, valid_fraction=0.2, test_fraction=0.0)
    args = ["--height", "16", "--hidden", "2,6", "--subsample", "6", "--input-block", "2x2", "--subsample-blocks",
            "4x1", "--epochs", "6", "--seed", "3", "--processes", "2"]  # fmt: skip
    command = [sys.executable, "-m", "hwr", "train", str(manifest), "-o", str(tmp_path / "m"), *args]
    env = {**os.environ, "HWR_THREADS": "1"}
    launcher = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while completed_epochs(tmp_path / "m") < 2:
        assert launcher.poll() is None, launcher.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    ranks = [pid for agent in child_pids(launcher.pid) for pid in [agent, *child_pids(agent)]]
    ranks = [pid for pid in ranks if b"hwr" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(ranks) == 2, ranks
    os.kill(ranks[-1], signal.SIGKILL)
    _, stderr = launcher.communicate(timeout=120)
    assert launcher.returncode == 1
    assert "error: training in 2 processes failed" in stderr and "Traceback" not in stderr, stderr
    _, _, state = load_checkpoint(tmp_path / "m" / "last.safetensors")
    assert 2 <= state.epoch < 6
    resumed = subprocess.run([*command, "--resume"], env=env, capture_output=True, text=True, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert f"after epoch {state.epoch}" in resumed.stdout + resumed.stderr
    assert completed_epochs(tmp_path / "m") == 6


def test_balanced_shares_cover_the_batch_once_with_near_equal_costs():
    items, costs = list(range(7)), [10.0, 30.0, 20.0, 25.0, 5.0, 40.0, 15.0]
    shares = [World(rank, 3).balanced_share(items, costs) for rank in range(3)]
    assert sorted(i for share in shares for i in share) == items
    totals = [sum(costs[i] for i in share) for share in shares]
    assert max(totals) - min(totals) <= 10
    assert World().balanced_share(items, costs) == items


if __name__ == "__main__":  # one rank of the two-rank test, under torchrun
    rank_main(*sys.argv[1:])
