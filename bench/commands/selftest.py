"""``bench selftest``: a codec's conformance checks."""

from __future__ import annotations

import argparse
from typing import Any

from bench.commands.common import check_device, split_names


def cmd_selftest(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from audiocodecs import get_codec
    from bench.selftest import selftest

    check_device(args.device)
    all_ok = True
    for name in split_names(args.codecs):
        codec = get_codec(name, device=args.device)
        checks = selftest(codec)
        ok = all(c.ok for c in checks)
        all_ok &= ok
        rows = [[c.name, c.status.upper() if c.status == "fail" else c.status, c.detail]
                for c in checks]  # fmt: skip
        print(f"## {name}\n")
        print(tabulate(rows, headers=["check", "status", "detail"], tablefmt="github"))
        print(f"\n{name}: {'PASS' if ok else 'FAIL'} "
              f"({sum(c.status == 'fail' for c in checks)} failed, "
              f"{sum(c.status == 'skip' for c in checks)} skipped)\n")  # fmt: skip
    return 0 if all_ok else 1


def add_parser(sub: Any) -> None:
    """The ``selftest`` subcommand's arguments (``sub``: the top parser's subparsers)."""
    st = sub.add_parser(
        "selftest",
        help="conformance checks of codecs (a plugin's too): rates, codes, length, determinism, "
        "delay, batching, silence, short input",
    )
    st.add_argument("codecs", help="codec name(s), comma-separated")
    st.add_argument("--device", default="cpu")
    st.set_defaults(func=cmd_selftest)
