"""Evaluation datasets: a registry of named sets (the embedded default set, LibriSpeech test-clean,
its pinned 122-utterance subset) plus any folder of audio.

Every dataset is an ordered list of :class:`Utterance` (id + path) with an id hash that goes into
every result file and journal, so two results can only be compared when they were scored on the
same audio. A new named dataset is one function decorated with :func:`register_dataset`.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_DIR = PACKAGE_DIR / "default"
MANIFEST_DIR = PACKAGE_DIR / "manifests"
LIBRISPEECH_MANIFEST = MANIFEST_DIR / "librispeech-test-clean.tsv"
#: The 122 test-clean utterances (32 speakers) shipped in ``../shared``: ids + PCM content hashes.
SUBSET_122_MANIFEST = MANIFEST_DIR / "librispeech-test-clean-122.tsv"
#: Environment variable naming a local LibriSpeech test-clean folder.
LIBRISPEECH_ENV = "LIBRISPEECH_TEST_CLEAN"
#: Where this project's shared data puts test-clean (used when neither --data nor the env is set).
SHARED_TEST_CLEAN = PACKAGE_DIR.parent.parent.parent / "shared/data/speech/librispeech/test-clean"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au")


class DatasetError(ValueError):
    """A dataset cannot be built (missing folder, manifest mismatch …); one clear line."""


@dataclass(frozen=True)
class Utterance:
    """One evaluation item: a stable id and the file it comes from."""

    id: str
    path: Path
    sha256_pcm: str | None = None  # expected content hash where the manifest pins one
    speaker: str | None = None
    num_samples: int | None = None  # expected length at 16 kHz where the manifest pins one
    transcript: str | None = None  # reference words (LibriSpeech-style, upper case) where known


@dataclass
class Dataset:
    """An ordered, pinned list of utterances.

    Attributes:
        name: ``default``, ``librispeech-test-clean`` or ``folder:<name>``.
        slug: folder name for results (``librispeech-test-clean-4utt`` for a partial copy).
        utterances: deterministic order (sorted by id).
        source: where the audio was read from.
        notes: what is known about completeness / verification.
    """

    name: str
    slug: str
    utterances: list[Utterance]
    source: str
    notes: list[str] = field(default_factory=list)
    manifest_size: int | None = None
    root: Path | None = None  # folder the utterance files are recorded relative to

    def relpath(self, utt: Utterance) -> str:
        """The utterance's file relative to the dataset folder (never a machine path)."""
        if self.root is not None:
            try:
                return str(utt.path.resolve().relative_to(self.root.resolve()))
            except ValueError:
                pass
        return utt.path.name

    @property
    def ids_hash(self) -> str:
        """SHA-256 over the sorted utterance ids (what was scored)."""
        return hashlib.sha256("\n".join(u.id for u in self.utterances).encode()).hexdigest()

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "slug": self.slug,
            "num_utterances": len(self.utterances),
            "manifest_size": self.manifest_size,
            "ids_sha256": self.ids_hash,
            "source": self.source,
            "notes": self.notes,
        }

    def shard(self, index: int, count: int) -> Dataset:
        """Every ``count``-th utterance starting at ``index`` (``--shard index/count``)."""
        if not 0 <= index < count:
            raise DatasetError(f"shard must be I/N with 0 ≤ I < N, not {index}/{count}")
        return Dataset(
            self.name,
            f"{self.slug}-shard{index}of{count}",
            self.utterances[index::count],
            self.source,
            [*self.notes, f"shard {index} of {count} (every {count}th utterance from {index})"],
            self.manifest_size,
            self.root,
        )

    def subset(self, ids: list[str]) -> Dataset:
        """The utterances whose id is in ``ids``, in dataset order."""
        keep = set(ids)
        missing = keep - {u.id for u in self.utterances}
        if missing:
            raise DatasetError(f"{self.name}: ids not in dataset: {', '.join(sorted(missing)[:5])}")
        utts = [u for u in self.utterances if u.id in keep]
        return Dataset(
            self.name, self.slug, utts, self.source, list(self.notes), self.manifest_size, self.root
        )


def read_transcripts(root: Path) -> dict[str, str]:
    """``{utterance id: transcript}`` from every LibriSpeech-style ``*trans.txt`` under ``root``
    (``<id> <WORDS …>`` per line: the per-chapter files of LibriSpeech and the shared folders'
    single ``trans.txt``)."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*trans.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            uid, _, words = line.strip().partition(" ")
            if uid and words:
                out[uid] = words.strip()
    return out


def with_transcripts(utts: list[Utterance], transcripts: dict[str, str]) -> list[Utterance]:
    import dataclasses

    return [
        dataclasses.replace(u, transcript=transcripts[u.id]) if u.id in transcripts else u
        for u in utts
    ]


def _read_tsv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def default_dataset() -> Dataset:
    """The real-speech set shipped in the package (``bench/data/default/ATTRIBUTION.md``)."""
    manifest = DEFAULT_DIR / "manifest.tsv"
    if not manifest.is_file():
        raise DatasetError(f"embedded dataset manifest missing: {manifest} (broken install?)")
    utts = []
    for row in _read_tsv(manifest):
        path = DEFAULT_DIR / row["file"]
        if not path.is_file():
            raise DatasetError(f"embedded dataset file missing: {path} (broken install?)")
        words = (row.get("transcript") or "").strip().upper() or None
        utts.append(
            Utterance(row["id"], path, row.get("sha256_pcm") or None, row.get("speaker"),
                      transcript=words)
        )  # fmt: skip
    utts.sort(key=lambda u: u.id)
    return Dataset(
        "default",
        "default",
        utts,
        source=str(DEFAULT_DIR.relative_to(PACKAGE_DIR.parent.parent)),
        notes=["embedded real read speech; see bench/data/default/ATTRIBUTION.md"],
        manifest_size=len(utts),
        root=DEFAULT_DIR,
    )


def _find_audio(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())


def librispeech_test_clean(root: str | Path | None) -> Dataset:
    """LibriSpeech test-clean from a local folder, checked against the pinned manifest.

    ``root`` may be the ``LibriSpeech`` folder, its ``test-clean`` folder, or any folder holding the
    ``<speaker>-<chapter>-<utt>.flac|wav`` files (nested or flat). Files whose id is not in the
    manifest are an error; ids of the manifest that are absent are allowed and reported (a partial
    copy gets a ``-<N>utt`` slug so its results are never confused with the full set's).
    """
    if root is None:
        root = os.environ.get(LIBRISPEECH_ENV)
    if not root:
        raise DatasetError(
            "librispeech-test-clean needs a local copy: pass --data PATH or set "
            f"{LIBRISPEECH_ENV}=PATH (get it with `python -m bench data download --dest DIR`)"
        )
    root = Path(root)
    if (root / "LibriSpeech" / "test-clean").is_dir():
        root = root / "LibriSpeech" / "test-clean"
    elif (root / "test-clean").is_dir():
        root = root / "test-clean"
    if not root.is_dir():
        raise DatasetError(f"LibriSpeech test-clean folder not found: {root}")
    if not LIBRISPEECH_MANIFEST.is_file():
        raise DatasetError(f"pinned manifest missing: {LIBRISPEECH_MANIFEST}")
    manifest = {row["id"]: row for row in _read_tsv(LIBRISPEECH_MANIFEST)}
    found: dict[str, Path] = {}
    unknown: list[str] = []
    for p in _find_audio(root):
        uid = p.stem
        if uid in manifest:
            if uid in found:
                raise DatasetError(f"utterance {uid} found twice: {found[uid]} and {p}")
            found[uid] = p
        else:
            unknown.append(p.name)
    if unknown:
        raise DatasetError(
            f"{len(unknown)} audio file(s) in {root} are not LibriSpeech test-clean utterances "
            f"(e.g. {', '.join(unknown[:3])}); point --data at a test-clean folder"
        )
    if not found:
        raise DatasetError(f"no LibriSpeech test-clean audio under {root}")
    utts = [
        Utterance(
            uid,
            found[uid],
            manifest[uid].get("sha256_pcm") or None,
            uid.split("-")[0],
            int(manifest[uid]["num_samples"]) if manifest[uid].get("num_samples") else None,
        )
        for uid in sorted(found)
    ]
    utts = with_transcripts(utts, read_transcripts(root))
    n, total = len(utts), len(manifest)
    complete = n == total
    notes = [f"{n} of {total} pinned test-clean utterances present"]
    ids_hash = hashlib.sha256("\n".join(u.id for u in utts).encode()).hexdigest()[:8]
    return Dataset(
        "librispeech-test-clean",
        # two partial copies with the same count but other ids must never share a slug
        "librispeech-test-clean" if complete else f"librispeech-test-clean-{n}utt-{ids_hash}",
        utts,
        source=display_path(root),
        notes=notes,
        manifest_size=total,
        root=root,
    )


def display_path(path: Path) -> str:
    """``path`` relative to the repository's parent folder when inside it, else as given.

    Result files are committed, so a dataset source under the project's own tree (``../shared``)
    is recorded without the machine's absolute prefix.
    """
    # ``../shared`` may be a symlink to a folder elsewhere, or the path may arrive resolved:
    # try the lexical path, then both sides with links resolved, and last the shared folder's
    # resolved location mapped back to its name beside the repository.
    parent = PACKAGE_DIR.parent.parent.parent
    candidates = [
        (os.path.abspath(path), os.path.abspath(parent), ""),
        (str(Path(path).resolve()), str(parent.resolve()), ""),
        (str(Path(path).resolve()), str((parent / "shared").resolve()), "shared"),
    ]
    for target, base, prefix in candidates:
        rel = os.path.relpath(target, base)
        if rel != ".." and not rel.startswith(".." + os.sep):
            return os.path.normpath(os.path.join("..", prefix, rel))
    return str(path)


def test_clean_122(root: str | Path | None) -> Dataset:
    """The pinned 122-utterance, 32-speaker subset of test-clean shipped in ``../shared``.

    Resolves ``root`` like :func:`librispeech_test_clean` (``--data``, else
    ``$LIBRISPEECH_TEST_CLEAN``, else ``../shared/data/speech/librispeech/test-clean``); the folder
    may hold the full test-clean. Every one of the 122 ids must be present; their PCM content is
    pinned by SHA-256 (checked by ``bench data verify`` and per utterance during a run).
    """
    if root is None and not os.environ.get(LIBRISPEECH_ENV):
        if not SHARED_TEST_CLEAN.is_dir():
            raise DatasetError(
                "librispeech-test-clean-122 needs LibriSpeech test-clean: pass --data PATH, set "
                f"{LIBRISPEECH_ENV}=PATH, or put the project's shared data at {SHARED_TEST_CLEAN}"
            )
        root = SHARED_TEST_CLEAN
    full = librispeech_test_clean(root)
    pinned = _read_tsv(SUBSET_122_MANIFEST)
    have = {u.id: u for u in full.utterances}
    missing = [r["id"] for r in pinned if r["id"] not in have]
    if missing:
        raise DatasetError(
            f"{len(missing)} of the {len(pinned)} pinned utterances are missing under "
            f"{full.source} (e.g. {', '.join(missing[:3])}); it needs LibriSpeech test-clean"
        )
    utts = [
        Utterance(r["id"], have[r["id"]].path, r["sha256_pcm"], r["speaker"], int(r["num_samples"]),
                  have[r["id"]].transcript)
        for r in pinned
    ]  # fmt: skip
    utts.sort(key=lambda u: u.id)
    return Dataset(
        "librispeech-test-clean-122",
        "librispeech-test-clean-122",
        utts,
        source=full.source,
        notes=[
            f"pinned subset of LibriSpeech test-clean: {len(utts)} utterances, "
            f"{len({u.speaker for u in utts})} speakers ({SUBSET_122_MANIFEST.name})"
        ],
        manifest_size=len(pinned),
        root=full.root,
    )


def folder_dataset(path: str | Path) -> Dataset:
    """Every audio file under ``path`` (recursive), id = path relative to it without suffix."""
    root = Path(path)
    if not root.is_dir():
        raise DatasetError(
            f"not a dataset name or folder: {path!s} (valid names: {', '.join(dataset_names())})"
        )
    files = _find_audio(root)
    if not files:
        raise DatasetError(f"no audio files ({', '.join(AUDIO_SUFFIXES)}) under {root}")
    utts = [Utterance(str(p.relative_to(root).with_suffix("")), p) for p in files]
    # transcripts keyed by file stem (LibriSpeech ids), wherever a *trans.txt sits below root
    words = read_transcripts(root)
    utts = [
        Utterance(u.id, u.path, transcript=words.get(u.path.stem)) if u.path.stem in words else u
        for u in utts
    ]
    utts.sort(key=lambda u: u.id)
    ids_hash = hashlib.sha256("\n".join(u.id for u in utts).encode()).hexdigest()[:8]
    name = root.resolve().name
    return Dataset(
        f"folder:{name}",
        f"folder-{name}-{ids_hash}",
        utts,
        source=display_path(root),
        notes=["generic folder of audio files"],
        manifest_size=len(utts),
        root=root,
    )


@dataclass(frozen=True)
class DatasetEntry:
    """A named dataset: ``build(data)`` gets ``--data`` (or ``None``) and returns the dataset."""

    name: str
    build: Callable[[str | Path | None], Dataset]
    description: str


_DATASETS: dict[str, DatasetEntry] = {}


def register_dataset(
    name: str, description: str
) -> Callable[[Callable[[str | Path | None], Dataset]], Callable[[str | Path | None], Dataset]]:
    """Decorator registering a dataset builder under ``name``; duplicate names are rejected."""

    def deco(
        build: Callable[[str | Path | None], Dataset],
    ) -> Callable[[str | Path | None], Dataset]:
        if name in _DATASETS:
            raise ValueError(f"dataset name registered twice: {name!r}")
        _DATASETS[name] = DatasetEntry(name, build, description)
        return build

    return deco


def dataset_names() -> list[str]:
    """Registered dataset names, in registration order."""
    return list(_DATASETS)


def dataset_entries() -> list[DatasetEntry]:
    return list(_DATASETS.values())


register_dataset("default", "8 utterances of real read speech shipped in the package (offline)")(
    lambda data: default_dataset()
)
register_dataset(
    "librispeech-test-clean", "LibriSpeech test-clean (2,620 utterances) from --data PATH"
)(librispeech_test_clean)
register_dataset(
    "librispeech-test-clean-122",
    "pinned 122-utterance / 32-speaker subset of test-clean (../shared, or --data PATH)",
)(test_clean_122)


def get_dataset(
    spec: str | None = None,
    data: str | Path | None = None,
    limit: int | None = None,
    max_seconds: float | None = None,
) -> Dataset:
    """Resolve ``--dataset`` (name or folder) and ``--data``; apply ``--limit`` (first N by id).

    ``max_seconds`` keeps utterances no longer than that (read from file headers, not decoded).
    """
    spec = spec or "default"
    if spec in _DATASETS:
        ds = _DATASETS[spec].build(data)
    elif Path(spec).exists():
        ds = folder_dataset(spec)
    else:
        names = dataset_names()
        close = difflib.get_close_matches(spec, names, n=2, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise DatasetError(
            f"unknown dataset {spec!r}{hint} (use {', '.join(names)} or a folder path)"
        )
    if max_seconds is not None:
        import soundfile as sf

        keep = []
        for u in ds.utterances:
            try:
                info = sf.info(str(u.path))
                if info.frames / info.samplerate <= max_seconds:
                    keep.append(u)
            except Exception:
                keep.append(u)  # unreadable files stay in, to be recorded as failures
        ds.notes.append(f"filtered to utterances ≤ {max_seconds:g} s")
        ds.utterances = keep
        ds.slug += f"-max{max_seconds:g}s"
    if limit is not None:
        if limit < 1:
            raise DatasetError("--limit must be ≥ 1")
        if limit < len(ds.utterances):
            ds.utterances = ds.utterances[:limit]
            ds.notes.append(f"limited to the first {limit} utterances by id")
            ds.slug += f"-first{limit}"
    return ds
