"""``bench list``: codecs with their availability and family names, metrics, datasets."""

from __future__ import annotations

import argparse
from typing import Any

#: ``bench list`` fits a terminal this wide (the long reasons are behind ``--why NAME``).
LIST_WIDTH = 100


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"


def cmd_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from audiocodecs import get_entry, list_codecs
    from audiocodecs.registry import describe_request, family_default, unavailable_reason
    from bench.data import dataset_entries
    from bench.metrics import get_metric, metric_names

    if args.why and args.why in metric_names():
        m = get_metric(args.why)
        reason = m.unavailable_reason()
        print(f"metric {m.name}: {m.label} ({m.unit or 'no unit'}); {m.definition}")
        print("available" if reason is None else f"unavailable: {reason}")
        return 0 if reason is None else 1
    if args.why:
        entry = get_entry(args.why)
        reason = unavailable_reason(entry)
        print(f"{describe_request(args.why)}: {entry.description} (family {entry.family})")
        if (found := family_default(args.why)) is not None:
            print(f"why this entry stands for {args.why}: {found[1]}")
        print("available" if reason is None else f"unavailable: {reason}")
        return 0 if reason is None else 1
    rows = []
    for entry, reason in list_codecs():
        if entry.test_only and not args.all:
            continue
        rows.append(
            [entry.name, entry.family, "yes" if reason is None else "no", entry.description]
        )
    # The description column takes what the other columns leave of LIST_WIDTH.
    headers = ["codec", "family", "available", "description"]
    table = tabulate([[*r[:3], ""] for r in rows], headers=headers, tablefmt="github")
    room = max(12, LIST_WIDTH - max(len(line) for line in table.splitlines()) + len(headers[3]))
    rows = [[*r[:3], _clip(r[3], room)] for r in rows]
    print(tabulate(rows, headers=headers, tablefmt="github"))
    unavailable = sum(r[2] == "no" for r in rows)
    if unavailable:
        print(f"{unavailable} unavailable: `python -m bench list --why NAME` says why and the fix")
    if not args.all:
        print("(random-init / test-only codecs hidden; --all shows them)")
    print()
    _print_family_names({r[0]: r[2] for r in rows})
    print()
    mrows = []
    for n in metric_names():
        m = get_metric(n)
        avail = "yes" if m.unavailable_reason() is None else "no"
        better = "higher" if m.higher_is_better else "lower"
        mrows.append([n, avail, "yes" if m.default else "", _clip(m.label, 50), m.unit, better])
    headers = ["metric", "available", "default", "label", "unit", "better"]
    print(tabulate(mrows, headers=headers, tablefmt="github"))
    missing = sum(r[1] == "no" for r in mrows)
    if missing:
        print(f"{missing} metric(s) unavailable: `python -m bench list --why NAME` says why + fix")
    print()
    drows = [[e.name, _clip(e.description, 60)] for e in dataset_entries()]
    drows.append(["PATH", "any folder of audio files (id = path relative to it)"])
    print(tabulate(drows, headers=["dataset", "description"], tablefmt="github"))
    return 0


def _print_family_names(available: dict[str, str]) -> None:
    """What a family name means on the command line (``--codecs dac``) and why: one entry per
    family, wrapped to :data:`LIST_WIDTH` so the reason is never cut."""
    import textwrap

    from audiocodecs.registry import family_defaults

    defaults = family_defaults()
    intro = (
        "Family names stand for one entry each (`--codecs taae,codec2,dac`), chosen for the "
        "comparison this project makes — speech at low bitrates, TAAE at 350–700 bps beside "
        "Codec 2 700C:"
    )
    print("\n".join(textwrap.wrap(intro, LIST_WIDTH)))
    width = max((len(f) for f in defaults), default=0)
    target = max((len(n) for n, _ in defaults.values()), default=0)
    for family, (name, why) in sorted(defaults.items()):
        head = f"  {family:<{width}} → {name:<{target}}  {available.get(name, '?'):<3}  "
        lines = textwrap.wrap(why, LIST_WIDTH - len(head)) or [""]
        print(head + lines[0])
        for more in lines[1:]:
            print(" " * len(head) + more)


def add_parser(sub: Any) -> None:
    """The ``list`` subcommand's arguments (``sub``: the top parser's subparsers)."""
    ls = sub.add_parser("list", help="list codecs (with availability), metrics and datasets")
    ls.add_argument(
        "--why",
        metavar="NAME",
        help="one codec or metric: its description and, if unavailable, why + the fix",
    )
    ls.add_argument("--all", action="store_true", help="include random-init / test-only codecs")
    ls.set_defaults(func=cmd_list)
