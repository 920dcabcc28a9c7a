"""``vaxlink serve``: run the HTTP API (migrating the database named by VAXLINK_DATABASE_URL)."""

from __future__ import annotations

import argparse
import socket


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``vaxlink serve``."""
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on")
    parser.add_argument("--port", type=int, default=8000, help="TCP port")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")


def tcp_listener(host: str, port: int) -> socket.socket:
    """A bound TCP socket whose accepted connections get TCP_NODELAY.

    uvicorn binds the shared socket of ``--workers > 1`` with protocol 0, so asyncio does not
    set TCP_NODELAY on the connections and every response written in two parts waits for the
    client's delayed ACK (~40 ms per request). Created with ``IPPROTO_TCP`` (and the option set
    on the listener, which Linux copies to accepted sockets) they behave as with one worker.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run(args: argparse.Namespace) -> int:
    """Start uvicorn with the app factory."""
    import logging

    import uvicorn

    logging.getLogger("vaxlink.serve").debug(
        "serving on %s:%d with %d worker(s)", args.host, args.port, args.workers
    )
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "api.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_config=None,  # keep the masking log handler installed by the CLI
        access_log=False,  # the app logs route templates, never raw paths
    )
    if config.workers > 1:
        Multiprocess(config, sockets=[tcp_listener(args.host, args.port)]).run()
    else:
        uvicorn.Server(config).run()
    return 0
