"""A hostile-input corpus, generated at test time, through `bench run` with a plain, a byte-stream
and a TAAE codec: no crash, every file a handled result or a per-utterance failure with a reason,
well-formed results and leaderboard, and an interrupted run resumes without recomputing."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.cli import main
from bench.results import load_result
from tests.conftest import speech

CODECS = ("passthrough", "opus@6kbps", "taae_fsq")


def write_corpus(folder: Path) -> dict[str, tuple[str, str]]:
    """Write the corpus; returns file id → (expected status, a word the reason must contain)."""
    folder.mkdir()
    x = speech(2.0)
    t = np.arange(32000) / 16000
    sf.write(folder / "good.wav", x, 16000)
    blob = (folder / "good.wav").read_bytes()
    (folder / "corrupt_header.wav").write_bytes(b"RIFX" + blob[4:])
    (folder / "truncated.wav").write_bytes(blob[:60])
    (folder / "empty.wav").write_bytes(b"")
    sf.write(folder / "one_sample.wav", x[:1], 16000)
    sf.write(folder / "short_0_3s.wav", x[:4800], 16000)
    sf.write(folder / "silent.wav", np.zeros(32000, dtype=np.float32), 16000)
    sf.write(folder / "dc_only.wav", np.full(32000, 0.25, dtype=np.float32), 16000,
             subtype="FLOAT")  # fmt: skip
    bad = x.copy()
    bad[50], bad[60] = np.nan, np.inf
    sf.write(folder / "nan_inf.wav", bad, 16000, subtype="FLOAT")
    square = np.sign(np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    sf.write(folder / "clipped_square.wav", square, 16000)
    sf.write(folder / "over_full_scale.wav", (x / np.abs(x).max() * 1.5).astype(np.float32),
             16000, subtype="FLOAT")  # fmt: skip
    sf.write(folder / "stereo_dead_channel.wav", np.stack([x, np.zeros_like(x)], axis=1), 16000)
    import torch

    from audiocodecs.resample import resample

    for rate in (8000, 48000):
        y = resample(torch.from_numpy(x), 16000, rate).numpy()
        sf.write(folder / f"rate_{rate}.wav", y, rate)
    sf.write(folder / "int32.wav", x, 16000, subtype="PCM_32")
    sf.write(folder / "float64.wav", x.astype(np.float64), 16000, subtype="DOUBLE")
    sf.write(folder / "wrong_extension.wav", x, 16000, format="FLAC")  # FLAC bytes, .wav name
    sf.write(folder / "unreadable.wav", x, 16000)
    os.chmod(folder / "unreadable.wav", 0)
    (folder / "dir.wav").mkdir()
    (folder / "loop.wav").symlink_to(folder / "loop.wav")
    long = np.tile(x, 300)  # 10 minutes
    sf.write(folder / "ten_minutes.flac", long, 16000)
    root = hasattr(os, "geteuid") and os.geteuid() == 0  # root reads a mode-000 file
    return {
        "good": ("ok", ""),
        "corrupt_header": ("failed", "unreadable"),
        "truncated": ("failed", ""),
        "empty": ("failed", ""),
        "one_sample": ("failed", "too short"),
        "short_0_3s": ("failed", "too short"),
        "silent": ("failed", "silent"),
        "dc_only": ("failed", "DC-only"),
        "nan_inf": ("failed", "NaN"),
        "clipped_square": ("ok", ""),
        "over_full_scale": ("failed", "over-full-scale"),
        "stereo_dead_channel": ("ok", ""),
        "rate_8000": ("ok", ""),
        "rate_48000": ("ok", ""),
        "int32": ("ok", ""),
        "float64": ("ok", ""),
        "wrong_extension": ("ok", ""),
        "unreadable": ("ok", "") if root else ("failed", "unreadable"),
        "ten_minutes": ("ok", ""),
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, tuple[str, str]]]:
    folder = tmp_path_factory.mktemp("hostile") / "corpus"
    return folder, write_corpus(folder)


@pytest.mark.parametrize("codec", CODECS)
def test_every_hostile_file_is_handled_or_a_reasoned_failure(
    codec: str, corpus: tuple[Path, dict[str, tuple[str, str]]], tmp_path: Path
) -> None:
    from audiocodecs import get_entry

    if get_entry(codec).availability() is not None:
        pytest.skip(f"{codec} unavailable here")
    folder, expected = corpus
    out = tmp_path / "results"
    code = main(["run", "--codecs", codec, "--dataset", str(folder), "--out", str(out),
                 "--workers", "0", "--metrics", "sisdr", "--no-progress"])  # fmt: skip
    assert code == 0
    res = load_result(next(out.glob(f"*/{codec}.json")))
    by_id = {u["id"]: u for u in res["utterances"]}
    # a directory and a symlink loop are not audio files: never listed, never a crash
    assert "dir" not in by_id and "loop" not in by_id
    assert set(by_id) == set(expected), set(by_id) ^ set(expected)
    for uid, (status, word) in expected.items():
        rec = by_id[uid]
        assert rec["status"] == status, (uid, rec.get("error"))
        if status == "failed":
            assert rec["stage"] == "input" and word.lower() in rec["error"].lower(), (uid, rec)
        else:
            assert rec["metrics"]["sisdr"] is not None
    assert res["counts"]["recorded"] == len(expected)
    assert main(["leaderboard", "--results", str(out)]) == 0
    assert codec in (out / "LEADERBOARD.md").read_text()


def test_an_interrupted_hostile_run_resumes_without_recomputing(
    corpus: tuple[Path, dict[str, tuple[str, str]]], tmp_path: Path
) -> None:
    from bench.data import folder_dataset
    from bench.runner import RunOptions, run_built_codec
    from tests.test_runner import CountingPassthrough, _named

    folder, expected = corpus
    ds = folder_dataset(folder)
    opts = RunOptions(metrics=["sisdr"], workers=0, out=tmp_path / "r", progress=False)
    first = _named(CountingPassthrough(stop_at=4), "passthrough")
    with pytest.raises(KeyboardInterrupt):
        run_built_codec(first, ds, opts)
    second = _named(CountingPassthrough(), "passthrough")
    res = load_result(run_built_codec(second, ds, opts))
    coded = sum(status == "ok" for status, _ in expected.values())
    assert first.calls == 4 and second.calls == coded - 3  # the 3 finished ones are not redone
    assert res["counts"]["recorded"] == len(expected)
