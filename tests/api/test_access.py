"""History queries, audit, logs without personal data, operations (roles: test_access_matrix)."""

from __future__ import annotations

import re

import pytest

from tests.api.factories import PROVINCES


def _upload_all(service, synthetic):
    for province in PROVINCES:
        assert service.upload(f"up{province}", synthetic.csv(province)).status_code == 200


def _query(service, who, identities):
    return service.client.post(
        "/v1/histories/query", headers=service.auth(who), json={"identities": identities}
    )


def test_history_query_found_unknown_and_name_mismatch_alike(service, synthetic):
    _upload_all(service, synthetic)
    known = synthetic.persons[1]
    other = synthetic.persons[2]
    response = _query(
        service,
        "aggregator",
        [
            {"id_type": "resident_id", "id_number": known.id_number, "name": known.name},
            {"id_type": "resident_id", "id_number": known.id_number, "name": other.name},
            {"id_type": "resident_id", "id_number": "110101199001010000", "name": known.name},
        ],
    )
    assert response.status_code == 200, response.text
    found, mismatch, unknown = response.json()["results"]
    assert found["found"] is True
    history = found["history"]
    assert set(history) >= {"person_id", "records", "identifiers", "name", "doses", "status"}
    assert history["identifiers"] and all("*" in i for i in history["identifiers"])
    assert known.id_number not in response.text and known.name not in response.text
    assert all(d["lot_number"] is None for d in history["doses"])
    assert mismatch == unknown == {"found": False, "history": None}
    audit = service.client.get("/v1/audit?action=history.query", headers=service.auth("admin"))
    assert audit.json()["count"] == 3
    assert known.id_number not in audit.text

    person = service.client.get(
        f"/v1/persons/{history['person_id']}", headers=service.auth("aggregator")
    )
    assert person.status_code == 200
    assert all(r["person_ref"] is None for r in person.json()["records"])
    reads = service.client.get("/v1/audit?action=person.read", headers=service.auth("admin"))
    assert reads.json()["data"][0]["person_id"] == history["person_id"]
    assert (
        service.client.get("/v1/persons/Pnope", headers=service.auth("auditor")).status_code == 404
    )


def test_query_limits(service):
    ident = {"id_type": "resident_id", "id_number": "1", "name": "张三"}
    assert _query(service, "aggregator", [ident] * 6).status_code == 422
    assert _query(service, "aggregator", []).status_code == 422


def test_logs_never_contain_personal_data(service, synthetic, masked_log):
    _upload_all(service, synthetic)
    person = synthetic.persons[3]
    _query(service, "aggregator", [{"id_number": person.id_number, "name": person.name}])
    service.upload(
        "up11",
        b"source,person_ref,name,dose_date,vaccine\n11,Z,"
        + person.id_number.encode()
        + b",2099-01-01,x\n",
    )
    text = "\n".join(r.getMessage() for r in masked_log.records)
    assert masked_log.records, "expected request logs"
    for p in synthetic.persons:
        assert p.id_number not in text and p.phone not in text
        assert not re.search(re.escape(p.name), text)


def test_health_metrics_and_docs(service, synthetic):
    assert service.client.get("/healthz").json() == {"status": "ok"}
    service.upload("up11", synthetic.csv("11"))
    metrics = service.client.get("/metrics").text
    assert (
        'vaxlink_http_requests_total{method="POST",route="/v1/batches",status="200"} 1' in metrics
    )
    assert "vaxlink_http_request_duration_seconds_bucket" in metrics
    assert 'vaxlink_batches{status="done"} 1' in metrics
    assert "vaxlink_review_backlog" in metrics
    assert service.client.get("/docs").status_code == 200
    paths = service.client.get("/openapi.json").json()["paths"]
    assert "/v1/histories/query" in paths and "/v1/batches" in paths


def test_audit_log_is_append_only(service):
    from sqlalchemy import text

    from api.db import repository as repo

    with service.database.transaction() as session:
        repo.add_audit(session=session, actor=None, action="test")
    with pytest.raises(Exception, match="append-only"):
        with service.database.transaction() as session:
            session.execute(text("DELETE FROM audit_entries"))


def test_migrations_match_models(service):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from api.db.models import Base

    with service.database.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
