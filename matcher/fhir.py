"""FHIR R4 rendering of a merged dose history: one Bundle (Patient + Immunizations) per person.

Input is a document from :func:`matcher.histories.history_documents`; output is a JSON-ready
dict. Identifiers are the source records' own (system per province); ID numbers and names stay
masked as in the document.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

__all__ = [
    "fhir_bundle",
]

_NAMESPACE: Final = uuid.UUID("6f0b7a52-3f51-4c55-9a3e-7d1f4bb0c2a1")
PERSON_SYSTEM: Final = "urn:vaxlink:person-id"
PRODUCT_SYSTEM: Final = "urn:vaxlink:vaccine-product"
SOURCE_SYSTEM: Final = "urn:vaxlink:source:"  # + 2-digit province code
_GENDER: Final = {"M": "male", "F": "female", "U": "unknown"}


def _uuid(*parts: Any) -> str:
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


def _patient(document: dict[str, Any], patient_id: str) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": patient_id,
        "identifier": [{"system": PERSON_SYSTEM, "value": str(document["person_id"])}]
        + [
            {"system": SOURCE_SYSTEM + str(r["source"]), "value": str(r["person_ref"])}
            for r in document.get("records", [])
        ],
        "gender": _GENDER.get(document.get("sex") or "U", "unknown"),
    }
    if document.get("name"):
        patient["name"] = [{"text": document["name"]}]  # masked
    if document.get("birth_date"):
        patient["birthDate"] = document["birth_date"]
    return patient


def _immunization(dose: dict[str, Any], person_id: Any, patient_ref: str) -> dict[str, Any]:
    coding = (
        [{"system": PRODUCT_SYSTEM, "code": dose["product"], "display": dose.get("product_name")}]
        if dose.get("product")
        else []
    )
    text = dose.get("vaccine_text") or dose.get("product_name") or "unknown"
    vaccine_code: dict[str, Any] = {"text": text}
    if coding:
        vaccine_code["coding"] = [{k: v for k, v in coding[0].items() if v}]
    immunization: dict[str, Any] = {
        "resourceType": "Immunization",
        "id": _uuid(person_id, "dose", dose["dose_number"], dose["date"]),
        "status": "completed",
        "vaccineCode": vaccine_code,
        "patient": {"reference": patient_ref},
        "occurrenceDateTime": dose["date"],
        "primarySource": dose.get("administering_source") is not None,
        "protocolApplied": [{"series": dose["kind"], "doseNumberPositiveInt": dose["dose_number"]}],
    }
    if dose.get("lot_number"):
        immunization["lotNumber"] = str(dose["lot_number"])
    if dose.get("manufacturer"):
        immunization["manufacturer"] = {"display": dose["manufacturer"]}
    if dose.get("site"):
        immunization["location"] = {"display": str(dose["site"])}
    notes = []
    if dose.get("reported_by"):
        notes.append(
            "reported by "
            + ", ".join(
                f"{r['source']}/{r['person_ref']} (dose_seq {r.get('dose_seq')})"
                for r in dose["reported_by"]
            )
        )
    if dose.get("flags"):
        notes.append("flags: " + ", ".join(dose["flags"]))
    if not dose.get("valid", True):
        notes.append("not a valid dose under the schedule rules")
    if notes:
        immunization["note"] = [{"text": n} for n in notes]
    return immunization


def fhir_bundle(document: dict[str, Any]) -> dict[str, Any]:
    """One FHIR R4 ``collection`` Bundle: the Patient, then one Immunization per dose."""
    person_id = document["person_id"]
    patient_id = _uuid(person_id, "patient")
    patient_ref = f"urn:uuid:{patient_id}"
    entries = [{"fullUrl": patient_ref, "resource": _patient(document, patient_id)}]
    for dose in document.get("doses", []):
        resource = _immunization(dose, person_id, patient_ref)
        entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource})
    return {
        "resourceType": "Bundle",
        "id": _uuid(person_id, "bundle"),
        "type": "collection",
        "identifier": {"system": PERSON_SYSTEM, "value": str(person_id)},
        "entry": entries,
    }
