"""``bench data``: download / verify evaluation data."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bench.commands.common import CliError


def cmd_data(args: argparse.Namespace) -> int:
    if args.data_cmd == "download":
        from bench.data.download import download_librispeech_test_clean

        kwargs = {"url": args.url} if args.url else {}
        path = download_librispeech_test_clean(Path(args.dest), **kwargs)
        print(
            f"LibriSpeech test-clean is at {path}; "
            f"use --dataset librispeech-test-clean --data {path}"
        )
        return 0
    if args.data_cmd == "verify":
        from bench.data import get_dataset
        from bench.data.verify import verify_dataset

        ds = get_dataset(args.dataset, args.data)
        ok, report = verify_dataset(ds)
        print(report)
        return 0 if ok else 1
    raise CliError("usage: python -m bench data {download,verify} …")


def add_parser(sub: Any) -> None:
    """The ``data`` subcommand's arguments (``sub``: the top parser's subparsers)."""
    d = sub.add_parser("data", help="download / verify evaluation data")
    dsub = d.add_subparsers(dest="data_cmd", required=True)
    dl = dsub.add_parser(
        "download", help="fetch and verify LibriSpeech test-clean (needs internet)"
    )
    dl.add_argument("--dest", required=True, help="folder to extract into")
    dl.add_argument("--url", help="archive URL or local path (default: the official openslr URL)")
    dv = dsub.add_parser("verify", help="check a dataset's files against its pinned manifest")
    dv.add_argument("--dataset", default="librispeech-test-clean")
    dv.add_argument("--data", help="local folder")
    d.set_defaults(func=cmd_data)
