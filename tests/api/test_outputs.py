"""The link job's CSV writers: pre-formatted numbers write exactly what pandas would."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from api.outputs import as_csv_text, pairs_frame, persons_frame
from matcher import columns as c
from matcher.compare import FIELDS, LEFT, RIGHT, level_column
from matcher.decisions import DECISION, LEVEL_DOSES, RULES_FIRED, WEIGHT_RULES
from matcher.scoring import MATCH_PROBABILITY, MATCH_WEIGHT, weight_column


def _csv(frame: pd.DataFrame) -> str:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return buffer.getvalue()


def test_csv_text_of_numbers_is_what_to_csv_writes() -> None:
    rng = np.random.default_rng(2)
    floats = (rng.normal(0, 20, 2000) * rng.choice([1, 1e-7, 1e6], 2000)).astype(np.float32)
    floats[:6] = [0.0, -0.0, np.nan, 1e-06, 3.0, np.inf]
    frame = pd.DataFrame(
        {
            "f32": pd.Series(floats).round(3),
            "f64": rng.normal(0, 1, 2000),
            "i8": rng.integers(-1, 7, 2000).astype(np.int8),
        }
    )
    text = pd.DataFrame({name: as_csv_text(frame[name]) for name in frame})
    assert _csv(text) == _csv(frame)


def test_pairs_frame_writes_the_same_csv_as_plain_numbers() -> None:
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
    frame = pairs_frame(pairs, records)
    plain = frame.copy()
    numeric = [*(level_column(f) for f in FIELDS), LEVEL_DOSES, *(weight_column(f) for f in FIELDS)]
    numeric += [WEIGHT_RULES, MATCH_WEIGHT, MATCH_PROBABILITY]
    for name in numeric:
        digits = 6 if name == MATCH_PROBABILITY else 3
        values = pairs[name]
        plain[name] = values.round(digits) if values.dtype.kind == "f" else values
    assert _csv(frame) == _csv(plain)


def test_persons_frame_decodes_categorical_columns() -> None:
    records = pd.DataFrame(
        {
            c.SOURCE: ["11", "41", None],
            c.PERSON_REF: ["A1", "B,2", "C3"],
            c.PERSON_ID: ["P1", "P1", "P2"],
            c.NAME: "x",
        }
    )
    categorical = records.astype("category")
    written = _csv(persons_frame(categorical))
    assert written == _csv(records[[c.SOURCE, c.PERSON_REF, c.PERSON_ID]])
    assert all(dtype.kind == "O" for dtype in persons_frame(categorical).dtypes)
