"""The ``vaxlink`` command: one sub-command per module in ``api/commands``."""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from api.allocator import expect_hard_exit
from matcher.errors import VaxlinkError

# name → (module under api.commands, one-line help). Modules expose add_arguments(parser)
# and run(args) -> int.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("synth", "generate synthetic provincial exports with ground truth"),
    "normalise": ("normalise", "read and normalise provincial exports; write rejects"),
    "link": ("link", "resolve identities across provincial exports and merge dose histories"),
    "evaluate": ("evaluate", "score a linkage against ground truth"),
    "serve": ("serve", "run the HTTP API service"),
    "keys": ("keys", "manage API keys"),
    "relink": ("relink", "rebuild all persons from stored records"),
    "retrain": ("retrain", "re-estimate the model with auditor decisions as labels"),
}


def _wanted_command(argv: Sequence[str] | None) -> str | None:
    """The sub-command named on the command line, if any (before parsing)."""
    args = list(sys.argv[1:] if argv is None else argv)
    names = [a for a in args if not a.startswith("-")]
    return names[0] if names and names[0] in COMMANDS else None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the named sub-command's module is imported."""
    parser = argparse.ArgumentParser(
        prog="vaxlink",
        description="Match and deduplicate vaccination records across provincial systems.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = _wanted_command(argv)
    for name, (module_name, help_text) in COMMANDS.items():
        if wanted is not None and name != wanted:
            # Only the chosen command's module is imported (start-up time); --help lists all.
            sub.add_parser(name, help=help_text, description=help_text, add_help=False)
            continue
        try:
            module = importlib.import_module(f"api.commands.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"api.commands.{module_name}":
                raise
            continue
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        command_parser.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vaxlink`` console script."""
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    from api.logging import configure_logging

    configure_logging(verbose=args.verbose)
    try:
        return int(args._run(args))
    except VaxlinkError as exc:
        print(f"vaxlink {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        logging.getLogger("vaxlink").warning("interrupted")
        return 130
    except BrokenPipeError:
        # The reader of the output went away (``vaxlink evaluate ... | head``): stop quietly,
        # as Unix tools do, and keep Python from failing again when it flushes at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as the shell reports a tool ended by a closed pipe


def run() -> None:
    """The console script: ``main``, then exit.

    During ``vaxlink link`` Python's cycle collector is off. After it (its outputs are written
    and closed by then) the process ends without tearing the interpreter down: the OS takes
    back the job's gigabytes at once, where Python would free millions of objects one by one
    (~0.3 s at 1M persons). Other commands (database connections, servers), and any run
    watched by a profiler, tracer or debugger (they write their reports at exit), exit
    normally.
    """
    fast_exit = _wanted_command(None) in FAST_EXIT_COMMANDS
    if fast_exit and not _watched():
        expect_hard_exit()
    if fast_exit:
        # A batch job leaves no cycles worth collecting, and the process ends without
        # teardown: no cycle collection at all, from the imports on (~0.1 s at start-up).
        gc.disable()
        # No matrix algebra in the job: OpenBLAS's worker threads would only take CPU time
        # from the second core (set before numpy loads; a value set by the user is kept).
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    code = main()
    if fast_exit and not _watched():
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


FAST_EXIT_COMMANDS = frozenset({"link"})


def _watched() -> bool:
    """True under a profiler, tracer, debugger or coverage, or with memray loaded."""
    return sys.getprofile() is not None or sys.gettrace() is not None or "memray" in sys.modules


if __name__ == "__main__":
    run()
