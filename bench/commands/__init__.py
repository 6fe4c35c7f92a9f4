"""One module per ``python -m bench`` subcommand, each with its parser (``add_parser``) and its
handler (``cmd_<name>``); the options several share are in :mod:`bench.commands.common`.
:mod:`bench.cli` builds the parser from :data:`COMMANDS` in this order and dispatches.
"""

from __future__ import annotations

from bench.commands import (
    check,
    data,
    leaderboard,
    list,
    merge,
    report,
    run,
    score,
    selftest,
    throughput,
    weights,
)

#: The subcommands in the order ``--help`` lists them.
COMMANDS = (
    run, merge, list, leaderboard, check, score, selftest, weights, report, throughput, data,
)  # fmt: skip
