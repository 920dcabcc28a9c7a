"""``vaxlink serve``: run the HTTP API (migrating the database named by VAXLINK_DATABASE_URL)."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vaxlink serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")


def run(args: argparse.Namespace) -> int:
    """Start uvicorn with the app factory."""
    import uvicorn

    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,  # keep the masking log handler installed by the CLI
        access_log=False,  # the app logs route templates, never raw paths
    )
    return 0
