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
Helpers: ``candidates`` (blocking joins), ``model`` (training), ``ordering`` (global row
positions), ``graph`` (components), ``batches`` (executor functions), ``codec`` (dtypes).
"""

from __future__ import annotations

import logging
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
from matcher.compare import LEFT, RIGHT, level_column
from matcher.decisions import DECISION, Decision
from matcher.engines import EngineUnavailableError, LinkJob, LinkOutput
from matcher.engines.spark import batches as b
from matcher.engines.spark.candidates import block, both_sides
from matcher.engines.spark.codec import Kinds, ddl, from_rows, kinds_of
from matcher.engines.spark.graph import connected_components
from matcher.engines.spark.model import train
from matcher.engines.spark.ordering import number_rows
from matcher.histories import HISTORY_COLUMNS
from matcher.history_lines import IDENTITY_COLUMNS
from matcher.ingest import expand_inputs
from matcher.normalise import normalise_doses
from matcher.pipeline import LinkResult, peak_rss_mb
from matcher.settings import MatchSettings

__all__ = [
    "run_spark_link",
]

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
        peaks[name] = peak_rss_mb()

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
        records, n_records = number_rows(spark, built, [c.SOURCE, c.PERSON_REF], c.RECORD_ID)
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
        candidates, report = block(spark, records, record_kinds, settings, partitions)

    with stage("compare"):
        side_columns = [*record_kinds, b.TF, b.DOSE_DAYS, b.DOSE_PRODUCTS, b.DOSE_LOTS]
        wide = both_sides(candidates, records, side_columns)
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
            model = train(spark, records, record_kinds, levels, n_pairs, n_records, settings)

    with stage("score"):
        level_names = [k for k in level_kinds if not k.startswith("_")]
        wide = both_sides(levels.select(*level_names), records, side_columns)
        scoring = partial(
            b.score,
            kinds=record_kinds,
            level_columns=level_names,
            settings=settings,
            model=model,
            population=n_records,
        )
        probe_rows = both_sides(
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
