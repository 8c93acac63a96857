"""CPU settings of a process: the thread count, chosen deliberately, and no denormal numbers.

On a small machine, torch's default (one thread per core) is a trap: two torch
threads sharing two cores with any other busy process (a data loader, a second
job) run 30-60x slower than one thread, because the threads spin-wait on each
other. hwr therefore uses **one** thread per process unless told otherwise, by
the ``--threads`` option of the command line or the ``HWR_THREADS`` variable.
Use more only on an otherwise idle machine with that many free cores.

Denormal floats (below ~1e-38) are flushed to zero: a network in training makes more and
more of them (tiny gradients, saturated gates), and each costs the CPU a slow microcode
path; on the Hooker recipe's network an epoch ran 15-35% slower from the second epoch on,
and 1.3-1.5x faster with them flushed (datasets/joseph_hooker/RESULTS.md, Session 24).
Numbers that small make no difference to what a network learns or reads.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from hwr.errors import ConfigError

ENV_VAR = "HWR_THREADS"


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (and one inter-op thread) and flush denormals; returns the thread count."""
    if threads is None:
        threads = int(os.environ.get(ENV_VAR, "1"))
    if threads < 1:
        raise ConfigError(f"thread count must be at least 1, got {threads}")
    torch.set_flush_denormal(True)  # before the threads start, which then inherit it
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work has started: keep it
        pass
    return threads


def usable_cores() -> int:
    """The cores this process may run on (its affinity, where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@contextmanager
def thread_lent() -> Iterator[None]:
    """Torch runs on one thread fewer (at least one) for the duration: the one lent to other work
    of the process, such as decoding beside the network (see :mod:`hwr.recognizer`)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, threads - 1))
    try:
        yield
    finally:
        torch.set_num_threads(threads)
