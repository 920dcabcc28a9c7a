"""Allocator settings of the batch commands."""

from __future__ import annotations

import gc
import platform

import pytest

from api.allocator import keep_freed_memory, paused_garbage_collector


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc only")
def test_glibc_accepts_every_setting() -> None:
    assert keep_freed_memory() is True


def test_the_collector_is_paused_in_the_block_and_restored_after() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused_garbage_collector():
        assert not gc.isenabled()
        with paused_garbage_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()  # an inner block leaves the outer one's state
        raise RuntimeError
    assert gc.isenabled()
