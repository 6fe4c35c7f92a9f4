"""What the subcommands share: result folders, argument types, the user-error class, the
dataset/metric/output options of ``run`` and ``score``, and publishing a board."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.results import REPO_ROOT

RESULTS_DIR = REPO_ROOT / "results"


#: Where ``bench run`` / ``bench merge`` write without ``--out``: untracked (``.gitignore``), so the
#: first command a newcomer types never rewrites a committed file. ``--out results`` (or
#: ``make leaderboard`` after copying results in) is the explicit act that updates the board.
LOCAL_RESULTS_DIR = RESULTS_DIR / "local"


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def count(minimum: int) -> Callable[[str], int]:
    """argparse type: an integer ≥ ``minimum`` with a clear message otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be ≥ {minimum}, got {value}")
        return value

    return parse


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def check_device(spec: str) -> str:
    """``spec`` if torch can run on it here, else a :class:`CliError` saying why (no traceback)."""
    import torch

    try:
        dev = torch.device(spec)
    except (RuntimeError, ValueError):
        raise CliError(f"--device {spec!r} is not a torch device (cpu, cuda or cuda:N)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise CliError(f"--device {spec}: CUDA is not available on this machine (use cpu)")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise CliError(f"--device {spec}: only {torch.cuda.device_count()} CUDA device(s) here")
    elif dev.type != "cpu":
        raise CliError(f"--device {spec}: only cpu and cuda devices are supported")
    return spec


def split_names(spec: str) -> list[str]:
    return [s.strip() for s in spec.split(",") if s.strip()]


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(p)


def publish(out: Path) -> None:
    """Regenerate ``out``'s leaderboard and say whether it is the committed one."""
    from bench.leaderboard import write_leaderboard

    for p in write_leaderboard(out):
        print(f"wrote {rel(p)}")
    if out.resolve() != RESULTS_DIR.resolve():
        where = (
            "not tracked by git"
            if out.resolve().is_relative_to(LOCAL_RESULTS_DIR.resolve())
            else "a board of that folder alone"
        )
        print(
            f"results are in {rel(out)} ({where}); the committed board in "
            f"{rel(RESULTS_DIR)} changes only with `--out {rel(RESULTS_DIR)}`",
            file=sys.stderr,
        )


def zero_ok(result: dict[str, Any]) -> int:
    """1 with one stderr line when ``result`` has no ok utterance (the board still shows the
    other codecs: ``bench.compare`` leaves this one out), else 0."""
    from bench.compare import zero_ok_reason

    why = zero_ok_reason(result)
    if why is None:
        return 0
    print(f"error: {why}", file=sys.stderr)
    return 1


def add_scoring_options(parser: argparse.ArgumentParser) -> None:
    """The dataset, metric and output options ``run`` and ``score`` share."""
    parser.add_argument(
        "--dataset",
        default="default",
        help="`default` (embedded real speech, offline), `librispeech-test-clean-122` (the pinned "
        "122-utterance subset; ../shared or --data), `librispeech-test-clean` (needs --data), "
        "or a path to any folder of audio files",
    )
    parser.add_argument(
        "--data", help="local LibriSpeech test-clean folder (or env LIBRISPEECH_TEST_CLEAN)"
    )
    parser.add_argument("--limit", type=count(1), help="only the first N utterances (by id)")
    parser.add_argument(
        "--max-seconds", type=positive_float, help="only utterances at most this long"
    )
    parser.add_argument(
        "--metrics",
        help="comma-separated metric names, or `all` (default: the fast set). A named metric that "
        "cannot run here stops the command before any work; `all` skips it with a note",
    )
    parser.add_argument(
        "--workers",
        type=count(0),
        default=default_workers(),
        help="metric worker processes (default: all cores; 0 = in this process)",
    )
    parser.add_argument(
        "--out",
        default=str(LOCAL_RESULTS_DIR),
        help="results folder (default: results/local/, not tracked; `--out results` updates "
        "the committed results and leaderboard)",
    )
    parser.add_argument("--fresh", action="store_true", help="discard an interrupted run's journal")
    parser.add_argument(
        "--replace",
        action="store_true",
        help="overwrite an earlier result even where it holds metrics this run does not compute "
        "and cannot carry over (another codec config or utterance set); without it such a run "
        "stops before any work",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument(
        "--no-leaderboard", action="store_true", help="do not regenerate LEADERBOARD.md in --out"
    )
