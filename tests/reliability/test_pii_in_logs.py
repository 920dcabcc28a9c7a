"""A full upload → link → query → review → split → relink cycle on the live service with DEBUG
logging; everything it wrote is scanned for any full ID number, 11-digit phone or full name of
the input: the server's stdout and stderr, its log and temp files, every response body
(error messages included), the stored error texts, reject reasons and the audit log. 0 allowed.

One exception, by design (issue 18): the auditor's pair evidence in the workbench shows both
names in full; those bodies are still scanned for ID numbers and phones, which it shows only
where they differ."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from sqlalchemy import text

from api.config import Settings
from api.db.engine import Database
from tests.reliability import harness


def secrets_of(synthetic) -> dict[str, set[str]]:
    """Every full ID number (as written, 15- and 18-digit), phone and name of the input."""
    doses = synthetic.doses
    ids = {v for v in doses["id_number"] if v} | {p.id_number for p in synthetic.persons}
    phones = {v for v in doses["phone"] if v} | {p.phone for p in synthetic.persons}
    names = {v for v in doses["name"] if v} | {p.name for p in synthetic.persons}
    return {"id": ids, "phone": phones, "name": names}


def hits(corpus: str, secrets: dict[str, set[str]]) -> list[str]:
    out = []
    for kind, values in secrets.items():
        for value in values:
            if kind == "name":
                found = re.search(
                    rf"(?<![\u4e00-\u9fff]){re.escape(value)}(?![\u4e00-\u9fff])", corpus
                )
            else:
                found = re.search(rf"(?<![0-9]){re.escape(value)}(?![0-9Xx])", corpus)
            if found:
                start = max(0, found.start() - 60)
                out.append(f"{kind}: …{corpus[start : found.end() + 60]!r}…")
    return out


@pytest.mark.slow
def test_no_personal_data_written_anywhere(backend, fresh_url, tmp_path, synthetic, files):
    # strict thresholds (as tests/api/workbench_seed.py) so the small set leaves review pairs
    server = harness.LiveServer(fresh_url, tmp_path, verbose=True,
                                env={"VAXLINK_MATCHING__MATCH_WEIGHT": "60"})  # fmt: skip
    tokens = harness.create_keys(fresh_url)
    server.start()
    bodies: list[str] = []
    auditor_evidence: list[str] = []  # the workbench's pair evidence: full names by design
    person, other = synthetic.persons[5], synthetic.persons[6]

    def call(method: str, path: str, who: str | None = None, **kwargs) -> httpx.Response:
        headers = kwargs.pop("headers", {})
        if who:
            headers["Authorization"] = f"Bearer {tokens[who]}"
        response = httpx.request(method, server.base + path, headers=headers, timeout=120, **kwargs)
        evidence = method == "GET" and path.startswith("/review/api/items/")
        (auditor_evidence if evidence else bodies).append(response.text)
        return response

    try:
        for who, content in files:
            assert (
                call("POST", "/v1/batches", who, files={"file": ("x.csv", content)}).status_code
                == 200
            )
        # rows putting identifiers where they do not belong (and so into reject reasons)
        bad = ("source,person_ref,name,id_number,birth_date,phone,dose_date,vaccine\n"
               f"11,B1,{person.id_number},,{person.phone},{person.phone},{person.id_number},x\n"
               f"11,B2,,,{person.name},,{person.name},{person.phone}\n"
               f"77,B3,{person.name},{person.id_number},1990-01-01,{person.phone},2021-01-01,x\n"
               f"11,B4,{person.name},,{person.phone},,2021-01-01,x\n")  # fmt: skip
        bad_batch = call("POST", "/v1/batches", "up11", files={"file": ("bad.csv", bad.encode())})
        assert bad_batch.json()["counts"]["rows_rejected"] == 3
        assert bad_batch.json()["counts"]["rows_with_field_issues"] == 1  # B4's birth date
        call("GET", f"/v1/batches/{bad_batch.json()['batch_id']}/rejects", "up11")
        call("GET", f"/v1/batches/{bad_batch.json()['batch_id']}/rejects?format=csv", "up11")
        call("GET", f"/v1/batches/{bad_batch.json()['batch_id']}/field-issues", "up11")
        call("GET", f"/v1/batches/{bad_batch.json()['batch_id']}/field-issues?format=csv", "up11")
        # malformed requests carrying identifiers: the 422 must not echo them
        call("POST", "/v1/histories/query", "aggregator",
             json={"identities": [{"id_number": person.id_number * 3, "name": person.name * 40}]})  # fmt: skip
        call(
            "POST",
            "/v1/batches",
            "up11",
            json={"rows": [{"name": person.name, "x": [person.phone]}]},
        )
        call("POST", "/v1/batches", "up11", json={"rows": person.id_number})
        query = call("POST", "/v1/histories/query", "aggregator", json={"identities": [
            {"id_number": person.id_number, "name": person.name},
            {"id_number": person.id_number, "name": other.name},
            {"id_number": other.id_number, "name": other.name}], "purpose": "PII scan"})  # fmt: skip
        found = query.json()["results"][0]
        assert found["found"], query.text
        pid = found["history"]["person_id"]
        call("GET", f"/v1/persons/{pid}", "aggregator")
        call("GET", f"/v1/persons/{pid}", "auditor")
        reviews = call("GET", "/v1/reviews", "auditor").json()["data"]
        assert reviews, "the synthetic data leaves pairs for review"
        review_id = reviews[0]["review_id"]
        assert call("GET", f"/v1/reviews/{review_id}", "auditor").status_code == 200
        decision = call("POST", f"/v1/reviews/{review_id}/decision", "auditor",
                        json={"decision": "same", "reason": "same person, checked by phone"}).json()  # fmt: skip
        merged = decision["person_ids"][0]
        records = call("GET", f"/v1/persons/{merged}", "auditor").json()["records"]
        assert len(records) > 1, records
        split = call("POST", f"/v1/persons/{merged}/split", "auditor",
                     json={"record_ids": [records[0]["record_id"]], "reason": "split for the scan"})  # fmt: skip
        assert split.status_code == 200, split.text
        undo = call("POST", f"/v1/decisions/{split.json()['decision_id']}/undo", "auditor",
                    json={"reason": "undo"})  # fmt: skip
        assert undo.status_code == 200, undo.text
        review_id = reviews[1]["review_id"] if len(reviews) > 1 else review_id
        # the workbench: sign in, queue, pair, decision, undo, person, overview
        login = httpx.post(f"{server.base}/review/login", data={"key": tokens["auditor"]})
        assert login.status_code == 303, login.text
        workbench = {
            "Cookie": f"vx_session={login.cookies['vx_session']}",
            "X-Vaxlink-Request": "1",
        }
        for path in ("/review/api/queue", f"/review/api/items/{review_id}", "/review/api/overview",
                     f"/review/api/persons/{pid}", "/review", f"/review/pair/{review_id}"):  # fmt: skip
            assert call("GET", path, headers=dict(workbench)).status_code == 200, path
        decided = call("POST", f"/review/api/items/{review_id}/decision", headers=dict(workbench),
                       json={"decision": "different", "reason": ""})  # fmt: skip
        assert decided.status_code == 200, decided.text
        assert (
            call(
                "POST", "/review/api/undo", headers=dict(workbench), json={"reason": ""}
            ).status_code
            == 200
        )
        assert call("POST", "/v1/relink", "admin").status_code == 200
        call("GET", "/v1/audit?limit=1000", "admin")
        call("GET", "/metrics")
    finally:
        server.stop()

    database = Database(Settings(database_url=fresh_url, migrate_on_start=False))
    with database.transaction() as session:
        stored = [
            *session.scalars(text("SELECT coalesce(error, '') FROM batches")),
            *session.scalars(text("SELECT reason FROM rejected_rows")),
            *session.scalars(text("SELECT reason FROM field_issues")),
            *(
                json.dumps(list(r), ensure_ascii=False)
                for r in session.execute(
                    text("SELECT action, target, reason, detail FROM audit_entries")
                )
            ),  # fmt: skip
            *session.scalars(text("SELECT reason FROM decisions")),
        ]
    database.dispose()
    leftovers = [p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file()
                 and p.suffix not in (".db", ".db-wal", ".db-shm") and "writelock" not in p.name]  # fmt: skip
    corpus = "\n".join([server.output(), *bodies, *stored, *leftovers])
    assert " DEBUG vaxlink.api.uploads: batch " in server.output(), "DEBUG logging was on"
    assert hits(corpus, secrets_of(synthetic)) == []
    assert auditor_evidence, "the auditor's pair evidence was read"
    no_names = {k: v for k, v in secrets_of(synthetic).items() if k != "name"}
    assert hits("\n".join(auditor_evidence), no_names) == []
