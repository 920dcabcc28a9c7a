"""Allocator settings of the batch commands."""

from __future__ import annotations

import platform

import pytest

from api.allocator import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc only")
def test_glibc_accepts_every_setting_and_arrow_uses_the_heap() -> None:
    import pyarrow as pa

    before = pa.default_memory_pool()
    try:
        assert keep_freed_memory() is True
        assert pa.default_memory_pool().backend_name == "system"
    finally:
        pa.set_memory_pool(before)
