"""Writers of the link job's output files (persons, pairs, review, rejects, model, summary)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher import columns as c
from matcher.compare import FIELDS, LEFT, RIGHT, level_column
from matcher.decisions import DECISION, RULES_FIRED, WEIGHT_RULES
from matcher.masking import mask_id, mask_name
from matcher.scoring import MATCH_PROBABILITY, MATCH_WEIGHT, weight_column

PAIR_KEY_COLUMNS = ("source_l", "person_ref_l", "source_r", "person_ref_r")


def persons_frame(records: pd.DataFrame) -> pd.DataFrame:
    """``source, person_ref, person_id``: one row per input person record.

    Plain object columns (a dictionary-encoded column is decoded here, once: ``to_csv`` is
    about twice as slow on categoricals).
    """
    columns = (c.SOURCE, c.PERSON_REF, c.PERSON_ID)
    return pd.DataFrame(
        {name: records[name].to_numpy(dtype=object) for name in columns}, index=records.index
    )


def pairs_frame(
    pairs: pd.DataFrame, records: pd.DataFrame, *, evidence: bool = False
) -> pd.DataFrame:
    """Pairs with both keys, levels, per-field weights, weight, probability and decision.

    Ready for ``to_csv``: numbers are already the text ``to_csv`` would write for them
    (formatted once per distinct value, which is most of the writing time otherwise).
    With ``evidence``, masked identifiers of both records are added for reviewers.
    """
    left = pairs[LEFT].to_numpy()
    right = pairs[RIGHT].to_numpy()
    out = pd.DataFrame(
        {
            f"{column}_{side}": records[column].take(idx).to_numpy(dtype=object)
            for side, idx in (("l", left), ("r", right))
            for column in (c.SOURCE, c.PERSON_REF)
        }
    )
    for f in FIELDS:
        out[level_column(f)] = pairs[level_column(f)].to_numpy()
    if "level_doses" in pairs:
        out["level_doses"] = pairs["level_doses"].to_numpy()
    for f in FIELDS:
        out[weight_column(f)] = pairs[weight_column(f)].round(3).to_numpy()
    out[WEIGHT_RULES] = pairs[WEIGHT_RULES].round(3).to_numpy()
    out[MATCH_WEIGHT] = pairs[MATCH_WEIGHT].round(3).to_numpy()
    out[MATCH_PROBABILITY] = pairs[MATCH_PROBABILITY].round(6).to_numpy()
    for column in out.columns[4:]:
        out[column] = as_csv_text(out[column])
    out[DECISION] = pairs[DECISION].to_numpy()
    out[RULES_FIRED] = pairs[RULES_FIRED].to_numpy()
    if evidence:
        for side, idx in (("l", left), ("r", right)):
            out[f"id_masked_{side}"] = [
                mask_id(v) if isinstance(v, str) else "" for v in records[c.ID_KEY].to_numpy()[idx]
            ]
            out[f"name_masked_{side}"] = [
                mask_name(v) if isinstance(v, str) else ""
                for v in records[c.NAME_NORM].to_numpy()[idx]
            ]
    return out


def as_csv_text(values: pd.Series) -> npt.NDArray[np.object_]:
    """The text ``to_csv`` writes for each number of a numeric column ("" for NaN).

    Formatted once per distinct bit pattern, so -0.0 stays "-0.0" as pandas writes it.
    """
    array = values.to_numpy()
    if array.dtype.kind == "f":
        codes, distinct = pd.factorize(array.view(f"i{array.itemsize}"))
        numbers = np.asarray(distinct).view(array.dtype)
        text = numbers.astype(str).astype(object)
        text[np.isnan(numbers)] = ""
    else:
        codes, distinct = pd.factorize(array)
        text = np.asarray(distinct).astype(str).astype(object)
    out: npt.NDArray[np.object_] = text[codes]
    return out


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write pretty, UTF-8 JSON."""
    path.write_text(
        json.dumps(payload, indent=2, ensure_ascii=False, default=str), encoding="utf-8"
    )
