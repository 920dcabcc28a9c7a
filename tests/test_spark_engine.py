"""The Spark engine gives the pandas engine's persons, pairs and histories (local Spark).

Skipped, with the reason, only where pyspark or Java is missing; ``make install`` installs
pyspark and this machine has Java 17, so here it runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from api.cli import main
from matcher.engines import EngineUnavailableError

pytestmark = pytest.mark.slow


def _spark_available() -> str | None:
    from matcher.engines.spark import check_runtime

    try:
        check_runtime()
    except EngineUnavailableError as exc:
        return str(exc)
    return None


@pytest.fixture(scope="module")
def linked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    missing = _spark_available()
    if missing is not None:
        pytest.skip(f"Spark engine unavailable: {missing}")
    root = tmp_path_factory.mktemp("spark")
    data = root / "synth"
    assert (
        main(["synth", "--persons", "2500", "--provinces", "4", "--seed", "7", "--out", str(data)])
        == 0
    )
    # Fewer EM pairs than candidates: the Spark engine must pick estimate_m's sample by position.
    settings = root / "settings.json"
    settings.write_text('{"em_max_pairs": 1000}')
    outs = []
    for engine in ("pandas", "spark"):
        out = root / engine
        args = ["link", str(data), "--out", str(out), "--today", "2026-11-26", "--engine", engine]
        args += ["--settings", str(settings)]
        if engine == "spark":
            args += ["--spark-master", "local[2]", "--conf", "spark.driver.memory=2g"]
        assert main(args) == 0
        outs.append(out)
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:  # the CLI leaves it to the process's exit
        session.stop()
    return outs[0], outs[1]


def _partition(persons: pd.DataFrame) -> set[frozenset[str]]:
    """The records (``source|person_ref``) of each person, as a set of sets."""
    keys = persons["source"] + "|" + persons["person_ref"]
    return {frozenset(group) for group in keys.groupby(persons["person_id"]).agg(list)}


def test_same_persons(linked: tuple[Path, Path]) -> None:
    pandas_out, spark_out = linked
    a = pd.read_csv(pandas_out / "persons.csv", dtype=str)
    b = pd.read_csv(spark_out / "persons.csv", dtype=str)
    assert len(a) > 2000
    assert a["person_id"].nunique() < len(a)  # some records were linked
    assert _partition(a) == _partition(b)
    # Person ids are a hash of each person's least record key: equal too, row for row.
    assert a.equals(b)


def test_same_pairs_reviews_and_model(linked: tuple[Path, Path]) -> None:
    pandas_out, spark_out = linked
    summary = json.loads((pandas_out / "summary.json").read_text())
    assert summary["candidate_pairs"] > 1000  # EM trained on a sample of them
    for name in ("pairs.csv", "review.csv", "rejects.csv", "field_issues.csv", "model.json"):
        assert (pandas_out / name).read_bytes() == (spark_out / name).read_bytes(), name


def test_same_histories(linked: tuple[Path, Path]) -> None:
    pandas_out, spark_out = linked
    lines = (pandas_out / "histories.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) > 2000
    assert lines == (spark_out / "histories.jsonl").read_text(encoding="utf-8").splitlines()


def test_missing_runtime_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from matcher.engines.spark import check_runtime

    monkeypatch.setenv("JAVA_HOME", "/nonexistent-java")
    with pytest.raises(EngineUnavailableError, match="Java 17"):
        check_runtime()
