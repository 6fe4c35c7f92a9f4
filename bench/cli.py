"""``python -m bench``: run codecs over a dataset, publish the leaderboard, gate regressions.

A dispatcher: each subcommand's parser and handler live in :mod:`bench.commands` (one module per
subcommand, the shared options in :mod:`bench.commands.common`); this module builds the parser,
loads ``--plugin`` values and applies the one error policy (:func:`dispatch`).
"""

from __future__ import annotations

import argparse
import os
import sys

from bench.commands import COMMANDS
from bench.commands.common import LOCAL_RESULTS_DIR, RESULTS_DIR, CliError

__all__ = ["LOCAL_RESULTS_DIR", "RESULTS_DIR", "CliError", "build_parser", "dispatch", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Speech-codec benchmark: per-utterance metrics, bitrate, codebook use, "
        "throughput; leaderboard and regression gate. Exit codes: 0 ok, 1 the run failed, "
        "2 usage error. --debug (anywhere) or BENCH_DEBUG=1 shows the traceback behind an error.",
    )
    sub = p.add_subparsers(dest="cmd", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    for name, parser in sub.choices.items():
        if name in PLUGIN_COMMANDS:
            add_plugin_option(parser)
    return p


def debug_enabled(argv: list[str] | None) -> bool:
    """``--debug`` anywhere on the command line, or ``BENCH_DEBUG=1``."""
    words = sys.argv[1:] if argv is None else argv
    return "--debug" in words or os.environ.get("BENCH_DEBUG", "") not in ("", "0")


#: Subcommands that resolve codec or metric names, and so take ``--plugin``.
PLUGIN_COMMANDS = ("run", "merge", "list", "check", "report", "throughput", "score", "selftest")


def add_plugin_option(parser: argparse.ArgumentParser) -> None:
    """``--plugin FILE.py|dotted.module`` (repeatable), the door for codecs and metrics from
    outside the package (see README "Bring your own codec")."""
    parser.add_argument(
        "--plugin",
        action="append",
        default=[],
        metavar="FILE.py|MODULE",
        help="load codecs/metrics from a Python file or an importable module (repeatable; also "
        "$BENCH_PLUGINS, and installed `bench.codecs` / `bench.metrics` entry points)",
    )


def load_cli_plugins(specs: list[str]) -> None:
    """Load ``--plugin`` values; a refused plugin is one stderr line, the rest runs on. A value
    naming no file or module (a typo) is a usage error: :class:`CliError`, before any loading."""
    import bench.metrics  # noqa: F401  (registered before plugins, so a refusal rolls back alone)
    from audiocodecs.plugins import not_found
    from audiocodecs.registry import load_plugins

    missing = [why for why in map(not_found, specs) if why]
    if missing:
        raise CliError("; ".join(missing))
    load_plugins(specs)


def main(argv: list[str] | None = None) -> int:
    """Exit codes: 0 ok, 1 the run failed (a codec could not run, a regression), 2 usage error."""
    debug = debug_enabled(argv)
    if argv is None:
        argv = sys.argv[1:]
    argv = [a for a in argv if a != "--debug"]
    args = build_parser().parse_args(argv)
    if getattr(args, "plugin", None):
        try:
            load_cli_plugins(args.plugin)
        except CliError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    from audiocodecs import CodecUnavailable
    from bench.data import DatasetError
    from bench.metrics import MetricUnavailable
    from bench.runner import RunError

    return dispatch(
        args, debug, usage=(CliError, DatasetError, KeyError, ValueError),
        failures=(RunError, CodecUnavailable, MetricUnavailable, OSError),
    )  # fmt: skip


def dispatch(
    args: argparse.Namespace,
    debug: bool,
    usage: tuple[type[BaseException], ...],
    failures: tuple[type[BaseException], ...],
) -> int:
    """Run ``args.func`` with the CLIs' one error policy (shared by ``bench`` and ``taae``).

    ``usage`` errors print one line and exit 2; ``failures`` (the run could not do its job) print
    one line and exit 1; anything else is a bug: one line saying how to see the traceback, exit 1.
    ``debug`` re-raises every error with its traceback instead.
    """
    try:
        return int(args.func(args))
    except usage as exc:
        if debug:
            raise
        msg = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except failures as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line by default, the traceback on request
        if debug:
            raise
        print(
            f"internal error: {type(exc).__name__}: {exc} (rerun with --debug or BENCH_DEBUG=1 "
            "for the traceback)",
            file=sys.stderr,
        )
        return 1
