"""The link job's stages as Spark DataFrames (driver side).

read       one task per export file: ``ingest.read_export`` (the same header, encoding and
           profile rules as the pandas engine; a file is the unit of parallel reading)
normalise  per partition: ``normalise_doses`` (row-local)
records    dose rows shuffled by registration: ``build_person_records`` per partition; global
           record ids in (source, person_ref) order from a sort and per-partition offsets
block      per blocking rule a Spark self-join on its keys, blocks over the cap split by the
           sub-keys then skipped (as ``blocking.block_pairs``); the one-edit ID rule by
           ``one_edit_id_pairs`` per partition against the (few) checksum-failing probes
compare    both records joined to every pair: ``compare_pairs`` per batch
train      on the driver: the random pairs of ``scoring.estimate_u`` (their records
           collected) and EM on the candidates' levels (all, or the rows ``estimate_m``
           samples, by position)
score      per batch: ``match_weights`` / ``score_pairs`` / dose evidence / ``apply_rules``
cluster    connected components of the match edges (``graph``), then the cannot-link and
           ambiguity rules per set of whole components: ``pipeline.cluster_scored`` by
           ``applyInPandas`` over buckets of components (exact: the rules never reach across
           a component)
histories  per bucket of whole persons: ``build_histories`` and ``write_history_lines``

The results are the pandas engine's: same record ids, pairs, model, persons and lines.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher import columns as c
from matcher import persons as p
from matcher.blocking import ONE_EDIT_RULE, BlockingReport, key_columns
from matcher.compare import LEFT, RIGHT, compare_pairs, level_column, prepare_records
from matcher.decisions import DECISION, Decision
from matcher.engines import EngineUnavailableError, LinkJob, LinkOutput
from matcher.engines.spark import batches as b
from matcher.engines.spark.codec import Kinds, ddl, from_rows, kinds_of
from matcher.engines.spark.graph import connected_components
from matcher.histories import HISTORY_COLUMNS
from matcher.history_lines import IDENTITY_COLUMNS
from matcher.ingest import expand_inputs
from matcher.normalise import normalise_doses
from matcher.pipeline import LinkResult
from matcher.scoring import FSModel, estimate_m, fitted_model, random_pairs, u_from_levels
from matcher.settings import BlockingRule, MatchSettings

_RAW_KINDS: Kinds = {
    **dict.fromkeys(c.CANONICAL_COLUMNS, "text"),
    c.FILE: "text",
    c.ROW: "int64",
    c.FIELD: "text",
    c.REASON: "text",
    b.FILE_INDEX: "int32",
    b.SEQ: "int64",
    b.KIND: "text",
}
_DOSE_LISTS = (
    f"`{b.DOSE_DAYS}` array<int>, `{b.DOSE_PRODUCTS}` array<string>, `{b.DOSE_LOTS}` array<string>"
)
_NUMERIC_KEYS = ("int8", "int16", "int32", "int64")


def _peak_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)


def run_spark_link(spark: Any, job: LinkJob, on_stage: Callable[[str], None]) -> LinkOutput:
    """Run every stage; the identity outputs come back to the driver as pandas frames."""
    from pyspark.sql import functions as F

    settings = job.settings
    partitions = int(spark.conf.get("spark.sql.shuffle.partitions"))
    seconds: dict[str, float] = {}
    peaks: dict[str, float] = {}

    @contextmanager
    def stage(name: str) -> Iterator[None]:
        on_stage(name)
        start = time.perf_counter()
        yield
        seconds[name] = round(time.perf_counter() - start, 3)
        peaks[name] = _peak_mb()

    with stage("read"):
        files = expand_inputs(job.inputs)
        paths = pd.DataFrame({"index": np.arange(len(files)), "path": [str(f) for f in files]})
        raw = (
            spark.createDataFrame(paths, "index bigint, path string")
            .repartition(max(min(len(files), partitions * 4), 1))
            .mapInPandas(
                partial(b.read_files, profile=job.profile, kinds=_RAW_KINDS), ddl(_RAW_KINDS)
            )
            .persist()
        )
        raw_count = raw.count()
        read_rejects = raw.filter(F.col(b.KIND) == "reject")

    with stage("normalise"):
        raw_doses = raw.filter(F.col(b.KIND) == "dose")
        sample = from_rows(raw_doses.limit(64).toPandas(), _RAW_KINDS)
        if not len(sample):
            raise EngineUnavailableError("no dose rows to link in the inputs")
        probe = normalise_doses(sample.drop(columns=[b.KIND]), today=job.today).doses
        dose_kinds = kinds_of(probe)
        norm_kinds = {**dose_kinds, b.KIND: "text", c.FIELD: "text", c.REASON: "text"}
        normalised = raw_doses.mapInPandas(
            partial(b.normalise, today=job.today, raw=_RAW_KINDS, kinds=norm_kinds),
            ddl(norm_kinds),
        ).persist()
        normalised.count()
        rejects = _rejects(read_rejects, normalised.filter(F.col(b.KIND) == "reject"))
        issues = _rejects(normalised.filter(F.col(b.KIND) == "issue"))
        doses = normalised.filter(F.col(b.KIND) == "dose").select(*dose_kinds)
        n_doses = doses.count()
        raw.unpersist()

    with stage("records"):
        dose_sample = doses.limit(64).toPandas()
        record_probe = next(b.person_records(iter([dose_sample]), dose_kinds, None))
        record_kinds = kinds_of(
            record_probe.drop(columns=[b.DOSE_DAYS, b.DOSE_PRODUCTS, b.DOSE_LOTS])
        )
        built = (
            doses.repartition(partitions, c.SOURCE, c.PERSON_REF)
            .mapInPandas(
                partial(b.person_records, doses=dose_kinds, kinds=record_kinds),
                ddl(record_kinds, _DOSE_LISTS),
            )
            .drop(c.RECORD_ID)
        )
        records, n_records = _numbered(spark, built)
        names = (
            records.filter(F.col(c.NAME_SIMPLIFIED).isNotNull() & (F.col(c.NAME_SIMPLIFIED) != ""))
            .groupBy(c.NAME_SIMPLIFIED)
            .agg(F.count("*").alias("_named"))
        )
        records = (
            records.join(names, c.NAME_SIMPLIFIED, "left")
            .withColumn(
                b.TF,
                F.coalesce(F.col("_named"), F.lit(0)).cast("double") / F.lit(max(n_records, 1)),
            )
            .drop("_named")
            .checkpoint()
        )

    with stage("block"):
        candidates, report = _block(spark, records, record_kinds, settings, partitions)

    with stage("compare"):
        side_columns = [*record_kinds, b.TF, b.DOSE_DAYS, b.DOSE_PRODUCTS, b.DOSE_LOTS]
        wide = _both_sides(candidates, records, side_columns)
        compare_sample = wide.limit(16).toPandas()
        level_probe = next(b.compare(iter([compare_sample]), record_kinds, settings))
        level_kinds = kinds_of(level_probe)
        levels = wide.mapInPandas(
            partial(b.compare, kinds=record_kinds, settings=settings), ddl(level_kinds)
        ).persist()
        n_pairs = levels.count()
        candidates.unpersist()

    with stage("train"):
        model = job.model
        if model is None:
            model = _train(spark, records, record_kinds, levels, n_pairs, n_records, settings)

    with stage("score"):
        level_names = [k for k in level_kinds if not k.startswith("_")]
        wide = _both_sides(levels.select(*level_names), records, side_columns)
        scoring = partial(
            b.score,
            kinds=record_kinds,
            level_columns=level_names,
            settings=settings,
            model=model,
            population=n_records,
        )
        probe_rows = _both_sides(
            levels.filter(F.col(level_column("id")) == 3).select(*level_names).limit(16),
            records,
            side_columns,
        ).toPandas()
        pair_kinds = kinds_of(next(scoring(iter([probe_rows]), out_kinds=None)))
        scored = wide.mapInPandas(partial(scoring, out_kinds=pair_kinds), ddl(pair_kinds))
        scored = scored.persist()
        scored.count()
        levels.unpersist()

    with stage("cluster"):
        pairs, person_ids = _cluster(records, scored, pair_kinds, settings, partitions)
        identity = records.select(
            c.RECORD_ID, c.SOURCE, c.PERSON_REF, c.ID_KEY, c.NAME_NORM, c.NAME, c.SEX
        ).join(person_ids, c.RECORD_ID)
        identity = identity.persist()
        kept = from_rows(pairs.toPandas(), pair_kinds)
        kept = kept.sort_values([LEFT, RIGHT], kind="stable").reset_index(drop=True)
        local = identity.toPandas().sort_values(c.RECORD_ID, kind="stable")
        local = from_rows(
            local.reset_index(drop=True), {k: "text" for k in local if k != c.RECORD_ID}
        )
        persons = int(local[c.PERSON_ID].nunique())
        scored.unpersist()

    result = LinkResult(
        records=local,
        dose_record_ids=np.empty(0, dtype=np.int64),  # the dose rows stay in Spark
        pairs=kept,
        model=model,
        blocking=report,
        persons=persons,
        stage_seconds=dict(seconds),
        stage_peak_rss_mb=dict(peaks),
    )

    def write_histories(out: Path, fhir: bool) -> None:
        if fhir:
            raise EngineUnavailableError("--format fhir is written by the pandas engine only")
        logging.getLogger("vaxlink.spark").info("spark: stage histories (histories.jsonl)")
        _write_histories(doses, identity, dose_kinds, job.today, partitions, out)

    del raw_count
    return LinkOutput(
        result=result,
        rejects=rejects,
        issues=issues,
        files=tuple(f.name for f in files),
        rows_read=n_doses + len(rejects),
        doses_accepted=n_doses,
        write_histories=write_histories,
        stage_seconds=seconds,
        stage_peak_rss_mb=peaks,
    )


def _rejects(*frames: Any) -> pd.DataFrame:
    """Reject (or issue) rows in the pandas engine's order, as ``REJECT_COLUMNS``."""
    parts = []
    for frame in frames:
        part = frame.select(*c.REJECT_COLUMNS, b.FILE_INDEX, b.SEQ).toPandas()
        parts.append(part.sort_values([b.FILE_INDEX, b.SEQ], kind="stable"))
    out = pd.concat(parts, ignore_index=True)[list(c.REJECT_COLUMNS)]
    out[c.ROW] = out[c.ROW].astype(np.int64)
    return out


def _numbered(spark: Any, frame: Any) -> tuple[Any, int]:
    """``frame`` with ``record_id`` numbering its rows in (source, person_ref) order."""
    from pyspark.sql import functions as F

    ordered = (
        frame.orderBy(c.SOURCE, c.PERSON_REF)
        .withColumn("_mono", F.monotonically_increasing_id())
        .checkpoint()  # the ids are fixed once: later reads must see the same ones
    )
    parts = (
        ordered.groupBy((F.col("_mono") / F.lit(1 << 33)).cast("long").alias("_part"))
        .agg(F.count("*").alias("n"), F.min("_mono").alias("first"))
        .toPandas()
        .sort_values("_part")
    )
    before = np.cumsum(parts["n"].to_numpy()) - parts["n"].to_numpy()
    shifts = pd.DataFrame(
        {"_part": parts["_part"].to_numpy(), "_shift": before - parts["first"].to_numpy()}
    )
    numbered = (
        ordered.withColumn("_part", (F.col("_mono") / F.lit(1 << 33)).cast("long"))
        .join(F.broadcast(spark.createDataFrame(shifts)), "_part")
        .withColumn(c.RECORD_ID, F.col("_mono") + F.col("_shift"))
        .drop("_part", "_shift", "_mono")
    )
    return numbered, int(parts["n"].sum())


def _present(column: str, kinds: Kinds) -> Any:
    """True where a blocking key has a value (numbers: not 0; text: not empty)."""
    from pyspark.sql import functions as F

    col = F.col(column)
    if kinds[column] in _NUMERIC_KEYS:
        return col.isNotNull() & (col != 0)
    return col.isNotNull() & (col != "")


def _rule_pairs(records: Any, rule: BlockingRule, kinds: Kinds) -> tuple[Any, int, int]:
    """Pairs of one rule as ``blocking._pairs_for_rule`` makes them, and the skipped blocks
    and records."""
    from pyspark.sql import functions as F

    current = records.select(c.RECORD_ID, *dict.fromkeys((*rule.keys, *rule.sub_keys)))
    for key in rule.keys:
        current = current.filter(_present(key, kinds))
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
        current = oversize.filter(_present(sub, kinds))
        group = [*group, sub]
    pairs = found[0]
    for more in found[1:]:
        pairs = pairs.unionByName(more)
    return pairs, skipped_blocks, skipped_records


def _block(
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
        pairs, blocks, skipped = _rule_pairs(records, rule, kinds)
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


def _both_sides(pairs: Any, records: Any, columns: list[str]) -> Any:
    """``pairs`` with every column of both records, as ``l_<column>`` and ``r_<column>``."""
    from pyspark.sql import functions as F

    out = pairs
    for side, key in (("l", LEFT), ("r", RIGHT)):
        renamed = records.select(*[F.col(k).alias(f"{side}_{k}") for k in columns])
        out = out.join(renamed, out[key] == renamed[f"{side}_{c.RECORD_ID}"])
    return out


def _train(
    spark: Any,
    records: Any,
    kinds: Kinds,
    levels: Any,
    n_pairs: int,
    n_records: int,
    settings: MatchSettings,
) -> FSModel:
    """u on ``estimate_u``'s random pairs (only their records collected), m by EM on the
    candidates' levels (``estimate_m``'s sample when there are more than ``em_max_pairs``)."""
    from pyspark.sql import functions as F

    pairs = random_pairs(n_records, sample_pairs=settings.u_sample_pairs, seed=settings.seed)
    wanted = np.unique(np.concatenate([pairs[LEFT].to_numpy(), pairs[RIGHT].to_numpy()]))
    ids = spark.createDataFrame(pd.DataFrame({c.RECORD_ID: wanted}))
    sampled = records.join(F.broadcast(ids), c.RECORD_ID).select(*kinds).toPandas()
    sampled = from_rows(sampled, kinds).sort_values(c.RECORD_ID).reset_index(drop=True)
    positions = sampled[c.RECORD_ID].to_numpy(dtype=np.int64)
    local = pd.DataFrame(
        {
            LEFT: np.searchsorted(positions, pairs[LEFT].to_numpy()),
            RIGHT: np.searchsorted(positions, pairs[RIGHT].to_numpy()),
        }
    )
    coded = prepare_records(sampled, columns=key_columns(settings))
    u = u_from_levels(compare_pairs(coded, local, jw_thresholds=settings.name_jw_thresholds))
    del sampled, coded

    columns = [
        LEFT,
        RIGHT,
        *[k for k in levels.columns if k.startswith("level_")],
        "_seed",
        "_stated_birth",
    ]
    if n_pairs > settings.em_max_pairs:
        chosen = np.random.default_rng(settings.seed).choice(
            n_pairs, size=settings.em_max_pairs, replace=False
        )
        numbered, _ = _positions(spark, levels.select(*columns))
        picked = spark.createDataFrame(
            pd.DataFrame({"_pos": chosen, "_order": np.arange(len(chosen))})
        )
        sample = numbered.join(picked, "_pos").toPandas().sort_values("_order")
    else:
        sample = levels.select(*columns).toPandas().sort_values([LEFT, RIGHT], kind="stable")
    sample = sample.reset_index(drop=True)
    seed_mask = sample["_seed"].to_numpy(dtype=bool)
    stated = sample["_stated_birth"].to_numpy(dtype=np.int8)[seed_mask]
    m, share, iterations = estimate_m(
        sample,
        seed_mask=seed_mask,
        max_pairs=settings.em_max_pairs,
        iterations=settings.em_iterations,
        tolerance=settings.em_tolerance,
        seed=settings.seed,
        seed_overrides={"birth_date": stated},
    )
    return fitted_model(m, u, share, iterations, n_pairs=n_pairs, n_records=n_records)


def _positions(spark: Any, frame: Any) -> tuple[Any, int]:
    """``frame`` with ``_pos``: each row's position in (LEFT, RIGHT) order."""
    from pyspark.sql import functions as F

    ordered = frame.orderBy(LEFT, RIGHT).withColumn("_mono", F.monotonically_increasing_id())
    ordered = ordered.checkpoint()
    parts = (
        ordered.groupBy((F.col("_mono") / F.lit(1 << 33)).cast("long").alias("_part"))
        .agg(F.count("*").alias("n"), F.min("_mono").alias("first"))
        .toPandas()
        .sort_values("_part")
    )
    before = np.cumsum(parts["n"].to_numpy()) - parts["n"].to_numpy()
    shifts = pd.DataFrame(
        {"_part": parts["_part"].to_numpy(), "_shift": before - parts["first"].to_numpy()}
    )
    numbered = (
        ordered.withColumn("_part", (F.col("_mono") / F.lit(1 << 33)).cast("long"))
        .join(F.broadcast(spark.createDataFrame(shifts)), "_part")
        .withColumn("_pos", F.col("_mono") + F.col("_shift"))
        .drop("_part", "_shift", "_mono")
    )
    return numbered, int(parts["n"].sum())


def _cluster(
    records: Any,
    scored: Any,
    pair_kinds: Kinds,
    settings: MatchSettings,
    partitions: int,
) -> tuple[Any, Any]:
    """(final kept pairs, ``record_id → person_id``)."""
    from pyspark.sql import functions as F

    edges = scored.filter(F.col(DECISION) == Decision.MATCH.value).select(LEFT, RIGHT)
    labels = connected_components(edges, LEFT, RIGHT)
    members = (
        records.select(c.RECORD_ID, c.SOURCE, c.PERSON_REF, p.TRUSTED_ID)
        .join(labels, records[c.RECORD_ID] == labels.node, "left")
        .withColumn(
            "_bucket", F.pmod(F.xxhash64(F.coalesce("comp", c.RECORD_ID)), F.lit(partitions * 4))
        )
        .drop("node", "comp")
    )
    members = members.localCheckpoint()
    ends = members.select(F.col(c.RECORD_ID).alias(LEFT), F.col("_bucket").alias("_pair_bucket"))
    pairs = scored.join(ends, LEFT)
    record_kinds = {
        c.RECORD_ID: "int64",
        c.SOURCE: "text",
        c.PERSON_REF: "text",
        p.TRUSTED_ID: "text",
    }

    def per_bucket(pair_rows: pd.DataFrame, record_rows: pd.DataFrame) -> pd.DataFrame:
        return b.cluster(
            pair_rows.drop(columns=["_pair_bucket"]),
            from_rows(record_rows.drop(columns=["_bucket"]), record_kinds),
            settings,
            pair_kinds,
        )

    schema = ddl({"_kind": "text", **pair_kinds, c.RECORD_ID: "int64", c.PERSON_ID: "text"})
    out = (
        pairs.groupBy("_pair_bucket")
        .cogroup(members.groupBy("_bucket"))
        .applyInPandas(per_bucket, schema)
        .persist()
    )
    final = out.filter(F.col("_kind") == "pair").select(*pair_kinds)
    person_ids = out.filter(F.col("_kind") == "person").select(c.RECORD_ID, c.PERSON_ID)
    return final, person_ids


def _write_histories(
    doses: Any,
    identity: Any,
    dose_kinds: Kinds,
    today: pd.Timestamp,
    partitions: int,
    out: Path,
) -> None:
    """histories.jsonl: one line per person, in person-id order, built per bucket of persons."""
    from pyspark.sql import functions as F

    wanted = [k for k in dose_kinds if k in HISTORY_COLUMNS or k in (b.FILE_INDEX, b.SEQ)]
    # Renamed (new column identities): both sides of the cogroup below come from ``identity``.
    keys = identity.select(
        c.SOURCE,
        c.PERSON_REF,
        F.col(c.RECORD_ID).alias("_rid"),
        F.col(c.PERSON_ID).alias("_pid"),
    )
    rows = doses.select(*wanted).join(keys, [c.SOURCE, c.PERSON_REF])
    rows = rows.withColumnRenamed("_rid", c.RECORD_ID).withColumnRenamed("_pid", c.PERSON_ID)
    kinds = {**{k: dose_kinds[k] for k in wanted}, c.RECORD_ID: "int64", c.PERSON_ID: "text"}
    buckets = F.lit(partitions * 4)
    rows = rows.withColumn("_dose_bucket", F.pmod(F.xxhash64(c.PERSON_ID), buckets))
    # A copy of its own lineage: both sides of the cogroup come from ``identity``.
    people = (
        identity.select(c.RECORD_ID, *IDENTITY_COLUMNS)
        .withColumn("_bucket", F.pmod(F.xxhash64(c.PERSON_ID), buckets))
        .localCheckpoint()
    )

    def per_bucket(dose_rows: pd.DataFrame, record_rows: pd.DataFrame) -> pd.DataFrame:
        record_rows = record_rows.sort_values(c.RECORD_ID, kind="stable")
        return b.histories(
            dose_rows.drop(columns=["_dose_bucket"]),
            record_rows.drop(columns=["_bucket", c.RECORD_ID]).reset_index(drop=True),
            today,
            kinds,
        )

    lines = (
        rows.groupBy("_dose_bucket")
        .cogroup(people.groupBy("_bucket"))
        .applyInPandas(per_bucket, f"`{c.PERSON_ID}` string, line string")
        .orderBy(c.PERSON_ID)
    )
    with (out / "histories.jsonl").open("w", encoding="utf-8", newline="") as handle:
        for row in lines.toLocalIterator(prefetchPartitions=True):
            handle.write(row["line"])
