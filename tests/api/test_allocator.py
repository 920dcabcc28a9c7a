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


class _Payload:
    """An object whose freeing can be watched through a weak reference."""


def test_objects_are_left_to_exit_only_when_the_process_will_end_without_teardown(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import weakref

    from api import allocator

    monkeypatch.setattr(allocator, "_LEFT_TO_EXIT", [])
    monkeypatch.setattr(allocator, "_hard_exit", False)
    payload = _Payload()
    watch = weakref.ref(payload)
    allocator.leave_to_exit(payload)
    del payload
    assert watch() is None  # a normal exit: freed as usual

    allocator.expect_hard_exit()
    payload = _Payload()
    watch = weakref.ref(payload)
    allocator.leave_to_exit(payload)
    del payload
    assert watch() is not None  # kept for the OS to take back
