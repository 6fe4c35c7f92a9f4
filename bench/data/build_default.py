"""Rebuild the embedded default speech set from the Debian package ``pocketsphinx-testdata``.

Usage::

    apt-get install pocketsphinx-testdata
    python -m bench.data.build_default \\
        --source /usr/share/pocketsphinx/test/data --out bench/data/default
    python -m bench.data.build_default --check   # rebuild in memory, compare with the shipped set

The set is deterministic: every source file is pinned by the SHA-256 of its bytes, the audio is
copied sample for sample (16 kHz mono int16, no resampling, no gain, no trimming) into 16-bit FLAC,
and ``manifest.tsv`` records each file's sample count and ``sha256_pcm`` (SHA-256 of the decoded
int16 little-endian samples, the same hash as :func:`bench.audio.pcm_sha256`), so the manifest does
not depend on the FLAC encoder's version. ``ATTRIBUTION.md`` beside the audio is maintained by hand
and is not touched by this script.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Where Debian installs the package's data.
DEFAULT_SOURCE = Path("/usr/share/pocketsphinx/test/data")
#: The shipped set, inside the installed package.
DEFAULT_OUT = Path(__file__).resolve().parent / "default"
SAMPLE_RATE = 16000
PACKAGE = "pocketsphinx-testdata"
PACKAGE_VERSION = "0.8+5prealpha+1-15"
MANIFEST_COLUMNS = (
    "id",
    "file",
    "num_samples",
    "sample_rate",
    "sha256_pcm",
    "speaker",
    "source_file",
    "transcript",
)


class BuildError(RuntimeError):
    """The source data is missing or differs from what the set was built from."""


@dataclass(frozen=True)
class SourceUtterance:
    """One utterance of the set and the package file it is copied from.

    Attributes:
        id: stable id, also the FLAC file name (``<id>.flac``).
        source: path relative to the package's data folder.
        kind: ``wav`` (RIFF, 16 kHz mono int16) or ``raw`` (headerless int16 little-endian, 16 kHz).
        source_sha256: SHA-256 of the source file's bytes in the package version above.
        speaker: speaker label (no real names are known for these recordings).
        transcript: as given by the package (lower case), or empty where it gives none.
    """

    id: str
    source: str
    kind: str
    source_sha256: str
    speaker: str
    transcript: str


_SNS = "librivox/sense_and_sensibility_01_austen_64kb-"
#: The set, in id order. Source hashes are those of pocketsphinx-testdata 0.8+5prealpha+1-15.
UTTERANCES: tuple[SourceUtterance, ...] = (
    SourceUtterance(
        "cmu-goforward",
        "goforward.raw",
        "raw",
        "f15c60ec54059d8b66e410d0064945a0b0a04ea56e1ddca1958e493c0cf70e71",
        "cmu-unknown",
        "go forward ten meters",
    ),
    SourceUtterance(
        "cmu-numbers",
        "numbers.raw",
        "raw",
        "45b5f6d3f88e36dd55b025cc9e8f1cae567583ea93f554ecdff6d09e6dd4577d",
        "cmu-unknown",
        "",
    ),
    SourceUtterance(
        "cmu-something",
        "something.raw",
        "raw",
        "eb95b74ce3f3037487e49dcfd935bbcf8c158b5f4083dd19451729c3ee694f5f",
        "cmu-unknown",
        "",
    ),
    SourceUtterance(
        "librivox-sns01-0870",
        _SNS + "0870.wav",
        "wav",
        "b0557cf95c974d930577e58e46b7f068c432a6e3afcc286563d88922b2a5315c",
        "librivox-sns01",
        "and mister john dashwood had then leisure to consider how much there might be "
        "prudently in his power to do for them",
    ),
    SourceUtterance(
        "librivox-sns01-0880",
        _SNS + "0880.wav",
        "wav",
        "fbec491ef00ee734a67f0ee318e98c51c157b479e1629ff4f4426861ecac0414",
        "librivox-sns01",
        "he was not an ill disposed young man",
    ),
    SourceUtterance(
        "librivox-sns01-0890",
        _SNS + "0890.wav",
        "wav",
        "5793ffbdee55fb8bfd284943a6866864c832d9d4accf2661cabd39915c84ee10",
        "librivox-sns01",
        "unless to be rather cold hearted and rather selfish is to be ill disposed",
    ),
    SourceUtterance(
        "librivox-sns01-0920",
        _SNS + "0920.wav",
        "wav",
        "40882414ef4cc51f3ff7a63bad0c8c87e7f595ffeb8209fbf756c8ebc5c28a59",
        "librivox-sns01",
        "had he married a more a amiable woman he might have been made still more "
        "respectable than he was",
    ),
    SourceUtterance(
        "librivox-sns01-0930",
        _SNS + "0930.wav",
        "wav",
        "954adbf0b56ac8a148cbe77b39ca18d76b5f2a1e1f405565bd786ce3e68a68b7",
        "librivox-sns01",
        "he might even have been made amiable himself",
    ),
)


def pcm_sha256(samples: np.ndarray) -> str:
    """SHA-256 of int16 ``samples`` as little-endian bytes (equals :func:`bench.audio.pcm_sha256`
    of the same audio read as float)."""
    return hashlib.sha256(np.asarray(samples, dtype="<i2").tobytes()).hexdigest()


def read_source(source_dir: Path, utt: SourceUtterance, verify: bool = True) -> np.ndarray:
    """Read one source file as int16 samples; check its byte hash when ``verify``."""
    path = source_dir / utt.source
    if not path.is_file():
        raise BuildError(
            f"missing source file {path} (apt-get install {PACKAGE}, or pass --source DIR)"
        )
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if verify and digest != utt.source_sha256:
        raise BuildError(
            f"{path}: sha256 {digest} differs from the pinned {utt.source_sha256} "
            f"({PACKAGE} {PACKAGE_VERSION}); pass --no-verify-source to build anyway"
        )
    if utt.kind == "raw":
        if len(data) % 2:
            raise BuildError(f"{path}: odd byte count for 16-bit raw audio")
        return np.frombuffer(data, dtype="<i2").astype(np.int16)
    import soundfile as sf

    info = sf.info(str(path))
    if info.samplerate != SAMPLE_RATE or info.channels != 1 or info.subtype != "PCM_16":
        raise BuildError(
            f"{path}: expected {SAMPLE_RATE} Hz mono PCM_16, got {info.samplerate} Hz "
            f"{info.channels} ch {info.subtype}"
        )
    samples, _ = sf.read(str(path), dtype="int16")
    return samples


def build(
    source_dir: Path = DEFAULT_SOURCE, out_dir: Path = DEFAULT_OUT, verify_source: bool = True
) -> list[dict[str, str]]:
    """Write ``<id>.flac`` for every utterance and ``manifest.tsv`` into ``out_dir``.

    Returns the manifest rows. Files of ``out_dir`` that are not part of the set are left alone.
    """
    import soundfile as sf

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for utt in UTTERANCES:
        samples = read_source(source_dir, utt, verify_source)
        name = f"{utt.id}.flac"
        sf.write(str(out_dir / name), samples, SAMPLE_RATE, format="FLAC", subtype="PCM_16")
        back, sr = sf.read(str(out_dir / name), dtype="int16")
        if sr != SAMPLE_RATE or not np.array_equal(back, samples):
            raise BuildError(f"{name}: FLAC round trip is not bit exact")
        rows.append(
            {
                "id": utt.id,
                "file": name,
                "num_samples": str(len(samples)),
                "sample_rate": str(SAMPLE_RATE),
                "sha256_pcm": pcm_sha256(samples),
                "speaker": utt.speaker,
                "source_file": utt.source,
                "transcript": utt.transcript,
            }
        )
    write_manifest(out_dir / "manifest.tsv", rows)
    return rows


def write_manifest(path: Path, rows: list[dict[str, str]]) -> None:
    """Write ``rows`` as a tab-separated file with :data:`MANIFEST_COLUMNS` (LF line ends)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, MANIFEST_COLUMNS, delimiter="\t", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def read_manifest(path: Path) -> list[dict[str, str]]:
    """The rows of a manifest written by :func:`write_manifest`."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def check(out_dir: Path = DEFAULT_OUT, source_dir: Path | None = None) -> list[str]:
    """Compare the shipped set with its manifest (and with the package, if ``source_dir``).

    Returns a list of problems (empty when everything matches).
    """
    import soundfile as sf

    problems: list[str] = []
    manifest = out_dir / "manifest.tsv"
    if not manifest.is_file():
        return [f"missing {manifest}"]
    rows = {r["id"]: r for r in read_manifest(manifest)}
    expected_ids = [u.id for u in UTTERANCES]
    if sorted(rows) != sorted(expected_ids):
        problems.append(f"manifest ids {sorted(rows)} differ from the build list {expected_ids}")
    for uid, row in rows.items():
        path = out_dir / row["file"]
        if not path.is_file():
            problems.append(f"{uid}: missing {path}")
            continue
        samples, sr = sf.read(str(path), dtype="int16")
        if sr != int(row["sample_rate"]) or len(samples) != int(row["num_samples"]):
            problems.append(f"{uid}: {len(samples)} samples at {sr} Hz, manifest says otherwise")
        if pcm_sha256(samples) != row["sha256_pcm"]:
            problems.append(f"{uid}: sha256_pcm differs from the manifest")
    if source_dir is not None:
        for utt in UTTERANCES:
            if utt.id not in rows:
                continue
            try:
                src = read_source(source_dir, utt)
            except BuildError as exc:
                problems.append(str(exc))
                continue
            if pcm_sha256(src) != rows[utt.id]["sha256_pcm"]:
                problems.append(f"{utt.id}: shipped audio differs from {utt.source}")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m bench.data.build_default",
        description=f"Rebuild bench/data/default from the Debian package {PACKAGE}.",
    )
    p.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="package data folder")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    p.add_argument(
        "--check",
        action="store_true",
        help="verify --out against its manifest (and --source when it exists); write nothing",
    )
    p.add_argument(
        "--no-verify-source", action="store_true", help="build even if a source hash differs"
    )
    args = p.parse_args(argv)
    try:
        if args.check:
            src = args.source if args.source.is_dir() else None
            problems = check(args.out, src)
            for line in problems:
                print(f"problem: {line}", file=sys.stderr)
            where = f" and {src}" if src else " (package not installed: source not compared)"
            print(f"{'FAILED' if problems else 'OK'}: {args.out}{where}")
            return 1 if problems else 0
        rows = build(args.source, args.out, not args.no_verify_source)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    seconds = sum(int(r["num_samples"]) for r in rows) / SAMPLE_RATE
    print(f"wrote {len(rows)} utterances ({seconds:.2f} s) and manifest.tsv to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
