"""Datasets: the embedded set is intact and attributed; LibriSpeech is checked vs its manifest."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.audio import pcm_sha256
from bench.data import (
    DEFAULT_DIR,
    LIBRISPEECH_MANIFEST,
    SUBSET_122_MANIFEST,
    DatasetError,
    default_dataset,
    get_dataset,
    librispeech_test_clean,
)
from bench.data.verify import verify_dataset


def test_embedded_set_matches_its_manifest_and_is_attributed() -> None:
    ds = default_dataset()
    assert len(ds.utterances) >= 5
    assert (DEFAULT_DIR / "ATTRIBUTION.md").is_file()
    total = 0.0
    for u in ds.utterances:
        data, sr = sf.read(str(u.path), dtype="float32")
        assert sr == 16000 and data.ndim == 1
        assert pcm_sha256(data) == u.sha256_pcm, u.id
        total += len(data) / sr
    assert total > 20.0
    ok, report = verify_dataset(ds)
    assert ok, report


def test_embedded_set_shares_no_speaker_label_or_audio_with_test_clean() -> None:
    """Speaker labels from the manifests (not id prefixes), and content: no embedded file is a
    pinned test-clean utterance. (The embedded readers are unnamed; their labels say so.)"""
    with open(LIBRISPEECH_MANIFEST) as f:
        speakers = {row["speaker"] for row in csv.DictReader(f, delimiter="\t")}
    with open(SUBSET_122_MANIFEST) as f:
        hashes = {row["sha256_pcm"] for row in csv.DictReader(f, delimiter="\t")}
    utts = default_dataset().utterances
    assert all(u.speaker for u in utts)
    assert not {u.speaker for u in utts} & speakers
    assert len(hashes) == 122 and not {u.sha256_pcm for u in utts} & hashes


def test_pinned_manifest_is_the_full_test_clean_list() -> None:
    with open(LIBRISPEECH_MANIFEST) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) == 2620
    assert len({r["id"] for r in rows}) == 2620
    assert len({r["speaker"] for r in rows}) == 40
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


def test_local_test_clean_copy_is_verified(shared_test_clean: Path) -> None:
    ds = librispeech_test_clean(shared_test_clean)
    n = len(ds.utterances)
    assert n == len(list(shared_test_clean.glob("*.flac"))) > 0
    assert ds.slug == f"librispeech-test-clean-{n}utt-{ds.ids_hash[:8]}"
    assert ds.manifest_size == 2620
    ok, report = verify_dataset(ds)
    assert ok, report
    # The file once shipped as 1089-134686-0001 held utterance -0002: its pinned length is what
    # tells the two apart, so a copy under the wrong name must fail verification.
    assert {u.num_samples for u in ds.utterances if u.id.startswith("1089-134686-000")} >= {52400}


def test_a_misnamed_test_clean_file_fails_verification(
    shared_test_clean: Path, tmp_path: Path
) -> None:
    src = shared_test_clean / "1089-134686-0002.flac"
    if not src.is_file():
        pytest.skip(f"{src} absent")
    (tmp_path / "1089-134686-0001.flac").write_bytes(src.read_bytes())  # the old mistake
    ok, report = verify_dataset(librispeech_test_clean(tmp_path))
    assert not ok and "1089-134686-0001" in report, report


def test_pinned_122_subset_resolves_to_shared_and_verifies(shared_test_clean: Path) -> None:
    ds = get_dataset("librispeech-test-clean-122")
    assert ds.slug == "librispeech-test-clean-122" and len(ds.utterances) == 122
    assert len({u.speaker for u in ds.utterances}) == 32
    assert all(u.sha256_pcm and u.num_samples for u in ds.utterances)
    assert not Path(ds.source).is_absolute() and ds.relpath(ds.utterances[0]).endswith(".flac")
    ok, report = verify_dataset(ds)
    assert ok, report


def test_partial_copies_with_other_ids_never_share_a_slug(
    shared_test_clean: Path, tmp_path: Path
) -> None:
    files = sorted(shared_test_clean.glob("*.flac"))[:4]
    for name, picked in (("a", files[:2]), ("b", files[2:])):
        (tmp_path / name).mkdir()
        for f in picked:
            (tmp_path / name / f.name).symlink_to(f)
    a, b = librispeech_test_clean(tmp_path / "a"), librispeech_test_clean(tmp_path / "b")
    assert len(a.utterances) == len(b.utterances) == 2
    assert a.slug != b.slug and a.ids_hash != b.ids_hash


def test_pinned_subset_names_what_is_missing(shared_test_clean: Path, tmp_path: Path) -> None:
    src = sorted(shared_test_clean.glob("*.flac"))[:1]
    (tmp_path / src[0].name).symlink_to(src[0])
    with pytest.raises(DatasetError, match="121 of the 122 pinned utterances are missing"):
        get_dataset("librispeech-test-clean-122", data=tmp_path)


def test_foreign_files_in_a_test_clean_folder_are_rejected(tmp_path: Path) -> None:
    sf.write(tmp_path / "LJ001-0001.wav", np.zeros(16000, dtype=np.float32), 16000)
    with pytest.raises(DatasetError, match="not LibriSpeech test-clean"):
        librispeech_test_clean(tmp_path)


def test_missing_test_clean_path_explains_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIBRISPEECH_TEST_CLEAN", raising=False)
    with pytest.raises(DatasetError, match="--data PATH"):
        get_dataset("librispeech-test-clean")


def test_unknown_dataset_name_suggests_valid_names() -> None:
    with pytest.raises(DatasetError, match="did you mean default"):
        get_dataset("defualt")


def test_limit_and_slug(speech_folder: Path) -> None:
    ds = get_dataset(str(speech_folder), limit=2)
    assert len(ds.utterances) == 2 and ds.slug.endswith("-first2")
    assert [u.id for u in ds.utterances] == ["clip0", "clip1"]
