"""Fuzzing the live service with schemathesis: every operation of its OpenAPI × every role.

``vaxlink serve`` runs in a subprocess on a store with three uploaded provinces (so there are
batches, persons, review pairs and decisions to hit). For each operation of the live
``/openapi.json`` and each role (admin, auditor, aggregator, uploader; the workbench's
``/review/api`` with an auditor session cookie) schemathesis generates valid and invalid
requests (its positive and negative modes, seeded); a share of the cases of operations with
path parameters use ids that exist. Every answer is checked: status < 500, no traceback in
the body, and a 422 names the field (``loc``) of each error.

Run: ``nice python -m benchmarks.fuzz_api --cases 10000 --out benchmarks/results/fuzz-api.json``.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

from tests.api.factories import make_synthetic
from tests.reliability import harness

ROLES = ("admin", "auditor", "aggregator", "up11")
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"/[^\"]+\", line \d+")
# full relinks rebuild every person: a few per role and mode are enough
EXPENSIVE = {("POST", "/v1/relink"): 4}


@dataclass
class FuzzReport:
    """Counts and the failing cases (first 50, with a curl line to repeat each)."""

    cases: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    per_operation: Counter[str] = field(default_factory=Counter)
    failures: list[dict[str, Any]] = field(default_factory=list)
    server_errors: int = 0
    tracebacks: int = 0
    unnamed_422: int = 0
    rounds: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases, "rounds": self.rounds, "server_errors": self.server_errors,
            "tracebacks": self.tracebacks, "unnamed_422": self.unnamed_422,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "operations": len(self.per_operation), "per_operation": dict(self.per_operation),
            "failures": self.failures[:50],
        }  # fmt: skip


def _check(report: FuzzReport, label: str, response: requests.Response, curl: str) -> None:
    report.cases += 1
    report.statuses[response.status_code] += 1
    report.per_operation[label] += 1
    body = response.text
    problems = []
    if response.status_code >= 500:
        report.server_errors += 1
        problems.append("5xx")
    if TRACEBACK.search(body):
        report.tracebacks += 1
        problems.append("traceback in body")
    if response.status_code == 422 and "json" in response.headers.get("content-type", ""):
        detail = response.json().get("detail")
        if isinstance(detail, list) and not all(
            isinstance(e, dict) and e.get("loc") for e in detail
        ):
            report.unnamed_422 += 1
            problems.append("422 without the field")
    if problems:
        report.failures.append({"operation": label, "status": response.status_code,
                                "problems": problems, "body": body[:300], "curl": curl[:2000]})  # fmt: skip


def _as_curl(request: requests.PreparedRequest) -> str:
    """A curl line repeating the request as sent (the key and cookie elided)."""
    parts = [f"curl -X {request.method}"]
    for name, value in request.headers.items():
        if name.lower() in ("authorization", "cookie"):
            value = "…"
        parts.append(f"-H {json.dumps(f'{name}: {value}', ensure_ascii=False)}")
    body = request.body
    if body:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        parts.append(f"--data-raw {json.dumps(text[:1000], ensure_ascii=False)}")
    parts.append(json.dumps(request.url))
    return " ".join(parts)


def workbench_cookie(base: str, auditor_token: str) -> str:
    """The signed session cookie of an auditor signed in to the workbench."""
    response = httpx.post(f"{base}/review/login", data={"key": auditor_token}, timeout=30)
    cookie = response.cookies.get("vx_session")
    if not cookie:
        raise RuntimeError(f"workbench sign-in failed: {response.status_code}")
    return str(cookie)


def known_ids(url: str) -> dict[str, list[Any]]:
    """Ids that exist in the store, by path parameter name."""
    from sqlalchemy import text

    from api.config import Settings
    from api.db.engine import Database

    database = Database(Settings(database_url=url, migrate_on_start=False))
    with database.transaction() as session:
        ids = {
            "batch_id": list(session.scalars(text("SELECT id FROM batches LIMIT 20"))),
            "person_id": list(session.scalars(text("SELECT person_id FROM persons LIMIT 50"))),
            "review_id": list(session.scalars(text("SELECT id FROM review_items LIMIT 50"))),
            "decision_id": list(session.scalars(text("SELECT id FROM decisions LIMIT 20"))),
        }
    database.dispose()
    return ids


def fuzz(base: str, tokens: dict[str, str], *, cases: int, seed: int,
         ids: dict[str, list[Any]] | None = None, roles: Sequence[str] = ROLES) -> FuzzReport:  # fmt: skip
    """At least ``cases`` requests, in rounds over every operation × role × mode (the seed of
    round r is ``seed + r``); hypothesis stops early where an operation has few inputs."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    cookie = workbench_cookie(base, tokens["auditor"])
    report = FuzzReport()
    http = requests.Session()
    operations = [result.ok() for result in schema.get_all_operations()]
    round_no = 0
    while report.cases < cases:
        missing = cases - report.cases
        per_operation = max(len(roles) * 2, missing // len(operations))
        _round(operations, base, tokens, cookie, per_operation, seed + round_no, ids or {},
               roles, report, http)  # fmt: skip
        round_no += 1
    http.close()
    report.rounds = round_no
    return report


def _round(operations: list[Any], base: str, tokens: dict[str, str], cookie: str,
           per_operation: int, seed: int, ids: dict[str, list[Any]], roles: Sequence[str],
           report: FuzzReport, http: requests.Session) -> None:  # fmt: skip
    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        budget = EXPENSIVE.get((operation.method.upper(), operation.path), per_operation)
        per_run = max(1, budget // (len(roles) * 2))
        path_names = [p.name for p in operation.path_parameters]
        for role in roles:
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            if operation.path.startswith("/review/api") and role == "auditor":
                headers = {"Cookie": f"vx_session={cookie}", "X-Vaxlink-Request": "1"}
            for mode in (
                schemathesis.GenerationMode.POSITIVE,
                schemathesis.GenerationMode.NEGATIVE,
            ):
                strategy = operation.as_strategy(generation_mode=mode)
                known = {n: ids[n] for n in path_names if ids.get(n)}
                if known and mode == schemathesis.GenerationMode.POSITIVE:
                    fixed = st.fixed_dictionaries({n: st.sampled_from(v) for n, v in known.items()})
                    strategy = st.one_of(
                        strategy,
                        fixed.flatmap(lambda p, o=operation: o.as_strategy(path_parameters=p)),
                    )
                _run(strategy, per_run, seed, base, headers, label, report, http)


def _run(strategy: Any, n: int, seed: int, base: str, headers: dict[str, str], label: str,
         report: FuzzReport, http: requests.Session) -> None:  # fmt: skip
    @hypothesis_seed(seed)
    @settings(max_examples=n, database=None, deadline=None, derandomize=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])  # fmt: skip
    @given(case=strategy)
    def one(case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url=base)
        merged = {
            k: v for k, v in kwargs.get("headers", {}).items() if k.lower() != "authorization"
        }
        kwargs["headers"] = {**merged, **headers}
        if kwargs.get("cookies"):
            kwargs["cookies"] = {}
        try:
            response = http.request(**kwargs, timeout=120)
        except requests.RequestException as exc:
            report.cases += 1
            report.server_errors += 1
            report.failures.append({"operation": label, "status": None,
                                    "problems": [f"no answer: {exc!r}"[:300]],
                                    "curl": f"{kwargs!r}"[:2000]})  # fmt: skip
            return
        _check(report, label, response, _as_curl(response.request))

    try:
        one()
    except Unsatisfiable:  # e.g. no invalid request exists for an operation without inputs
        pass


def seeded_service(work: Path, url: str) -> tuple[harness.LiveServer, dict[str, str]]:
    """A live server on ``url`` with the three synthetic provinces uploaded."""
    tokens = harness.create_keys(url)
    server = harness.LiveServer(url, work)
    server.start()
    synthetic = make_synthetic()
    for province in ("11", "31", "44"):
        response = server.upload(tokens[f"up{province}"], synthetic.csv(province))
        assert response.status_code == 200, response.text
    return server, tokens


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000, help="cases per backend (about)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    out: dict[str, Any] = {"seed": args.seed, "backends": {}}
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix="vaxlink-fuzz-") as tmp:
            work = Path(tmp)
            context = (
                harness.shared_pg_database("vaxlink_fuzz") if backend == "postgresql" else None
            )
            url = context.__enter__() if context else f"sqlite:///{work / 'vaxlink.db'}"
            try:
                server, tokens = seeded_service(work, url)
                started = time.monotonic()
                try:
                    report = fuzz(server.base, tokens, cases=args.cases, seed=args.seed,
                                  ids=known_ids(url))  # fmt: skip
                finally:
                    server.stop()
                result = {**report.as_dict(), "seconds": round(time.monotonic() - started, 1)}
                tracebacks_in_log = len(TRACEBACK.findall(server.output()))
                result["tracebacks_in_server_log"] = tracebacks_in_log
            finally:
                if context:
                    context.__exit__(None, None, None)
        out["backends"][backend] = result
        print(f"{backend}: {result['cases']} cases, {result['server_errors']} ≥ 500, "
              f"{result['tracebacks']} tracebacks, {result['unnamed_422']} unnamed 422, "
              f"{result['seconds']} s; statuses {result['statuses']}", flush=True)  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    return out


if __name__ == "__main__":
    main()
