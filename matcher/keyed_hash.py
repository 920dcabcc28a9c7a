"""Keyed hashes of Arrow strings, vectorised: the same 64-bit values ``pd.util.hash_array``
gives for the same strings as Python objects (``categorize=False``), without making them.

pandas hashes each string's UTF-8 bytes with SipHash-2-4 under a 16-byte key, then mixes the
result (a splitmix64 finaliser). Here the strings of each byte length are hashed together,
eight bytes a step across all of them.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt

from matcher.dictionary import ascii_matrix

__all__ = [
    "pandas_hash",
]

U64 = npt.NDArray[np.uint64]

_INIT: Final = (0x736F6D6570736575, 0x646F72616E646F6D, 0x6C7967656E657261, 0x7465646279746573)


def pandas_hash(text: Any, key: str) -> U64:
    """``pd.util.hash_array(strings, hash_key=key, categorize=False)`` of Arrow strings.

    Raises:
        ValueError: ``text`` holds nulls, or ``key`` is not 16 bytes of UTF-8 (as pandas).
    """
    if text.null_count:
        raise ValueError("cannot hash missing strings")
    raw = key.encode("utf-8")
    if len(raw) != 16:
        raise ValueError(f"key should be a 16-byte string encoded, got {len(raw)} bytes")
    k0, k1 = (int.from_bytes(raw[i : i + 8], "little") for i in (0, 8))
    hashed = np.zeros(len(text), dtype=np.uint64)
    lengths = np.asarray(_byte_lengths(text))
    with np.errstate(over="ignore"):
        for length in np.unique(lengths).tolist():
            rows = np.flatnonzero(lengths == length)
            matrix = _bytes_of(text, rows, length)
            for start in range(0, len(rows), _BLOCK):  # blocks that stay in the CPU cache
                block = rows[start : start + _BLOCK]
                hashed[block] = _siphash24(matrix[start : start + _BLOCK], k0, k1)
        return _mix(hashed)


_BLOCK = 1 << 16  # strings per block (per step, 512 KiB a state word)


def _byte_lengths(text: Any) -> Any:
    import pyarrow.compute as pc

    return pc.binary_length(text).to_numpy(zero_copy_only=False)


def _bytes_of(text: Any, rows: npt.NDArray[np.intp], length: int) -> npt.NDArray[np.uint8]:
    """(n, length) bytes of the given strings, all ``length`` bytes long."""
    if length == 0:
        return np.zeros((len(rows), 0), dtype=np.uint8)
    return ascii_matrix(text.take(rows).cast("string"), length)


_SHIFTS: Final = {bits: (np.uint64(bits), np.uint64(64 - bits)) for bits in (13, 16, 17, 21, 32)}


def _rotl(x: U64, bits: int, scratch: U64) -> None:
    """``x`` rotated left by ``bits``, in place."""
    left, right = _SHIFTS[bits]
    np.right_shift(x, right, out=scratch)
    np.left_shift(x, left, out=x)
    x |= scratch


def _rounds(v: list[U64], count: int, scratch: U64) -> None:
    v0, v1, v2, v3 = v
    for _ in range(count):
        v0 += v1
        _rotl(v1, 13, scratch)
        v1 ^= v0
        _rotl(v0, 32, scratch)
        v2 += v3
        _rotl(v3, 16, scratch)
        v3 ^= v2
        v0 += v3
        _rotl(v3, 21, scratch)
        v3 ^= v0
        v2 += v1
        _rotl(v1, 17, scratch)
        v1 ^= v2
        _rotl(v2, 32, scratch)


def _siphash24(matrix: npt.NDArray[np.uint8], k0: int, k1: int) -> U64:
    """SipHash-2-4 of each row of bytes (all rows the same length)."""
    n, length = matrix.shape
    keys = (k0, k1, k0, k1)
    v = [
        np.full(n, np.uint64(init ^ k), dtype=np.uint64)
        for init, k in zip(_INIT, keys, strict=True)
    ]
    scratch = np.empty(n, dtype=np.uint64)
    whole = length // 8
    words = np.ascontiguousarray(matrix[:, : 8 * whole]).view("<u8").astype(np.uint64, copy=False)
    for i in range(whole):
        word = words[:, i]
        v[3] ^= word
        _rounds(v, 2, scratch)
        v[0] ^= word
    last = np.full(n, np.uint64((length & 0xFF) << 56), dtype=np.uint64)
    for j in range(length - 8 * whole):
        last |= matrix[:, 8 * whole + j].astype(np.uint64) << np.uint64(8 * j)
    v[3] ^= last
    _rounds(v, 2, scratch)
    v[0] ^= last
    v[2] ^= np.uint64(0xFF)
    _rounds(v, 4, scratch)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def _mix(values: U64) -> U64:
    """pandas' redistribution of the 64-bit hashes (in place)."""
    values ^= values >> np.uint64(30)
    values *= np.uint64(0xBF58476D1CE4E5B9)
    values ^= values >> np.uint64(27)
    values *= np.uint64(0x94D049BB133111EB)
    values ^= values >> np.uint64(31)
    return values
