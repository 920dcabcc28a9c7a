"""Small vectorised sampling helpers shared by the population and dose stages."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Ints = npt.NDArray[np.int64]


def pick_within_group(target_keys: Ints, pool_keys: Ints, rng: np.random.Generator) -> Ints:
    """For each target, a random pool index with the same key (-1 where the key is absent)."""
    order = np.argsort(pool_keys, kind="stable")
    sorted_keys = pool_keys[order]
    left = np.searchsorted(sorted_keys, target_keys, side="left")
    right = np.searchsorted(sorted_keys, target_keys, side="right")
    count = right - left
    pick = left + np.floor(rng.random(len(target_keys)) * np.maximum(count, 1)).astype(np.int64)
    pick = np.minimum(pick, len(order) - 1)
    return np.where(count > 0, order[pick], -1)


def random_dates(
    start: str, end: str, n: int, rng: np.random.Generator
) -> npt.NDArray[np.datetime64]:
    """Uniform dates in [start, end]."""
    lo = np.datetime64(start, "D")
    span = (np.datetime64(end, "D") - lo).astype(np.int64) + 1
    return lo + rng.integers(0, span, size=n).astype("timedelta64[D]")


def ymd_int(dates: npt.NDArray[np.datetime64]) -> Ints:
    """YYYYMMDD integers from datetime64 values (any unit)."""
    dates = dates.astype("datetime64[D]")
    y = dates.astype("datetime64[Y]").astype(np.int64) + 1970
    m = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
    return y * 10000 + m * 100 + d


def mobile_phones(n: int, rng: np.random.Generator) -> npt.NDArray[np.object_]:
    """11-digit mainland mobile numbers with real operator prefixes."""
    prefixes = np.array(
        [
            130,
            131,
            132,
            133,
            134,
            135,
            136,
            137,
            138,
            139,
            150,
            151,
            152,
            153,
            155,
            156,
            157,
            158,
            159,
            166,
            173,
            175,
            176,
            177,
            178,
            180,
            181,
            182,
            183,
            185,
            186,
            187,
            188,
            189,
            191,
            198,
            199,
            147,
            145,
        ],
        dtype=np.int64,
    )
    number = rng.choice(prefixes, size=n) * 10**8 + rng.integers(0, 10**8, size=n)
    return number.astype(str).astype(object)
