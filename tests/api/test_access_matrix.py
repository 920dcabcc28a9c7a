"""The access-control matrix, generated from the live OpenAPI: every operation × every caller
(each role, an uploader of another province, no key, a wrong key, a revoked key of each role).

``RULES`` says who may call each operation; an operation the OpenAPI lists without a rule
fails ``test_every_operation_has_a_rule``, so a new endpoint cannot ship without one.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from tests.api.factories import PROVINCES

PUBLIC = "anyone"
# (method, path) → roles allowed; "up" = an uploader, for its own province's data only.
RULES: dict[tuple[str, str], set[str] | str] = {
    ("POST", "/v1/batches"): {"up"},
    ("GET", "/v1/batches/{batch_id}"): {"up", "auditor", "admin"},
    ("GET", "/v1/batches/{batch_id}/rejects"): {"up", "auditor", "admin"},
    ("GET", "/v1/batches/{batch_id}/field-issues"): {"up", "auditor", "admin"},
    ("POST", "/v1/histories/query"): {"aggregator"},
    ("GET", "/v1/persons/{person_id}"): {"aggregator", "auditor"},
    ("POST", "/v1/persons/{person_id}/split"): {"auditor"},
    ("GET", "/v1/reviews"): {"auditor"},
    ("GET", "/v1/reviews/{review_id}"): {"auditor"},
    ("POST", "/v1/reviews/{review_id}/decision"): {"auditor"},
    ("POST", "/v1/decisions/{decision_id}/undo"): {"auditor"},
    ("POST", "/v1/keys"): {"admin"},
    ("DELETE", "/v1/keys/{key_id}"): {"admin"},
    ("POST", "/v1/relink"): {"admin"},
    ("GET", "/v1/audit"): {"admin"},
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    # the workbench's JSON API: an auditor's signed session cookie (no Bearer key)
    ("GET", "/review/api/queue"): {"auditor"},
    ("GET", "/review/api/items/{review_id}"): {"auditor"},
    ("POST", "/review/api/items/{review_id}/decision"): {"auditor"},
    ("POST", "/review/api/undo"): {"auditor"},
    ("POST", "/review/api/decisions/batch"): {"auditor"},
    ("POST", "/review/api/items/{review_id}/reveal"): {"auditor"},
    ("GET", "/review/api/persons/{person_id}"): {"auditor"},
    ("POST", "/review/api/persons/{person_id}/split"): {"auditor"},
    ("GET", "/review/api/overview"): {"auditor"},
}
ROLES = ("admin", "auditor", "aggregator", "up11")
CALLERS = (*ROLES, "up31", "none", "wrong", *(f"revoked-{r}" for r in ROLES))
BODIES = {
    "/v1/histories/query": {"identities": [{"id_number": "110101199003078039", "name": "张三"}]},
    "/v1/keys": {"role": "aggregator", "label": "matrix"},
    "/v1/persons/{person_id}/split": {"record_ids": [1], "reason": "matrix"},
    "/v1/reviews/{review_id}/decision": {"decision": "unsure", "reason": "matrix"},
    "/v1/decisions/{decision_id}/undo": {"reason": "matrix"},
    "/review/api/items/{review_id}/decision": {"decision": "unsure", "reason": "matrix"},
    "/review/api/undo": {"reason": "matrix"},
    "/review/api/decisions/batch": {"review_ids": [1], "decision": "unsure", "reason": "matrix"},
    "/review/api/items/{review_id}/reveal": {"record_id": 1, "reason": "matrix"},
    "/review/api/persons/{person_id}/split": {"record_ids": [1], "reason": "matrix"},
}


def operations(service) -> list[tuple[str, str, str | None]]:
    """(method, path, security scheme or None) of every operation in the live OpenAPI."""
    spec = service.client.get("/openapi.json").json()
    out = []
    for path, methods in spec["paths"].items():
        for method, operation in methods.items():
            schemes = [name for req in operation.get("security", []) for name in req]
            out.append((method.upper(), path, schemes[0] if schemes else None))
    return sorted(out)


def test_every_operation_has_a_rule(service):
    ops = operations(service)
    missing = [f"{m} {p}" for m, p, _ in ops if (m, p) not in RULES]
    assert missing == [], f"operations without an access rule (add them to RULES): {missing}"
    assert {(m, p) for m, p, _ in ops} == set(RULES), "RULES names operations that are gone"
    # an operation without a security scheme in the OpenAPI must be meant to be public
    unguarded = {(m, p) for m, p, scheme in ops if scheme is None}
    assert unguarded == {k for k, v in RULES.items() if v == PUBLIC}


def _login_cookie(service, token: str) -> str:
    response = service.client.post(
        "/review/login", data={"key": token}, follow_redirects=False
    )  # fmt: skip
    assert response.status_code == 303, response.text
    match = re.search(r"vx_session=([^;]+)", response.headers["set-cookie"])
    assert match
    service.client.cookies.clear()
    return match.group(1)


@pytest.fixture
def world(service, synthetic):
    """A store with data, a batch of province 11, signed-in and revoked callers."""
    for province in PROVINCES:
        assert service.upload(f"up{province}", synthetic.csv(province)).status_code == 200
    batch = service.upload("up11", synthetic.csv("11")).json()["batch_id"]  # the duplicate
    with service.database.transaction() as session:
        person_id = session.scalar(text("SELECT person_id FROM persons LIMIT 1"))
        review_id = session.scalar(text("SELECT id FROM review_items LIMIT 1")) or 999_999
    tokens = dict(service.keys)
    cookies = {"auditor": _login_cookie(service, tokens["auditor"])}
    for role in ROLES:  # a second key per role, then revoked (an auditor signed in first)
        body = {"role": "uploader" if role == "up11" else role, "label": f"revoked-{role}"}
        if role == "up11":
            body["province"] = "11"
        created = service.client.post("/v1/keys", headers=service.auth("admin"), json=body).json()
        tokens[f"revoked-{role}"] = created["token"]
        if role == "auditor":
            cookies["revoked-auditor"] = _login_cookie(service, created["token"])
        revoked = service.client.delete(
            f"/v1/keys/{created['key_id']}", headers=service.auth("admin")
        )  # fmt: skip
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    tokens["wrong"] = "vxk_" + "x" * 43
    ids = {"batch_id": batch, "person_id": person_id, "review_id": review_id,
           "decision_id": 999_999, "key_id": 999_999}  # fmt: skip
    return tokens, cookies, ids


def _call(service, method, path, scheme, caller, tokens, cookies, ids, synthetic):
    url = path.format(**ids)
    headers: dict[str, str] = {}
    if scheme == "APIKeyCookie":
        if caller in cookies:
            headers = {"Cookie": f"vx_session={cookies[caller]}", "X-Vaxlink-Request": "1"}
        elif caller in tokens:  # a Bearer key is no workbench session
            headers = {"Authorization": f"Bearer {tokens[caller]}"}
    elif caller in tokens:
        headers = {"Authorization": f"Bearer {tokens[caller]}"}
    service.client.cookies.clear()
    if path == "/v1/batches":
        files = {"file": ("11.csv", synthetic.csv("11"), "text/csv")}
        return service.client.post(url, headers=headers, files=files)
    if method == "GET":
        return service.client.get(url, headers=headers)
    if method == "DELETE":
        return service.client.delete(url, headers=headers)
    return service.client.post(url, headers=headers, json=BODIES.get(path, {}))


def expected(rule: set[str] | str, caller: str, path: str) -> str:
    """'pass' (not 401/403), '401' or '403' for a caller of an operation."""
    if rule == PUBLIC:
        return "pass"
    if caller in ("none", "wrong") or caller.startswith("revoked-"):
        return "401"
    role = "up" if caller.startswith("up") else caller
    if path.startswith("/review/api"):
        return "pass" if caller == "auditor" else "401"  # only an auditor can sign in
    if role not in rule:
        return "403"
    if caller == "up31" and "{batch_id}" in path:
        return "403"  # a batch of another province
    return "pass"


def test_access_matrix(service, synthetic, world):
    tokens, cookies, ids = world
    cells = 0
    wrong = []
    for method, path, scheme in operations(service):
        rule = RULES[(method, path)]
        for caller in CALLERS:
            response = _call(service, method, path, scheme, caller, tokens, cookies, ids,
                             synthetic)  # fmt: skip
            want = expected(rule, caller, path)
            got = response.status_code
            ok = got not in (401, 403) and got < 500 if want == "pass" else str(got) == want
            if path == "/v1/batches" and caller == "up31" and ok:
                ok = response.json()["counts"]["rows_accepted"] == 0  # another province's rows
            if not ok:
                wrong.append(f"{method} {path} as {caller}: {got}, expected {want}")
            cells += 1
    assert wrong == []
    assert cells == len(RULES) * len(CALLERS)
