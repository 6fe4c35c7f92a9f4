"""``bench weights``: list, fetch or install pretrained weight files."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def cmd_weights(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from audiocodecs.weights import install, specs

    if args.weights_cmd == "install":
        spec, status = install(args.file, args.as_label)
        print(f"installed {spec.label} at {spec.path}: {status}")
        return 0
    if args.weights_cmd == "fetch":
        return _fetch_weights(args)
    rows = []
    all_ok = True
    for s in specs():
        ok, status = s.check()
        all_ok &= ok
        rows.append([s.label, s.codecs, str(s.path), status])
    print(tabulate(rows, headers=["weights", "codecs", "expected at", "status"], tablefmt="github"))
    return 0 if all_ok or not args.strict else 1


def _fetch_weights(args: argparse.Namespace) -> int:
    """``bench weights fetch NAME``: every file NAME needs, each placed or refused on its own."""
    from audiocodecs.weights import select
    from bench.data.download import DownloadError, NetworkError, fetch_weights, mirror_url

    failed = 0
    for spec in select(args.name):
        url = mirror_url(args.mirror, spec.url) if args.mirror else None
        try:
            status = fetch_weights(spec, url, progress=not args.no_progress)
        except NetworkError as exc:
            failed += 1
            print(f"error: {spec.label}: {exc} — offline, fetch that URL on another machine and "
                  "run `python -m bench weights install FILE`", file=sys.stderr)  # fmt: skip
            continue
        except DownloadError as exc:
            failed += 1
            print(f"error: {spec.label}: {exc}", file=sys.stderr)
            continue
        except KeyboardInterrupt:
            print(f"\ninterrupted: the bytes so far are kept beside {spec.path} (.part); rerun "
                  "the same command to resume", file=sys.stderr)  # fmt: skip
            return 130
        print(f"{spec.label}: {spec.path}: {status}")
    return 1 if failed else 0


def add_parser(sub: Any) -> None:
    """The ``weights`` subcommand's arguments (``sub``: the top parser's subparsers)."""
    w = sub.add_parser(
        "weights",
        help="list pretrained weight files (place, URL, checksum), fetch one or install one",
    )
    w.add_argument("--strict", action="store_true", help="exit 1 if any file is absent or bad")
    wsub = w.add_subparsers(dest="weights_cmd")
    wi = wsub.add_parser("install", help="verify a downloaded weight file and copy it into place")
    wi.add_argument("file", help="the downloaded file")
    wi.add_argument(
        "--as", dest="as_label", help="which weight file it is (default: by checksum or name)"
    )
    wf = wsub.add_parser(
        "fetch",
        help="download weight files from their recorded URL (needs internet), verify the "
        "published checksum and place them where the codec looks; resumes an interrupted "
        "download",
    )
    wf.add_argument(
        "name",
        help="a weight file (`python -m bench weights` lists them: dac_16khz, encodec_24khz, "
        "lyra …) or a codec or family name (dac, encodec_24khz@3kbps): the files it loads",
    )
    wf.add_argument(
        "--mirror",
        metavar="BASE_URL",
        help="fetch the same file names from this base URL instead of the recorded one (a local "
        "mirror); the published checksum is still checked",
    )
    wf.add_argument("--no-progress", action="store_true", help="no progress bar")
    w.set_defaults(func=cmd_weights)
