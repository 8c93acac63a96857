"""Training one network in several processes (data parallel, on torch.distributed).

Every process (rank) builds the same global batches of an epoch from the run's seed, takes
its share of each batch's lines (:meth:`World.balanced_share`), and its lines' gradients are
added to the others' during the backward pass (DistributedDataParallel), so the step is the
one a single process would take on the whole batch: a run's batches, and so its results up
to float rounding, do not depend on how many processes train it. Validation is shared the
same way. Rank 0 alone writes checkpoints, logs and the progress bar.

Processes start under ``torchrun`` (which sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``)
or ``hwr train --processes N`` (:func:`launch`, torch's elastic launcher, as torchrun does);
they talk over gloo on CPUs and NCCL on GPUs.
"""

from __future__ import annotations

import gc
import os
import sys
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from hwr.errors import ConfigError, TrainingError

T = TypeVar("T")
PEER_FAILURE_SIGNS = ("gloo", "NCCL", "Connection", "connection", "ProcessGroup", "timed out")
"""Words of the errors torch.distributed raises when another rank is gone."""


@dataclass(frozen=True)
class World:
    """This process's place among the processes that train one network (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def main_only(self, log: Callable[[str], None]) -> Callable[[str], None]:
        """``log`` on rank 0; on the others a log that drops every message, so each is said once."""
        return log if self.is_main else _drop

    def share(self, items: Sequence[T]) -> Sequence[T]:
        """This rank's share of ``items``: every ``size``-th from its rank."""
        return items[self.rank :: self.size]

    def sum_(self, tensor: torch.Tensor) -> torch.Tensor:
        """``tensor`` summed over the ranks, in place."""
        if self.size > 1:
            with peers_alive():
                dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        return tensor

    def balanced_share(self, items: Sequence[T], costs: Sequence[float]) -> list[T]:
        """This rank's share of ``items`` when each rank should get about the same total cost:
        the costliest first, each to the rank with the least so far (the same on every rank)."""
        if self.size == 1:
            return list(items)
        totals, shares = [0.0] * self.size, [[] for _ in range(self.size)]
        for k in sorted(range(len(items)), key=lambda k: (-costs[k], k)):
            rank = min(range(self.size), key=lambda r: (totals[r], r))
            totals[rank] += costs[k]
            shares[rank].append(items[k])
        return shares[self.rank]

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order."""
        if self.size == 1:
            return [value]
        values: list[Any] = [None] * self.size
        with peers_alive():
            dist.all_gather_object(values, value)
        return values

    def from_main(self, value: T) -> T:
        """Rank 0's ``value``, on every rank (decisions that timing could make differently)."""
        if self.size == 1:
            return value
        box = [value]
        with peers_alive():
            dist.broadcast_object_list(box, src=0)
        return box[0]

    def unshare(self, shares: list[list[T]]) -> list[T]:
        """The items whose :meth:`share` each rank held (``shares`` in rank order), back in order."""
        items: list[T] = [None] * sum(map(len, shares))  # type: ignore[list-item]
        for rank, share in enumerate(shares):
            items[rank :: self.size] = share
        return items


@contextmanager
def peers_alive() -> Iterator[None]:
    """Work that talks to the other ranks (a collective, a backward pass that all-reduces): when a
    peer process died, one line that says so, since the cause is the peer's; other errors pass."""
    try:
        yield
    except RuntimeError as exc:  # torch.distributed.DistBackendError is one too
        if not any(sign in str(exc) for sign in PEER_FAILURE_SIGNS):
            raise
        raise TrainingError(
            "another process of this run stopped; the last completed epoch is kept: continue with --resume "
            f"({str(exc).splitlines()[0][:200]})"
        ) from None


def join_world(device: torch.device) -> World:
    """This process's :class:`World`: from torchrun's variables where they are set (joining the
    process group: NCCL on CUDA, gloo on the CPU), else a world of one."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo", rank=rank, world_size=size)
    return World(rank, size, local_rank)


def leave_world() -> None:
    """Leave the process group, all ranks together, and free it now: a rank that tore down its
    connections while another still used them aborted it ("terminate called without an active
    exception"), and so did one whose group outlived the interpreter, held by the training's
    DistributedDataParallel until the collection at exit."""
    if not dist.is_initialized():
        return
    try:
        dist.barrier()
    except RuntimeError:  # a peer is gone: nothing to wait for
        pass
    dist.destroy_process_group()
    gc.collect()


def launch(processes: int, arguments: Sequence[str]) -> None:
    """Run ``python -m hwr ARGUMENTS`` in ``processes`` processes on this machine, as
    ``torchrun --standalone --nproc-per-node PROCESSES`` would; raises TrainingError if one fails."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    if processes < 1:
        raise ConfigError(f"--processes must be at least 1, got {processes}")
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=processes,
        run_id=str(uuid.uuid4()),
        rdzv_backend="c10d",
        rdzv_endpoint="localhost:0",
        max_restarts=0,
        monitor_interval=0.5,
    )
    try:
        elastic_launch(config, sys.executable)("-m", "hwr", *arguments)
    except ChildFailedError as exc:
        failures = ", ".join(f"rank {rank} (exit {failure.exitcode})" for rank, failure in exc.failures.items())
        raise TrainingError(f"training in {processes} processes failed: {failures}; see the messages above") from None


def _drop(message: str) -> None:
    """What ranks other than 0 do with a log message."""
