"""Keeping freed memory in the process, so that large batches do not spend their time in the kernel.

Every batch allocates and frees the same large activation tensors. glibc's malloc
serves blocks above its mmap threshold (128 KiB, adapting up to 32 MiB) with fresh
``mmap`` calls and unmaps them when freed, so each batch maps, page-faults and zeroes
hundreds of megabytes again. On a virtual machine, where page faults are costly, this
was half the time of a forward and backward pass over 16 long lines, and two thirds of a
forward pass, nearly all of it system time (see docs/benchmarks.md; training on
batches of 4 lines gained only 4%). Raising the thresholds makes malloc reuse the memory it already has, as
jemalloc or tcmalloc would. The price: the process keeps its peak memory until it exits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -2, -3, -8
"""``mallopt`` parameters (glibc's malloc.h)."""
KEEP = 2**31 - 1
"""The largest threshold ``mallopt`` takes (an ``int``): blocks below 2 GiB are never mapped
separately, and freed memory is not given back."""
TOP_PAD = 1 << 30
"""Grow the heap in steps of this (address space only; pages are touched when used)."""


def retain_freed_memory() -> bool:
    """Tune glibc's malloc (Linux) to keep and reuse freed memory; False where not applicable.

    One arena: torch's worker threads would otherwise each allocate from their own
    arena, where large blocks are still mapped and unmapped one by one.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    settings = ((M_ARENA_MAX, 1), (M_MMAP_THRESHOLD, KEEP), (M_TRIM_THRESHOLD, KEEP), (M_TOP_PAD, TOP_PAD))
    return all(mallopt(option, value) == 1 for option, value in settings)
