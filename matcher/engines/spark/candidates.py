"""Candidate pairs on Spark: the blocking rules of ``MatchSettings`` as joins, capped exactly
as ``matcher.blocking.block_pairs`` caps them, and pairs joined to both of their records."""

from __future__ import annotations

from functools import partial
from typing import Any

from matcher import columns as c
from matcher.blocking import ONE_EDIT_RULE, BlockingReport
from matcher.compare import LEFT, RIGHT
from matcher.engines.spark import batches as b
from matcher.engines.spark.codec import Kinds, from_rows
from matcher.settings import BlockingRule, MatchSettings

__all__ = [
    "block",
    "both_sides",
    "present",
    "rule_pairs",
]

_NUMERIC_KEYS = ("int8", "int16", "int32", "int64")


def present(column: str, kinds: Kinds) -> Any:
    """True where a blocking key has a value (numbers: not 0; text: not empty)."""
    from pyspark.sql import functions as F

    col = F.col(column)
    if kinds[column] in _NUMERIC_KEYS:
        return col.isNotNull() & (col != 0)
    return col.isNotNull() & (col != "")


def rule_pairs(records: Any, rule: BlockingRule, kinds: Kinds) -> tuple[Any, int, int]:
    """Pairs of one rule as ``blocking._pairs_for_rule`` makes them, and the skipped blocks
    and records."""
    from pyspark.sql import functions as F

    current = records.select(c.RECORD_ID, *dict.fromkeys((*rule.keys, *rule.sub_keys)))
    for key in rule.keys:
        current = current.filter(present(key, kinds))
    group = list(rule.keys)
    found = []
    skipped_blocks = skipped_records = 0
    for depth in range(len(rule.sub_keys) + 1):
        sized = current.join(current.groupBy(*group).agg(F.count("*").alias("_size")), group)
        sized = sized.persist()
        ok = sized.filter((F.col("_size") >= 2) & (F.col("_size") <= rule.max_block_size))
        a = ok.select(F.col(c.RECORD_ID).alias(LEFT), *group)
        z = ok.select(F.col(c.RECORD_ID).alias(RIGHT), *group)
        found.append(a.join(z, group).filter(F.col(LEFT) < F.col(RIGHT)).select(LEFT, RIGHT))
        oversize = sized.filter(F.col("_size") > rule.max_block_size).drop("_size")
        if depth == len(rule.sub_keys):
            skipped_records = oversize.count()
            skipped_blocks = oversize.select(*group).distinct().count() if skipped_records else 0
            break
        sub = rule.sub_keys[depth]
        current = oversize.filter(present(sub, kinds))
        group = [*group, sub]
    pairs = found[0]
    for more in found[1:]:
        pairs = pairs.unionByName(more)
    return pairs, skipped_blocks, skipped_records


def block(
    spark: Any, records: Any, kinds: Kinds, settings: MatchSettings, partitions: int
) -> tuple[Any, BlockingReport]:
    """Candidate pairs (``LEFT < RIGHT``, distinct) of every rule, and the blocking report."""
    from pyspark.sql import functions as F

    per_rule: dict[str, int] = {}
    capped_blocks: dict[str, int] = {}
    capped_records: dict[str, int] = {}
    found = []
    names = []
    for rule in settings.blocking_rules:
        pairs, blocks, skipped = rule_pairs(records, rule, kinds)
        pairs = pairs.persist()
        per_rule[rule.name] = pairs.count()
        capped_blocks[rule.name], capped_records[rule.name] = blocks, skipped
        found.append(pairs)
        names.append(rule.name)
    if settings.one_edit_id_rule:
        id_columns = [c.RECORD_ID, c.ID_KEY, c.ID_STATUS, c.ID_DOC_TYPE]
        shaped = records.select(*id_columns).filter(
            F.col(c.ID_STATUS).isin("valid", "checksum_error")
        )
        probes = shaped.filter(F.col(c.ID_STATUS) == "checksum_error").toPandas()
        if len(probes):
            id_kinds = {k: kinds[k] for k in id_columns}
            pairs = (
                shaped.mapInPandas(
                    partial(b.one_edit, probes=from_rows(probes, id_kinds)),
                    f"`{LEFT}` bigint, `{RIGHT}` bigint",
                )
                .distinct()
                .persist()
            )
        else:
            pairs = spark.createDataFrame([], f"`{LEFT}` bigint, `{RIGHT}` bigint")
        per_rule[ONE_EDIT_RULE] = pairs.count()
        found.append(pairs)
        names.append(ONE_EDIT_RULE)
    union = found[0]
    for more in found[1:]:
        union = union.unionByName(more)
    candidates = union.distinct().repartition(partitions * 2).persist()
    total = candidates.count()
    for pairs in found:
        pairs.unpersist()
    report = BlockingReport(
        pairs_per_rule=per_rule,
        capped_blocks=capped_blocks,
        capped_records=capped_records,
        total_pairs=total,
        rule_names=tuple(names),
    )
    return candidates, report


def both_sides(pairs: Any, records: Any, columns: list[str]) -> Any:
    """``pairs`` with every column of both records, as ``l_<column>`` and ``r_<column>``."""
    from pyspark.sql import functions as F

    out = pairs
    for side, key in (("l", LEFT), ("r", RIGHT)):
        renamed = records.select(*[F.col(k).alias(f"{side}_{k}") for k in columns])
        out = out.join(renamed, out[key] == renamed[f"{side}_{c.RECORD_ID}"])
    return out
