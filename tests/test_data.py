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


def test_embedded_set_has_no_librispeech_test_clean_speaker() -> None:
    with open(LIBRISPEECH_MANIFEST) as f:
        speakers = {row["speaker"] for row in csv.DictReader(f, delimiter="\t")}
    for u in default_dataset().utterances:
        assert u.id.split("-")[0] not in speakers


def test_pinned_manifest_is_the_full_test_clean_list() -> None:
    with open(LIBRISPEECH_MANIFEST) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    assert len(rows) == 2620
    assert len({r["id"] for r in rows}) == 2620
    assert len({r["speaker"] for r in rows}) == 40
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)


def test_local_test_clean_copy_is_verified(shared_test_clean: Path) -> None:
    ds = librispeech_test_clean(shared_test_clean)
    assert ds.slug == "librispeech-test-clean-4utt"
    assert ds.manifest_size == 2620 and len(ds.utterances) == 4
    ok, report = verify_dataset(ds)
    for good in ("1221-135766-0001", "1221-135766-0002", "1995-1837-0001"):
        assert good not in report, report
    # The shared file named 1089-134686-0001 holds utterance -0002 (106,000 samples, its
    # transcript); the pinned length of -0001 is 52,400, so verification must flag it.
    n = sf.info(str(shared_test_clean / "1089-134686-0001.wav")).frames
    if n != 52400:
        assert not ok and "1089-134686-0001" in report
    else:
        assert ok, report


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
