"""A seeded workbench service (strict thresholds so the small synthetic set yields review items)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.auth import Role
from api.config import Settings
from api.db import models
from api.db import repository as repo
from api.db.engine import Database
from api.db.repository import workbench as rrepo
from api.main import create_app
from matcher.settings import MatchSettings
from tests.api.factories import PROVINCES, Synthetic

STRICT = MatchSettings(u_sample_pairs=10_000, em_max_pairs=50_000, match_weight=60.0)
ROLES = (
    ("admin", Role.ADMIN, None), ("auditor", Role.AUDITOR, None),
    ("auditor2", Role.AUDITOR, None), ("aggregator", Role.AGGREGATOR, None),
    ("up11", Role.UPLOADER, "11"), ("up31", Role.UPLOADER, "31"), ("up44", Role.UPLOADER, "44"),
)  # fmt: skip


@dataclass
class Workbench:
    """An app with data, a key per role and an https test client (the cookie is Secure)."""

    app: FastAPI
    client: TestClient
    database: Database
    settings: Settings
    keys: dict[str, str]

    def login(self, who: str = "auditor") -> int:
        response = self.client.post(
            "/review/login", data={"key": self.keys[who]}, follow_redirects=False
        )
        return response.status_code

    def api(self, method: str, path: str, **kwargs: object):
        headers = {"X-Vaxlink-Request": "1"} if method != "GET" else {}
        return self.client.request(method, "/review/api" + path, headers=headers, **kwargs)  # type: ignore[arg-type]


STRICT_MERGING = MatchSettings(u_sample_pairs=10_000, em_max_pairs=50_000, match_weight=15.0)
# STRICT_MERGING with a wider review band: the hand-made cases (tests.api.workbench_cases),
# twins and a record without an ID among them, reach the queue.
REVIEWING = MatchSettings(
    u_sample_pairs=10_000, em_max_pairs=50_000, match_weight=15.0, review_weight=-10.0
)


def build_app(
    url: str, tmp_path: Path, matching: MatchSettings = STRICT, **overrides: object
) -> tuple[FastAPI, dict[str, str]]:
    """An app on ``url`` with one key per role (labels = the role names above).

    ``STRICT`` sends every cross-record pair to review; ``STRICT_MERGING`` merges the clear
    ones too (persons across provinces) and leaves about 45 pairs for review.
    """
    settings = Settings(
        database_url=url, matching=matching, upload_dir=tmp_path, session_secret="test-secret",
        **overrides,  # type: ignore[arg-type]
    )  # fmt: skip
    app = create_app(settings)
    keys: dict[str, str] = {}
    with app.state.database.transaction() as session:
        for who, role, province in ROLES:
            key = repo.create_key(session=session, role=role, province=province, label=who)
            assert key.token is not None
            keys[who] = key.token
    return app, keys


def upload_all(client: TestClient, keys: dict[str, str], synthetic: Synthetic) -> None:
    """Every province's export through the HTTP API."""
    for province in PROVINCES:
        response = client.post(
            "/v1/batches",
            headers={"Authorization": f"Bearer {keys[f'up{province}']}"},
            files={"file": ("export.csv", synthetic.csv(province), "text/csv")},
        )
        assert response.status_code == 200, response.text


def ensure_reviews(database: Database, minimum: int = 3) -> int:
    """Open review items; extra items are made from stored records if linking left too few."""
    with database.transaction() as session:
        have = rrepo.progress(session=session, actor_key_id=0, since=models.utcnow())["open"]
        if have >= minimum:
            return have
        partition = repo.person_partition(session=session)
        records = repo.records_by_ids(
            session=session, record_ids=repo.all_record_ids(session=session)
        )
        by_person: dict[str | None, list[repo.RecordInfo]] = {}
        for record in records:
            by_person.setdefault(record.person_id, []).append(record)
        rows = []
        singles = [rs[0] for rs in by_person.values() if len(rs) == 1]
        for a, b in zip(singles[0::2], singles[1::2], strict=False):
            if len(rows) >= minimum - have:
                break
            rows.append(
                repo.ReviewRow(
                    record_l=min(a.record_id, b.record_id), record_r=max(a.record_id, b.record_id),
                    match_weight=2.5, band="mid", province_l=a.source, province_r=b.source,
                    birth_year=1980, evidence={"levels": {}, "weights": {}, "rules_fired": []},
                )
            )  # fmt: skip
        assert partition
        rrepo.insert_review_items(session=session, rows=rows)
        return have + len(rows)


def make_workbench(url: str, tmp_path: Path, synthetic: Synthetic) -> Iterator[Workbench]:
    """Seeded workbench with an https TestClient."""
    app, keys = build_app(url, tmp_path)
    with TestClient(app, base_url="https://testserver") as client:
        upload_all(client, keys, synthetic)
        ensure_reviews(app.state.database)
        yield Workbench(app, client, app.state.database, _settings(app), keys)


def _settings(app: FastAPI) -> Settings:
    settings: Settings = app.state.settings
    return settings
