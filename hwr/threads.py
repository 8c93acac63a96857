"""CPU thread counts, chosen deliberately.

On a small machine, torch's default (one thread per core) is a trap: two torch
threads sharing two cores with any other busy process (a data loader, a second
job) run 30-60x slower than one thread, because the threads spin-wait on each
other. hwr therefore uses **one** thread per process unless told otherwise, by
the ``--threads`` option of the command line or the ``HWR_THREADS`` variable.
Use more only on an otherwise idle machine with that many free cores.
"""

from __future__ import annotations

import os

import torch

from hwr.errors import ConfigError

ENV_VAR = "HWR_THREADS"


def configure_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads (and one inter-op thread); returns the count used."""
    if threads is None:
        threads = int(os.environ.get(ENV_VAR, "1"))
    if threads < 1:
        raise ConfigError(f"thread count must be at least 1, got {threads}")
    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set, or parallel work has started: keep it
        pass
    return threads
