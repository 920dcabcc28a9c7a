"""``vaxlink relink``: rebuild every person from the stored records (decisions still apply)."""

from __future__ import annotations

import argparse

import pandas as pd

from api.config import Settings
from api.db import repository as repo
from api.db.engine import Database
from api.services.linking import link_scope


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vaxlink relink``."""
    parser.add_argument(
        "--keep-model",
        action="store_true",
        help="reuse the stored model instead of retraining on all stored records",
    )


def run(args: argparse.Namespace) -> int:
    """Relink everything in one transaction."""
    settings = Settings()
    database = Database(settings)
    database.migrate()
    with database.transaction() as session:
        stats = link_scope(
            session, set(), settings.matching, today=pd.Timestamp.today().normalize(), full=True,
            retrain=not args.keep_model,
        )  # fmt: skip
        repo.add_audit(
            session=session, actor=None, action="relink",
            detail={"retrain": not args.keep_model, "via": "cli"},
        )  # fmt: skip
    database.analyze()
    database.dispose()
    print(
        f"relinked {stats.records:,} records into {stats.persons:,} persons; "
        f"{stats.review_pairs:,} pairs for review; model "
        f"{'retrained' if stats.retrained else 'kept'}; {stats.seconds:.1f}s"
    )
    return 0
