"""``vaxlink keys create --role …``: make an API key; the key alone is the last output line."""

from __future__ import annotations

import argparse

from api.auth import Role
from api.config import Settings
from api.db import repository as repo
from api.db.engine import Database


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vaxlink keys``."""
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create an API key and print it")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--province", help="2-digit province code (uploaders only, required)")
    create.add_argument("--label", default="", help="who the key is for")


def run(args: argparse.Namespace) -> int:
    """Create the key in the database named by VAXLINK_DATABASE_URL."""
    role = Role(args.role)
    if (role == Role.UPLOADER) != (args.province is not None):
        print("vaxlink keys: --province is required for uploaders and only for them")
        return 2
    if args.province is not None and not (len(args.province) == 2 and args.province.isdigit()):
        print("vaxlink keys: --province must be a 2-digit code such as 41")
        return 2
    database = Database(Settings())
    database.migrate()
    with database.transaction() as session:
        key = repo.create_key(session=session, role=role, province=args.province, label=args.label)
        repo.add_audit(
            session=session, actor=None, action="key.create", target=f"key:{key.key_id}",
            detail={"role": role.value, "province": args.province, "via": "cli"},
        )  # fmt: skip
    database.dispose()
    where = f" for province {args.province}" if args.province else ""
    print(f"created {role.value} key #{key.key_id}{where}; it is shown only once:")
    print(key.token)
    return 0
