"""``make demo``: synthetic provinces → service on SQLite → every province uploaded over HTTP.

Usage: ``python -m api.demo --persons N --out DIR``; serves http://127.0.0.1:8000 until Ctrl-C.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from pathlib import Path

import httpx

from api.auth import Role
from api.cli import main as cli_main
from api.config import Settings
from api.db import repository as repo
from api.db.engine import Database

logger = logging.getLogger("vaxlink.demo")
HOST, PORT = "127.0.0.1", 8000


def _keys(settings: Settings, provinces: list[str]) -> dict[str, str]:
    database = Database(settings)
    database.migrate()
    keys: dict[str, str] = {}
    with database.transaction() as session:
        for who, role, province in [
            ("admin", Role.ADMIN, None),
            ("auditor", Role.AUDITOR, None),
            ("aggregator", Role.AGGREGATOR, None),
            *((f"uploader-{p}", Role.UPLOADER, p) for p in provinces),
        ]:
            key = repo.create_key(session=session, role=role, province=province, label=who)
            keys[who] = key.token or ""
    database.dispose()
    return keys


def _write_example_query(export: Path, path: Path) -> Path:
    """A history query for one synthetic person, written to a file so no ID is printed."""
    import json

    from matcher.ingest import read_export

    frame = read_export(export).frame
    usable = frame[frame["id_number"].str.len().eq(18) & frame["name"].notna()]
    row = usable.iloc[0]
    identity = {"id_type": "resident_id", "id_number": row["id_number"], "name": row["name"]}
    path.write_text(json.dumps({"identities": [identity]}, ensure_ascii=False), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    """Generate, serve, upload, print keys and examples, keep serving."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--persons", type=int, default=20000)
    parser.add_argument("--out", type=Path, default=Path("var/demo"))
    parser.add_argument("--provinces", type=int, default=5)
    args = parser.parse_args(argv)
    data = args.out / "synthetic"
    if cli_main(["synth", "--persons", str(args.persons), "--provinces", str(args.provinces),
                 "--out", str(data)]) != 0:  # fmt: skip
        return 1
    db_path = args.out / "vaxlink.db"
    db_path.unlink(missing_ok=True)
    settings = Settings(database_url=f"sqlite:///{db_path}")
    files = sorted(p for p in data.glob("*.csv") if not p.name.startswith("truth"))
    keys = _keys(settings, [p.stem[:2] for p in files])

    import uvicorn

    from api.main import create_app

    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host=HOST, port=PORT, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.1)
    base = f"http://{HOST}:{PORT}"
    with httpx.Client(base_url=base, timeout=3600) as client:
        for path in files:
            with path.open("rb") as handle:
                response = client.post(
                    "/v1/batches",
                    headers={"Authorization": f"Bearer {keys['uploader-' + path.stem[:2]]}"},
                    files={"file": (path.name, handle, "text/csv")},
                )
            counts = response.json().get("counts", {})
            sys.stdout.write(f"uploaded {path.name}: HTTP {response.status_code} {counts}\n")
    query = _write_example_query(files[0], args.out / "query.json")
    out = sys.stdout
    out.write("\nDemo keys (Authorization: Bearer <key>):\n")
    for who, token in keys.items():
        out.write(f"  {who:14s} {token}\n")
    out.write(
        "\nExamples:\n"
        f"  curl -s {base}/v1/reviews?limit=3 -H 'Authorization: Bearer {keys['auditor']}'\n"
        f"  curl -s -X POST {base}/v1/histories/query -H 'Authorization: Bearer "
        f"{keys['aggregator']}' -H 'Content-Type: application/json' -d @{query}\n"
        f"  curl -s {base}/metrics\n"
        f"\nServing {base} (OpenAPI at {base}/docs); Ctrl-C to stop.\n"
    )
    out.flush()
    try:
        while thread.is_alive():
            thread.join(1.0)
    except KeyboardInterrupt:
        server.should_exit = True
        thread.join()
    return 0


if __name__ == "__main__":
    from api.logging import configure_logging

    configure_logging()
    sys.exit(main())
