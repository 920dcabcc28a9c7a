"""FHIR rendering of merged histories, validated with the fhir.resources models.

fhir.resources 8 defaults to R5; its ``R4B`` subpackage is used here. R4B (4.3) has the same
Bundle / Patient / Immunization structure as R4 (4.0.1) for every element we emit.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from matcher.columns import (
    BIRTH_DATE,
    DOSE_DATE,
    DOSE_SEQ,
    ID_KEY,
    LOT_NUMBER,
    NAME,
    PERSON_ID,
    PERSON_REF,
    PRODUCT_CODE,
    SEX,
    SITE,
    SOURCE,
    VACCINE,
)
from matcher.fhir import PRODUCT_SYSTEM, fhir_bundle
from matcher.histories import build_histories, history_documents

r4b = pytest.importorskip("fhir.resources.R4B.bundle")


def documents() -> list[dict[str, Any]]:
    rows = pd.DataFrame(
        {
            PERSON_ID: ["p1", "p1", "p1", "p2"],
            SOURCE: ["44", "62", "62", "11"],
            PERSON_REF: ["a", "b", "b", "c"],
            DOSE_DATE: pd.to_datetime(["2021-04-01", "2021-04-01", "2021-05-01", "2021-06-01"]),
            PRODUCT_CODE: pd.array(["BBIBP", "BBIBP", "CORONAVAC", None], dtype="string"),
            VACCINE: ["国药北京", "北京生物", "科兴", "新冠灭活疫苗"],
            LOT_NUMBER: ["L1", None, "L2", None],
            SITE: ["440101001", None, "620102001", None],
            DOSE_SEQ: ["1", "1", "2", "1"],
            BIRTH_DATE: pd.to_datetime(["1980-01-01"] * 3 + ["1990-02-02"]),
            NAME: ["张三", "张三", "张三", "李四"],
            ID_KEY: ["110101198001010011"] * 3 + [None],
            SEX: ["M", "M", "M", "U"],
        }
    )
    h = build_histories(rows, today=pd.Timestamp("2023-01-01"))
    return list(history_documents(h, rows))


def test_bundles_validate_as_fhir_r4b() -> None:
    for doc in documents():
        bundle = r4b.Bundle.model_validate(fhir_bundle(doc))
        assert bundle.type == "collection"
        kinds = [type(e.resource).__name__ for e in bundle.entry]
        assert kinds == ["Patient"] + ["Immunization"] * len(doc["doses"])


def test_bundle_content() -> None:
    doc = documents()[0]
    raw = fhir_bundle(doc)
    patient = raw["entry"][0]
    assert patient["resource"]["gender"] == "male"
    assert patient["resource"]["birthDate"] == "1980-01"  # month only beside a masked ID
    assert patient["resource"]["name"] == [{"text": "张*"}]  # masked
    systems = [i["system"] for i in patient["resource"]["identifier"]]
    assert systems == ["urn:vaxlink:person-id", "urn:vaxlink:source:44", "urn:vaxlink:source:62"]
    first, second = (e["resource"] for e in raw["entry"][1:])
    assert first["patient"]["reference"] == patient["fullUrl"]
    assert first["vaccineCode"]["coding"][0] == {
        "system": PRODUCT_SYSTEM,
        "code": "BBIBP",
        "display": "新型冠状病毒灭活疫苗（Vero细胞）",
    }
    assert first["occurrenceDateTime"] == "2021-04-01"
    assert first["lotNumber"] == "L1"
    assert first["protocolApplied"] == [{"series": "primary", "doseNumberPositiveInt": 1}]
    assert second["protocolApplied"][0]["doseNumberPositiveInt"] == 2
    assert "44/a" in first["note"][0]["text"] and "62/b" in first["note"][0]["text"]


def test_unknown_vaccine_keeps_text_only_and_ids_are_stable() -> None:
    doc = documents()[1]
    imm = fhir_bundle(doc)["entry"][1]["resource"]
    assert imm["vaccineCode"] == {"text": "新冠灭活疫苗"}
    assert any("unknown_vaccine" in n["text"] for n in imm["note"])
    assert fhir_bundle(doc) == fhir_bundle(doc)
