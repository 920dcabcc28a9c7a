"""Allocator and collector settings for the batch commands.

``keep_freed_memory``: keep freed memory for reuse (glibc only).

A link job allocates and frees arrays of tens of MB by the hundred. By default glibc serves
each from a fresh ``mmap`` and hands it back on ``free``, so every new array faults its pages in
again (and on a VM whose host reclaims freed guest memory, each first touch costs far more).
Keeping freed memory in the heap for reuse, measured on the 1M-person link (5 paired runs on the
2-core reference machine): kernel time ~2.2 s → ~1.5 s, wall time 0.5-0.9 s shorter in the four
runs after the first (the first pair, after a pause, was even), peak memory +0.1 GB.
"""

from __future__ import annotations

import ctypes
import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# mallopt parameters (glibc malloc.h).
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

BATCH_SETTINGS: tuple[tuple[int, int], ...] = (
    (_M_ARENA_MAX, 2),  # one per core: threads share heaps instead of each growing its own
    (_M_MMAP_THRESHOLD, 32 << 20),  # arrays up to 32 MB come from the heap (glibc's maximum)
    (_M_TRIM_THRESHOLD, (1 << 31) - 1),  # never shrink the heap on free
    (_M_TOP_PAD, 512 << 20),  # grow it in large steps
)


def keep_freed_memory() -> bool:
    """Apply ``BATCH_SETTINGS`` to this process's glibc malloc; False where there is none."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # another C library (musl): nothing to tune
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return all(mallopt(parameter, value) == 1 for parameter, value in BATCH_SETTINGS)


@contextmanager
def paused_garbage_collector() -> Iterator[None]:
    """Python's cycle collector off for the block, then back as it was.

    A link job makes millions of objects (category text, small lists) and no reference
    cycles worth collecting: each collection re-scans everything alive for nothing (~500
    collections, ~0.15-0.25 s at 1M persons). Memory the block leaves in cycles is collected
    once it ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# Objects left for the OS to take back when the process ends (see ``leave_to_exit``).
_LEFT_TO_EXIT: list[object] = []
_hard_exit = False


def expect_hard_exit() -> None:
    """Declare that this process will end with ``os._exit`` (no interpreter teardown)."""
    global _hard_exit
    _hard_exit = True


def leave_to_exit(*objects: object) -> None:
    """Keep ``objects`` alive until a hard exit (``expect_hard_exit``): their memory then goes
    back to the OS at once, where freeing them would release millions of Python objects one
    by one (~0.1 s at 1M persons). Nothing when the process will exit normally."""
    if _hard_exit:
        _LEFT_TO_EXIT.extend(objects)
