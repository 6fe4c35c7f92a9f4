"""Shared fixtures: real speech from ../shared/data/speech, else from the embedded set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
SHARED_SPEECH = REPO.parent / "shared" / "data" / "speech"
SHARED_TEST_CLEAN = SHARED_SPEECH / "librispeech" / "test-clean"


def _speech_files() -> list[Path]:
    # The shared test-clean set is FLAC (it was WAV once): glob every audio suffix, so a format
    # change can never silently switch the tests to the fallback set.
    files = sorted(p for p in SHARED_TEST_CLEAN.glob("*") if p.suffix.lower() in (".wav", ".flac"))
    if not files:
        files = sorted((REPO / "bench" / "data" / "default").glob("*.flac"))
    return files


def speech(seconds: float, index: int = 0, offset: float = 0.5) -> np.ndarray:
    """A real-speech clip at 16 kHz, mono float32, ``seconds`` long."""
    files = _speech_files()
    if not files:
        pytest.skip(
            "no real speech available (../shared/data/speech and bench/data/default absent)"
        )
    data, sr = sf.read(str(files[index % len(files)]), dtype="float32", always_2d=True)
    assert sr == 16000
    x = data[:, 0]
    start = int(offset * sr)
    n = int(seconds * sr)
    clip = x[start : start + n]
    if len(clip) < n:
        clip = np.pad(clip, (0, n - len(clip)))
    return clip.astype(np.float32)


def speech_clips(seconds: float, count: int = 8, offset: float = 0.5) -> list[np.ndarray]:
    """``count`` real-speech clips from different files, so a check never hinges on one file."""
    return [speech(seconds, index=i, offset=offset) for i in range(count)]


@pytest.fixture
def shared_test_clean() -> Path:
    if not SHARED_TEST_CLEAN.is_dir():
        pytest.skip(f"shared test-clean audio not found at {SHARED_TEST_CLEAN}")
    return SHARED_TEST_CLEAN


@pytest.fixture
def speech_folder(tmp_path: Path) -> Path:
    """A folder of three 1.5 s real-speech clips (16 kHz WAV)."""
    folder = tmp_path / "speech"
    folder.mkdir()
    for i in range(3):
        sf.write(folder / f"clip{i}.wav", speech(1.5, index=i), 16000, subtype="PCM_16")
    return folder
