"""``vaxlink retrain``: labels from auditor decisions, a report, a swap only when asked."""

from __future__ import annotations

import json

from api.cli import main
from api.db import repository as repo
from tests.api.workbench_seed import make_workbench


def test_retrain_reports_then_swaps_only_with_apply(tmp_path, synthetic, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'vaxlink.db'}"
    for wb in make_workbench(url, tmp_path, synthetic):
        wb.login()
        items = wb.api("GET", "/queue?limit=6").json()["data"]
        for item, verdict in zip(
            items, ["same", "same", "same", "different", "different", "unsure"], strict=True
        ):
            response = wb.api(
                "POST",
                f"/items/{item['review_id']}/decision",
                json={"decision": verdict, "reason": "t"},
            )
            assert response.status_code == 200, response.text
        with wb.database.transaction() as session:
            before = repo.active_model(session=session)
        assert before is not None

    monkeypatch.setenv("VAXLINK_DATABASE_URL", url)
    monkeypatch.setenv("VAXLINK_MATCHING__MATCH_WEIGHT", "60")
    monkeypatch.setenv("VAXLINK_MATCHING__U_SAMPLE_PAIRS", "10000")
    monkeypatch.setenv("VAXLINK_MATCHING__EM_MAX_PAIRS", "50000")
    assert main(["retrain"]) == 0  # stdin is not a terminal: dry run
    out = capsys.readouterr().out
    assert "labelled pairs: 3 same, 2 different" in out
    assert "stored" in out and "retrained" in out and "precision" in out
    assert "dry run" in out

    from api.config import Settings
    from api.db.engine import Database

    database = Database(Settings())
    with database.transaction() as session:
        assert repo.active_model(session=session) == before
    assert main(["retrain", "--apply"]) == 0
    assert "model swapped in" in capsys.readouterr().out
    with database.transaction() as session:
        after = repo.active_model(session=session)
        audit, _ = repo.list_audit(session=session, person_id=None, action="model.retrain",
                                   since=None, offset=0, limit=5)  # fmt: skip
    database.dispose()
    assert after is not None and after != before
    notes = json.loads(after)["notes"]
    assert notes["labelled_same"] == 3 and notes["labelled_different"] == 2
    assert len(audit) == 1
