"""Named, seed-derived random streams, so each stage draws independently of the others."""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """A generator determined by (seed, name) alone; adding a stage never shifts another."""
    return np.random.default_rng([seed, zlib.crc32(name.encode("utf-8"))])
