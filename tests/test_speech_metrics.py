"""Sanity of the model-based metrics on real speech from ../shared: WER, speaker similarity and
DistillMOS move the right way under a 4 kHz low-pass, speakers are told apart, the recogniser is
deterministic across file order, and passthrough's WER is the reference's own."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from bench.data import read_transcripts
from bench.metrics import get_metric
from bench.metrics.wer import recognise, word_errors
from tests.conftest import SHARED_TEST_CLEAN

#: short utterances of two speakers (1089 and 1221)
IDS = ("1089-134686-0001", "1089-134686-0008", "1221-135766-0001", "1221-135766-0002")


@pytest.fixture(scope="module")
def utterances() -> list[tuple[str, np.ndarray, str]]:
    words = read_transcripts(SHARED_TEST_CLEAN) if SHARED_TEST_CLEAN.is_dir() else {}
    out = []
    for uid in IDS:
        path = SHARED_TEST_CLEAN / f"{uid}.flac"
        if not path.is_file() or uid not in words:
            pytest.skip(f"{path} or its transcript absent")
        audio, _ = sf.read(str(path), dtype="float32")
        out.append((uid, audio, words[uid]))
    return out


def _lowpass_4k(x: np.ndarray) -> np.ndarray:
    from audiocodecs.resample import resample

    t = torch.from_numpy(x)
    return resample(resample(t, 16000, 8000), 8000, 16000)[: len(x)].numpy().astype(np.float32)


def test_a_4_khz_low_pass_raises_wer_and_lowers_similarity_and_distillmos(
    utterances: list[tuple[str, np.ndarray, str]],
) -> None:
    errors_clean = errors_lp = words = 0
    sims, mos_clean, mos_lp = [], [], []
    for _, x, text in utterances:
        lp = _lowpass_4k(x)
        e, n = word_errors(text, recognise(x))
        e2, _ = word_errors(text, recognise(lp))
        errors_clean, errors_lp, words = errors_clean + e, errors_lp + e2, words + n
        sims.append(get_metric("spk_sim")(x, lp))
        mos_clean.append(get_metric("distillmos")(x, x))
        mos_lp.append(get_metric("distillmos")(x, lp))
    assert errors_lp > errors_clean, (errors_lp, errors_clean, words)
    assert max(sims) < 0.995 and min(sims) > 0.7
    assert np.mean(mos_lp) < np.mean(mos_clean)


def test_different_speakers_are_less_similar_than_the_same_speaker(
    utterances: list[tuple[str, np.ndarray, str]],
) -> None:
    a1, a2, b1, b2 = (x for _, x, _ in utterances)
    sim = get_metric("spk_sim")
    same = min(sim(a1, a2), sim(b1, b2))
    different = max(sim(a1, b1), sim(a1, b2), sim(a2, b1), sim(a2, b2))
    assert same > different, (same, different)


def test_recognition_does_not_depend_on_file_order(
    utterances: list[tuple[str, np.ndarray, str]],
) -> None:
    x = utterances[0][1]
    first = recognise(x)
    for _, other, _ in utterances[1:]:
        recognise(_lowpass_4k(other))
    assert recognise(x) == first


def test_passthrough_wer_is_the_references_own(
    utterances: list[tuple[str, np.ndarray, str]], tmp_path: Path
) -> None:
    from bench.cli import main
    from bench.results import load_result

    folder = tmp_path / "tc"
    folder.mkdir()
    lines = []
    for uid, x, text in utterances[:2]:
        sf.write(folder / f"{uid}.flac", x, 16000)
        lines.append(f"{uid} {text}")
    (folder / "trans.txt").write_text("\n".join(lines) + "\n")
    out = tmp_path / "results"
    assert main(["run", "--codecs", "passthrough", "--dataset", str(folder), "--out", str(out),
                 "--workers", "0", "--metrics", "wer", "--no-progress"]) == 0  # fmt: skip
    res = load_result(next(out.glob("*/passthrough.json")))
    errors = words = 0
    for uid, x, text in utterances[:2]:
        e, n = word_errors(text, recognise(x))
        errors, words = errors + e, words + n
    assert res["summary"]["wer"]["mean"] == pytest.approx(100 * errors / words)
    assert res["summary"]["wer"]["weight_sum"] == words
