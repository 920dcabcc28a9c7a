"""Allocator settings of the batch commands."""

from __future__ import annotations

import platform

import pytest

from api.allocator import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc malloc only")
def test_glibc_accepts_every_setting() -> None:
    assert keep_freed_memory() is True
