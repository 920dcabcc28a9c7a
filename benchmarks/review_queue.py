"""Workbench queue latency with many open review items (issue 6: < 300 ms at 100k).

Seeds a fresh SQLite store (or ``--database-url``) with bare records and ``--items`` open
review items, signs in as an auditor and times ``GET /review/api/queue`` through the HTTP
stack (in-process client): default order, a province filter, age order, a deep page.

    python -m benchmarks.review_queue --items 100000 --repeat 20
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from fastapi.testclient import TestClient

from api.auth import Role
from api.config import Settings
from api.db import repository as repo
from api.db.repository import workbench as rrepo
from api.main import create_app
from matcher import columns as c

PROVINCES = ("11", "31", "44", "41", "51")
TARGET_MS = 300.0


def seed(app: object, *, items: int, records: int, seed: int) -> str:
    """Bare records and ``items`` open review items; returns an auditor key."""
    rng = random.Random(seed)
    database = app.state.database  # type: ignore[attr-defined]
    with database.transaction() as session:
        key = repo.create_key(session=session, role=Role.AUDITOR, province=None, label="bench")
        batch = str(uuid.uuid4())
        repo.create_batch(session=session, batch_id=batch, province="11", sha256="0" * 64,
                          filename="bench", key_id=None, status="done")  # fmt: skip
        keys = pd.DataFrame(
            {c.SOURCE: [PROVINCES[i % len(PROVINCES)] for i in range(records)],
             c.PERSON_REF: [f"B{i:07d}" for i in range(records)]}
        )  # fmt: skip
        ids, _ = repo.upsert_records(session=session, batch_id=batch, keys=keys)
        source = {rid: s for (s, _), rid in ids.items()}
        rids = sorted(source)
        pairs: set[tuple[int, int]] = set()
        while len(pairs) < items:
            a, b = rng.sample(rids, 2)
            pairs.add((min(a, b), max(a, b)))
        evidence = {"levels": {"name": 4}, "weights": {"name": 3.1}, "rules_fired": []}
        rows = []
        for a, b in sorted(pairs):
            weight = rng.uniform(0.0, 5.0)
            rows.append(
                repo.ReviewRow(
                    record_l=a, record_r=b, match_weight=weight,
                    band="high" if weight > 3.33 else "mid" if weight > 1.67 else "low",
                    province_l=source[a], province_r=source[b],
                    birth_year=rng.randint(1930, 2020), evidence=evidence,
                )
            )  # fmt: skip
        rrepo.insert_review_items(session=session, rows=rows)
    assert key.token is not None
    return key.token


def time_queries(client: TestClient, repeat: int) -> dict[str, dict[str, float]]:
    """p50 / p95 / max milliseconds per query shape."""
    shapes = {
        "default (score desc, first page)": "/review/api/queue?limit=50",
        "province filter": "/review/api/queue?province=31&limit=50",
        "age order + age filter": "/review/api/queue?sort=age_desc&age_min=30&age_max=60&limit=50",
        "deep page (offset 50,000)": "/review/api/queue?offset=50000&limit=50",
    }
    out: dict[str, dict[str, float]] = {}
    for name, path in shapes.items():
        client.get(path)  # warm
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(path)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.text
        times.sort()
        out[name] = {
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[min(len(times) - 1, int(0.95 * len(times)))], 1),
            "max_ms": round(times[-1], 1),
            "count": float(response.json()["count"]),
        }
    return out


def main(argv: Sequence[str] | None = None) -> dict[str, object]:
    """Seed, time, print; returns the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--records", type=int, default=0, help="default: enough for the pairs")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON")
    args = parser.parse_args(argv)
    records = args.records or max(50, int((2 * args.items) ** 0.5) + 50)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app(Settings(database_url=url, session_secret="bench", upload_dir=Path(tmp)))
        started = time.perf_counter()
        token = seed(app, items=args.items, records=records, seed=args.seed)
        seeded = time.perf_counter() - started
        with TestClient(app, base_url="https://bench") as client:
            login = client.post("/review/login", data={"key": token}, follow_redirects=False)
            assert login.status_code == 303, login.text
            figures = time_queries(client, args.repeat)
        app.state.database.dispose()
    default = figures["default (score desc, first page)"]["p50_ms"]
    result: dict[str, object] = {
        "items": args.items, "records": records, "seed_seconds": round(seeded, 1),
        "database": "sqlite" if url.startswith("sqlite") else url.split(":")[0],
        "queries": figures, "target_ms": TARGET_MS, "meets_target": default < TARGET_MS,
    }  # fmt: skip
    print(f"review queue with {args.items:,} open items ({result['database']}), "
          f"seeded in {seeded:.1f}s")  # fmt: skip
    for name, f in figures.items():
        print(f"  {name:<36} p50 {f['p50_ms']:7.1f} ms  p95 {f['p95_ms']:7.1f} ms  "
              f"max {f['max_ms']:7.1f} ms  ({int(f['count']):,} matching)")  # fmt: skip
    verdict = "meets" if result["meets_target"] else "MISSES"
    print(f"queue endpoint p50 {default:.1f} ms: {verdict} the {TARGET_MS:.0f} ms target")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


if __name__ == "__main__":
    main()
