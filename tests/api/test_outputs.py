"""The link job's CSV writers: ``write_csv`` writes exactly the bytes ``to_csv`` writes."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import api.outputs as outputs
from api.outputs import pairs_frame, persons_frame, write_csv
from matcher import columns as c
from matcher.compare import FIELDS, LEFT, RIGHT, level_column
from matcher.decisions import DECISION, LEVEL_DOSES, RULES_FIRED, WEIGHT_RULES
from matcher.scoring import MATCH_PROBABILITY, MATCH_WEIGHT, weight_column

AWKWARD_TEXT = [
    "plain",
    "a,b",
    'say "hi"',
    '"',
    "line\nbreak",
    "carriage\rreturn",
    "crlf\r\nend",
    "tab\there",
    " padded ",
    "张伟,北京",
    "王\n芳",
    "",
    None,
    np.nan,
    pd.NA,
    "'single'",
    ";",
]


def _csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue()


def _assert_same_bytes(frame: pd.DataFrame, tmp_path: Path, *, fast: bool = True) -> bytes:
    """``write_csv`` writes what ``to_csv`` writes; ``fast``: without falling back to pandas."""
    frame.to_csv(tmp_path / "pandas.csv", index=False)
    write_csv(frame, tmp_path / "written.csv")
    expected = (tmp_path / "pandas.csv").read_bytes()
    assert (tmp_path / "written.csv").read_bytes() == expected
    if fast:
        outputs._write_csv(frame, tmp_path / "fast.csv")
        assert (tmp_path / "fast.csv").read_bytes() == expected
    else:
        with pytest.raises(outputs._LeftToPandas):
            outputs._write_csv(frame, tmp_path / "fast.csv")
    return expected


def _awkward_frame(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    text = np.array(AWKWARD_TEXT, dtype=object)
    floats = rng.normal(0, 20, n) * rng.choice([1, 1e-7, 1e6, 1e20, 1e-300], n)
    floats[:8] = [0.0, -0.0, np.nan, 1e-06, 3.0, np.inf, -np.inf, 1e16][: min(n, 8)]
    halves = rng.normal(0, 5, n).astype(np.float16)
    return pd.DataFrame(
        {
            "text": text[rng.integers(0, len(text), n)],
            "f64": floats,
            "f32": (floats.astype(np.float32)),
            "f32_rounded": pd.Series(rng.normal(0, 8, n).astype(np.float32)).round(3),
            "f16": halves,
            "i8": rng.integers(-128, 127, n).astype(np.int8),
            "i64": rng.choice([np.iinfo(np.int64).min, -1, 0, np.iinfo(np.int64).max], n),
            "u64": rng.choice(np.array([0, 7, np.iinfo(np.uint64).max], dtype=np.uint64), n),
            "flag": rng.random(n) < 0.5,
            "category": pd.Categorical(text[rng.integers(0, 4, n)]),
            "中文列": rng.choice(["甲", "乙", "丙"], n).astype(object),
            "all_missing": np.full(n, None, dtype=object),
        }
    )


@pytest.mark.parametrize("n", [0, 1, 2, 37, 3000])
def test_write_csv_writes_what_to_csv_writes(n: int, tmp_path: Path) -> None:
    _assert_same_bytes(_awkward_frame(n), tmp_path)


@pytest.mark.parametrize("column", list(_awkward_frame(1).columns))
def test_write_csv_single_column(column: str, tmp_path: Path) -> None:
    # A row of one empty field is written as "" (the csv module's rule).
    _assert_same_bytes(_awkward_frame(200, seed=2)[[column]], tmp_path)


def test_write_csv_batches_with_and_without_quotes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of 2500 rows; quotes needed only in the second, after Arrow's writer wrote
    # some of its rows (it is rolled back and the batch joined instead).
    monkeypatch.setattr(outputs, "_CSV_CHUNK_ROWS", 2500)
    n = 7000
    frame = pd.DataFrame(
        {
            "ref": [f"R{i}" for i in range(n)],
            "name": ["张伟"] * n,
            "weight": np.linspace(-5, 5, n).astype(np.float32),
        }
    )
    frame.loc[4000, "name"] = '张"伟"'
    frame.loc[4500, "ref"] = "a\rb"
    _assert_same_bytes(frame, tmp_path)


def test_write_csv_categoricals(tmp_path: Path) -> None:
    categories = pd.Index([f"ref,{i}" if i % 7 == 0 else f"ref{i}" for i in range(500)])
    codes = np.r_[np.arange(500), -1, 3, 3]
    many = pd.Series(pd.Categorical.from_codes(codes, categories=categories))
    frame = pd.DataFrame({"ref": many, "n": np.arange(len(many))})
    _assert_same_bytes(frame, tmp_path)  # all categories converted
    few_rows = frame.iloc[[2, 500, 7, 9]].reset_index(drop=True)
    _assert_same_bytes(few_rows, tmp_path)  # only the categories in use
    few_rows["ref"] = pd.Categorical.from_codes([2, -1, 7, 9], categories=categories.copy())
    _assert_same_bytes(few_rows, tmp_path)  # only the categories in use
    numbers = pd.DataFrame({"n": pd.Categorical([1.5, None, 2.0]), "s": ["a", "b", "c"]})
    _assert_same_bytes(numbers, tmp_path, fast=False)


@pytest.mark.parametrize(
    ("frame", "fast"),
    [
        (pd.DataFrame(), False),
        (pd.DataFrame(index=range(3)), False),
        (pd.DataFrame({"a": ["x", ""], "": ["", ""]}), True),
        (pd.DataFrame({"a,b": ["x"], 'say "c"': ["y"], "line\nd": ["z"]}), True),
        (pd.DataFrame([["x", "y"], ["", "z"]], columns=["dup", "dup"]), True),
        (pd.DataFrame({"text": [], "f": np.array([], dtype=np.float32)}), True),
        (pd.DataFrame({0: ["x"], 1.5: ["y"]}), False),
        (pd.DataFrame({"mixed": ["a", 1, 2.5, None]}), False),
        (pd.DataFrame({"bytes": [b"a", "b"]}), False),
        (pd.DataFrame({"when": pd.to_datetime(["2026-01-02", None])}), False),
        (pd.DataFrame({"nullable": pd.array([1, None], dtype="Int64"), "s": ["a", None]}), False),
        (pd.DataFrame({"text": pd.array(["a", None], dtype="string"), "s": ["a", None]}), False),
        (pd.DataFrame({"nat": [pd.NaT, "x"], "s": ["a", "b"]}), True),
    ],
    ids=lambda value: ",".join(map(str, value.columns)) if isinstance(value, pd.DataFrame) else "",
)
def test_write_csv_odd_frames(frame: pd.DataFrame, fast: bool, tmp_path: Path) -> None:
    _assert_same_bytes(frame, tmp_path, fast=fast)


def test_write_csv_compressed_path_is_left_to_pandas(tmp_path: Path) -> None:
    frame = _awkward_frame(50)
    write_csv(frame, tmp_path / "out.csv.gz")
    assert gzip.decompress((tmp_path / "out.csv.gz").read_bytes()).decode() == _csv(frame)


def test_pairs_frame_writes_the_same_csv_as_plain_numbers(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    n = 500
    records = pd.DataFrame(
        {
            c.SOURCE: rng.choice(["11", "41"], 50),
            c.PERSON_REF: [f"R{i}" for i in range(50)],
            c.ID_KEY: None,
            c.NAME_NORM: "张伟",
        }
    )
    pairs = pd.DataFrame({LEFT: rng.integers(0, 50, n), RIGHT: rng.integers(0, 50, n)})
    for f in FIELDS:
        pairs[level_column(f)] = rng.integers(-1, 4, n).astype(np.int8)
        pairs[weight_column(f)] = rng.normal(0, 8, n).astype(np.float32)
    pairs[LEVEL_DOSES] = rng.integers(-1, 3, n).astype(np.int8)
    pairs[WEIGHT_RULES] = rng.choice([0.0, -6.0], n).astype(np.float32)
    pairs[MATCH_WEIGHT] = rng.normal(0, 20, n).astype(np.float32)
    pairs[MATCH_PROBABILITY] = rng.random(n).astype(np.float32)
    pairs[DECISION] = "review"
    pairs[RULES_FIRED] = ""
    plain = pd.DataFrame(
        {
            f"{column}_{side}": records[column].to_numpy()[pairs[key].to_numpy()]
            for side, key in (("l", LEFT), ("r", RIGHT))
            for column in (c.SOURCE, c.PERSON_REF)
        }
    )
    numeric = [*(level_column(f) for f in FIELDS), LEVEL_DOSES, *(weight_column(f) for f in FIELDS)]
    numeric += [WEIGHT_RULES, MATCH_WEIGHT, MATCH_PROBABILITY]
    for name in numeric:
        digits = 6 if name == MATCH_PROBABILITY else 3
        values = pairs[name]
        plain[name] = values.round(digits) if values.dtype.kind == "f" else values
    plain[DECISION], plain[RULES_FIRED] = "review", ""
    expected = _csv(plain)
    for encoded in (records, records.astype("category")):
        frame = pairs_frame(pairs, encoded)
        assert _assert_same_bytes(frame, tmp_path).decode() == expected
        review = pairs_frame(pairs, encoded, evidence=True)
        assert list(review.columns[-4:]) == [
            "id_masked_l",
            "name_masked_l",
            "id_masked_r",
            "name_masked_r",
        ]
        _assert_same_bytes(review, tmp_path)


def test_persons_frame_writes_categorical_columns_as_text(tmp_path: Path) -> None:
    records = pd.DataFrame(
        {
            c.SOURCE: ["11", "41", None],
            c.PERSON_REF: ["A1", "B,2", "C3"],
            c.PERSON_ID: ["P1", "P1", "P2"],
            c.NAME: "x",
        }
    )
    categorical = records.astype("category")
    written = _assert_same_bytes(persons_frame(categorical), tmp_path)
    assert written.decode() == _csv(records[[c.SOURCE, c.PERSON_REF, c.PERSON_ID]])
