"""Editor: apply at most one corruption per field group to a frame and tag every change."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pandas as pd

Mask = npt.NDArray[np.bool_]


class Editor:
    """Applies at most one corruption per field group, tags it, and honours forced choices."""

    def __init__(
        self, frame: pd.DataFrame, rng: np.random.Generator, force: dict[str, Mask]
    ) -> None:
        self.f = frame
        self.rng = rng
        self.force = force
        self.n = len(frame)
        self.done: dict[str, Mask] = {}

    def mark(self, group: str, tag: str, hit: Mask) -> None:
        """Record that `hit` rows got corruption `tag` (one per field group)."""
        done = self.done.setdefault(group, np.zeros(self.n, dtype=bool))
        done |= hit
        col = "tag_" + tag
        self.f[col] = (
            self.f[col].to_numpy() if col in self.f else np.zeros(self.n, dtype=bool)
        ) | hit

    def unmark(self, tag: str, rows: npt.NDArray[np.int64]) -> None:
        """Withdraw a tag from rows where the corruption turned out impossible."""
        col = self.f["tag_" + tag].to_numpy().copy()
        col[rows] = False
        self.f["tag_" + tag] = col

    def pick(self, group: str, tag: str, rate: float, eligible: Mask) -> npt.NDArray[np.int64]:
        """Rows (eligible, not yet corrupted in `group`) drawn at `rate` or forced; tagged."""
        done = self.done.setdefault(group, np.zeros(self.n, dtype=bool))
        hit = eligible & ~done & ((self.rng.random(self.n) < rate) | self.force.get(tag, False))
        self.mark(group, tag, hit)
        return np.flatnonzero(hit)

    def edit(self, col: str, rows: npt.NDArray[np.int64], fn: Callable[[str], str]) -> None:
        """Replace `col` in `rows` by fn(value)."""
        values = self.f[col].to_numpy().copy()
        values[rows] = [fn(v) for v in values[rows]]
        self.f[col] = values
