"""Uploads: idempotency, rejects with reasons, province rule, size limit, crash mid-batch."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import api.services.uploads
from api.db import models as m
from api.db import repository as repo
from tests.api.conftest import make_service


def test_upload_then_same_file_again_is_a_duplicate(service, synthetic):
    first = service.upload("up11", synthetic.csv("11"))
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "done" and body["duplicate"] is False
    n_rows = int((synthetic.doses["source"] == "11").sum())
    assert body["counts"]["rows_accepted"] == n_rows
    assert body["counts"]["rows_rejected"] == 0
    assert body["counts"]["persons_new"] > 0

    again = service.upload("up11", synthetic.csv("11"), filename="renamed.csv")
    assert again.status_code == 200
    assert again.json()["batch_id"] == body["batch_id"]
    assert again.json()["duplicate"] is True
    with service.database.transaction() as session:
        assert repo.count_batches(session=session) == {"done": 1}
    status = service.client.get(f"/v1/batches/{body['batch_id']}", headers=service.auth("up11"))
    assert status.json()["status"] == "done"
    assert status.json()["counts"] == body["counts"]


def test_bad_rows_are_rejected_with_reasons_and_good_rows_kept(service, synthetic):
    good = synthetic.csv("31").decode("utf-8").splitlines()
    header = good[0]
    bad = [
        "31,BAD1,,,张三,男,1990-01-01,,2021-02-30,新冠疫苗,,1,",  # impossible dose date
        "31,BAD2,,,王五,男,1990-01-01,,,新冠疫苗,,1,",  # dose date missing
        "44,BAD3,,,李四,男,1990-01-01,,2021-03-01,新冠疫苗,,1,",  # another province
        "31,KEPT1,,,,男,1990-01-01,,2021-03-01,新冠疫苗,,1,",  # neither name nor ID: a dose
        "31,KEPT2,,,赵六,男,1966-90-20,,2021-03-01,新冠疫苗,,1,",  # bad birth date: a dose
    ]
    content = "\n".join([header, *good[1:], *bad]).encode("utf-8")
    response = service.upload("up31", content)
    assert response.status_code == 200, response.text
    counts = response.json()["counts"]
    assert counts["rows_accepted"] == len(good) - 1 + 2
    assert counts["rows_rejected"] == 3
    rejects = service.client.get(
        f"/v1/batches/{response.json()['batch_id']}/rejects", headers=service.auth("up31")
    ).json()
    assert rejects["count"] == 3
    by_row = {r["row"]: r for r in rejects["data"]}
    first_bad = len(good) + 1
    assert by_row[first_bad]["field"] == "dose_date"
    assert by_row[first_bad + 1]["field"] in ("dose_date", "source")
    assert "province 31 only" in by_row[first_bad + 2]["reason"]
    assert all(r["reason"] for r in rejects["data"])
    csv_text = service.client.get(
        f"/v1/batches/{response.json()['batch_id']}/rejects?format=csv",
        headers=service.auth("up31"),
    ).text
    assert csv_text.startswith("file,row,source,field,reason")


def test_kept_rows_name_their_unusable_field(service, synthetic):
    """A dose kept with an identity field treated as missing is listed under /field-issues,
    naming the row and the field, without the raw value; a foreign row is only a reject."""
    good = synthetic.csv("31").decode("utf-8").splitlines()
    bad = [
        "31,KEPT1,,,,男,1990-01-01,,2021-03-01,新冠疫苗,,1,",  # neither name nor ID
        "31,KEPT2,,,赵六,男,1966-90-20,,2021-03-01,新冠疫苗,,1,",  # impossible birth date
        "44,FOREIGN,,,钱七,男,2999-01-01,,2021-03-01,新冠疫苗,,1,",  # rejected whole
    ]
    response = service.upload("up31", "\n".join([*good, *bad]).encode("utf-8"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["counts"]["rows_with_field_issues"] == 2
    assert body["counts"]["rows_rejected"] == 1
    url = f"/v1/batches/{body['batch_id']}/field-issues"
    issues = service.client.get(url, headers=service.auth("up31")).json()
    first_bad = len(good) + 1
    assert {(r["row"], r["field"]) for r in issues["data"]} == {
        (first_bad, "name"),
        (first_bad + 1, "birth_date"),
    }
    assert issues["count"] == 2
    assert all("treated as missing" in r["reason"] or "of its own" in r["reason"]
               for r in issues["data"])  # fmt: skip
    assert not any("赵六" in r["reason"] or "钱七" in r["reason"] for r in issues["data"])
    csv_text = service.client.get(f"{url}?format=csv", headers=service.auth("up31")).text
    assert csv_text.splitlines()[0] == "file,row,source,field,reason"
    assert len(csv_text.splitlines()) == 3
    status = service.client.get(f"/v1/batches/{body['batch_id']}", headers=service.auth("up31"))
    assert status.json()["counts"]["rows_with_field_issues"] == 2
    other = service.client.get(url, headers=service.auth("up11"))
    assert other.status_code == 403


def test_json_rows_upload(service):
    rows = [
        {"person_ref": "J1", "id_number": "", "name": "赵六", "birth_date": "1980-05-05",
         "dose_date": "2021-04-01", "vaccine": "新冠病毒灭活疫苗(Vero细胞) 北京生物"},
        {"person_ref": "J2", "name": "", "dose_date": "2021-04-01", "vaccine": "x"},
    ]  # fmt: skip
    response = service.client.post("/v1/batches", headers=service.auth("up44"), json={"rows": rows})
    assert response.status_code == 200, response.text
    # J2 has neither name nor ID: its dose is kept as a person record of its own.
    assert response.json()["counts"]["rows_accepted"] == 2
    assert response.json()["counts"]["rows_rejected"] == 0


def test_crash_mid_batch_leaves_nothing_and_retry_succeeds(service, synthetic, monkeypatch):
    calls = {"n": 0}
    real = api.services.uploads.link_scope

    def failing(*args, **kwargs):
        calls["n"] += 1
        real(*args, **kwargs)  # the batch's rows and persons are written…
        raise RuntimeError("disk on fire")  # …then the process "crashes"

    monkeypatch.setattr(api.services.uploads, "link_scope", failing)
    response = service.upload("up11", synthetic.csv("11"))
    assert response.status_code == 500
    assert response.json()["status"] == "failed"
    failed_id = response.json()["batch_id"]
    assert calls["n"] == 1
    with service.database.transaction() as session:
        assert repo.person_partition(session=session) == {}
        assert repo.count_batches(session=session) == {"failed": 1}
        assert repo.load_doses(session=session, record_ids=None).empty
        assert repo.review_backlog(session=session) == 0
    status = service.client.get(f"/v1/batches/{failed_id}", headers=service.auth("up11"))
    assert status.json()["status"] == "failed"

    monkeypatch.setattr(api.services.uploads, "link_scope", real)
    retry = service.upload("up11", synthetic.csv("11"))
    assert retry.status_code == 200, retry.text
    assert retry.json()["duplicate"] is False
    assert retry.json()["batch_id"] != failed_id
    with service.database.transaction() as session:
        assert len(repo.person_partition(session=session)) == sum(
            1 for (s, _) in synthetic.truth if s == "11"
        )


def test_upload_over_the_size_limit_is_413(database_url, tmp_path, synthetic):
    for svc in make_service(database_url, tmp_path, max_upload_bytes=2048):
        response = svc.upload("up11", synthetic.csv("11"))
        assert response.status_code == 413
        assert "exceeds" in response.json()["detail"]


def test_uploader_reads_only_its_own_batches(service, synthetic):
    batch_id = service.upload("up11", synthetic.csv("11")).json()["batch_id"]
    assert (
        service.client.get(f"/v1/batches/{batch_id}", headers=service.auth("up31")).status_code
        == 403
    )
    assert (
        service.client.get(f"/v1/batches/{batch_id}", headers=service.auth("admin")).status_code
        == 200
    )


@pytest.mark.parametrize("content", [b"just,some\n1,2\n", b"\x00\x01binary"])
def test_unreadable_file_is_422(service, content):
    assert service.upload("up11", content).status_code == 422


def test_rows_without_person_ref_are_registrations_of_their_own_per_upload(service, synthetic):
    header = synthetic.csv("31").decode("utf-8").splitlines()[0]
    for k, name in enumerate(("孙八", "周九")):  # the same file row in two uploads
        content = f"{header}\n31,,,,{name},女,1990-01-0{k + 1},,2021-03-01,科兴,,1,".encode()
        response = service.upload("up31", content)
        assert response.status_code == 200, response.text
        assert response.json()["counts"]["rows_accepted"] == 1
    with service.database.transaction() as session:
        refs = session.scalars(select(m.PersonRecord.person_ref)).all()
    made = [r for r in refs if r.startswith("~row:")]
    assert len(made) == 2 and len(set(made)) == 2


def test_each_uploaded_row_is_normalised_once(service, synthetic, monkeypatch):
    """The batch's rows are normalised before its transaction and linked as they are; rows
    stored earlier are read back and normalised once per batch that touches them."""
    import matcher.job
    from matcher.normalise import normalise_doses

    normalised: list[int] = []

    def counting(frame, **kwargs):
        normalised.append(len(frame))
        return normalise_doses(frame, **kwargs)

    monkeypatch.setattr(api.services.uploads, "normalise_doses", counting)
    monkeypatch.setattr(matcher.job, "normalise_doses", counting)
    first = service.upload("up11", synthetic.csv("11"))
    assert first.status_code == 200, first.text
    rows = first.json()["counts"]["rows_accepted"]
    assert rows > 0 and sum(normalised) == rows  # the store was empty: nothing read back
    normalised.clear()
    second = service.upload("up31", synthetic.csv("31"))
    assert second.status_code == 200, second.text
    uploaded = second.json()["counts"]["rows_accepted"]
    with service.database.transaction() as session:
        stored = len(repo.load_doses(session=session, record_ids=None))
    assert normalised[0] == uploaded  # the upload itself
    assert sum(normalised[1:]) <= stored - uploaded  # earlier rows, each at most once
