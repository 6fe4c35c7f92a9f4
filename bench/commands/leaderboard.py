"""``bench leaderboard``: regenerate LEADERBOARD.md and the plots from result files."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.commands.common import RESULTS_DIR, CliError, rel


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from bench.leaderboard import load_visible, write_leaderboard

    if not load_visible(Path(args.results)):
        raise CliError(f"no result files under {args.results}; run `python -m bench run` first")
    for p in write_leaderboard(Path(args.results)):
        print(f"wrote {rel(p)}")
    return 0


def add_parser(sub: Any) -> None:
    """The ``leaderboard`` subcommand's arguments (``sub``: the top parser's subparsers)."""
    lb = sub.add_parser("leaderboard", help="regenerate LEADERBOARD.md and plots from result files")
    lb.add_argument("--results", default=str(RESULTS_DIR), help="results folder")
    lb.set_defaults(func=cmd_leaderboard)
