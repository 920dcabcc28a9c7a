"""The ``spark`` engine: the link job on Apache Spark (``pip install 'vaxlink[spark]'``, Java 17).

See ``matcher.engines.spark.job`` for the stages and docs/scale.md for the cost model.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from matcher.engines import EngineUnavailableError, LinkJob, LinkOutput

__all__ = [
    "DEFAULT_CONF",
    "SparkEngine",
    "check_runtime",
    "start_session",
    "stop_session",
]

logger = logging.getLogger("vaxlink.spark")
_CHECKPOINT_PREFIX = "vaxlink-spark-"

# Settings for a local run on a shared machine; anything given with --conf wins.
DEFAULT_CONF: dict[str, str] = {
    "spark.driver.memory": "4g",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.maxRecordsPerBatch": "20000",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
}


def check_runtime() -> None:
    """Raise ``EngineUnavailableError`` naming what is missing (pyspark, Java)."""
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise EngineUnavailableError(
            "the spark engine needs pyspark: pip install 'vaxlink[spark]' (or make install)"
        ) from exc
    java = (
        os.path.join(os.environ["JAVA_HOME"], "bin", "java")
        if os.environ.get("JAVA_HOME")
        else shutil.which("java")
    )
    if java is None or not os.path.exists(java):
        where = (
            f"JAVA_HOME={os.environ['JAVA_HOME']} has no bin/java"
            if os.environ.get("JAVA_HOME")
            else "no java on PATH and JAVA_HOME unset"
        )
        raise EngineUnavailableError(f"the spark engine needs Java 17 ({where})")
    probe = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise EngineUnavailableError(f"the spark engine needs Java 17: {java} -version failed")


def start_session(master: str, conf: Mapping[str, str]) -> Any:
    """A Spark session on ``master`` with ``DEFAULT_CONF`` overridden by ``conf``."""
    check_runtime()
    # The executors' Python is this one (the same vaxlink, pandas and pyarrow).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName("vaxlink-link")
    for key, value in {**DEFAULT_CONF, **conf}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # py4j logs each closed connection at INFO, also from the interpreter's exit.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    spark.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix=_CHECKPOINT_PREFIX))
    return spark


def stop_session(spark: Any) -> None:
    """Stop ``spark`` and delete its checkpoint folder (made by ``start_session``)."""
    folder = spark.sparkContext.getCheckpointDir()  # <the temporary folder>/<a uuid>
    spark.stop()
    if folder:
        made = Path(folder.removeprefix("file:")).parent
        if made.name.startswith(_CHECKPOINT_PREFIX):
            shutil.rmtree(made, ignore_errors=True)


class SparkEngine:
    """Runs the link job's stages on Spark, calling matcher's pandas functions on Arrow batches."""

    name = "spark"

    def __init__(self, master: str = "local[2]", conf: dict[str, str] | None = None) -> None:
        self.master = master
        self.conf = dict(conf or {})

    def link(self, job: LinkJob, on_stage: Callable[[str], None]) -> LinkOutput:
        """Read, normalise and link the exports of ``job`` on Spark."""
        from matcher.engines.spark.job import run_spark_link

        spark = start_session(self.master, self.conf)
        started = time.perf_counter()

        def announce(stage: str) -> None:
            # One line per stage on stderr (the bar is off when stderr is not a terminal).
            logger.info(
                "spark %s: stage %s (%.1fs)", self.master, stage, time.perf_counter() - started
            )
            on_stage(stage)

        output = run_spark_link(spark, job, announce)
        write = output.write_histories

        def write_then_stop(out: Path, fhir: bool) -> None:
            # The histories are the last reads of the checkpointed frames.
            try:
                write(out, fhir)
            finally:
                stop_session(spark)

        output.write_histories = write_then_stop
        return output
