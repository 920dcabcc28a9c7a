"""Row positions in a global order, without collecting the rows or one-partition windows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "number_rows",
]

_PARTITION_SHIFT = 1 << 33  # monotonically_increasing_id: partition index × 2**33 + row


def number_rows(spark: Any, frame: Any, order: list[str], column: str) -> tuple[Any, int]:
    """``frame`` with ``column``: each row's position (0, 1, …) in ``order``, and the row count.

    A range-partitioned sort, ``monotonically_increasing_id`` (increasing within and across
    the sorted partitions), and per partition the offset that closes the gaps. The sorted
    rows are checkpointed first: every later read sees the same ids.
    """
    from pyspark.sql import functions as F

    ordered = frame.orderBy(*order).withColumn("_mono", F.monotonically_increasing_id())
    ordered = ordered.checkpoint()
    part = (F.col("_mono") / F.lit(_PARTITION_SHIFT)).cast("long")
    parts = (
        ordered.groupBy(part.alias("_part"))
        .agg(F.count("*").alias("n"), F.min("_mono").alias("first"))
        .toPandas()
        .sort_values("_part")
    )
    before = np.cumsum(parts["n"].to_numpy()) - parts["n"].to_numpy()
    shifts = pd.DataFrame(
        {"_part": parts["_part"].to_numpy(), "_shift": before - parts["first"].to_numpy()}
    )
    numbered = (
        ordered.withColumn("_part", part)
        .join(F.broadcast(spark.createDataFrame(shifts)), "_part")
        .withColumn(column, F.col("_mono") + F.col("_shift"))
        .drop("_part", "_shift", "_mono")
    )
    return numbered, int(parts["n"].sum())
