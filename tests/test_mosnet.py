"""MOSNet: the project's PyTorch port against a TensorFlow/Keras build of the same ``cnn_blstm.h5``.

Golden scores: ``tests/golden/mosnet_reference.json``, written by
``benchmarks/mosnet_reference.py`` (TensorFlow 2.21 / Keras 3.15 on CPU, float32, features by
librosa 0.11) for 21 clips: 7 utterances (four of the in-repo default set, three test-clean
speakers from ``../shared``, each at most 6 s) clean, through Codec 2 700C and through Opus
6 kbps (the decodes are stored in ``tests/golden/mosnet_audio/``).

Tolerance: **1e-3 MOS** per clip. Measured: max |PyTorch − TensorFlow| = **3.0e-5** over the 21
clips (batched and one by one alike; float32 rounding, mostly of torch's FFT against librosa's).
The tolerance is far below every wrong choice the checks below can tell apart: zero instead of
reflect padding moves a clip by up to 0.037 here, Keras 3's ``hard_sigmoid`` instead of the saved
Keras 2 one by up to 0.40.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.metrics import get_metric
from bench.metrics import mosnet as mosnet_mod
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden" / "mosnet_reference.json"
TOLERANCE = 1e-3


def _weights_or_skip() -> None:
    reason = mosnet_mod.unavailable()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="module")
def golden() -> tuple[list[dict[str, object]], list[np.ndarray]]:
    """The golden entries whose audio is here, and that audio (checked by hash)."""
    import soundfile as sf

    from bench.audio import pcm_sha256

    entries, clips = [], []
    for entry in json.loads(GOLDEN.read_text())["clips"]:
        path = REPO / str(entry["path"])
        if not path.is_file():  # the test-clean clips live in ../shared
            continue
        wav, sr = sf.read(str(path), dtype="float32")
        assert sr == 16000
        wav = wav[: int(entry["samples"])]
        assert pcm_sha256(wav) == entry["pcm_sha256"], f"{path} is not the audio the golden scored"
        entries.append(entry)
        clips.append(wav)
    assert len(entries) >= 12, "the in-repo clips (default set and their decodes) must be there"
    return entries, clips


def _max_diff(ours: list[float], entries: list[dict[str, object]], key: str) -> float:
    return float(np.max(np.abs(np.array(ours) - np.array([e[key] for e in entries]))))


@pytest.mark.slow
def test_port_matches_the_tensorflow_reference(golden: tuple[list, list]) -> None:
    """Batched and one clip at a time, every clip within TOLERANCE of the Keras build."""
    _weights_or_skip()
    entries, clips = golden
    assert _max_diff(mosnet_mod.mosnet_scores(clips), entries, "score") < TOLERANCE
    metric = get_metric("mosnet")
    singles = [metric(c, c) for c in clips[::4]]
    assert _max_diff(singles, entries[::4], "score") < TOLERANCE


@pytest.mark.slow
def test_zero_padding_matches_its_reference_and_is_not_the_default(
    golden: tuple[list, list],
) -> None:
    """librosa ≥ 0.10's zero padding also agrees with Keras, and the golden check can tell it
    from the authors' reflection (so the default is pinned by the test, not by luck)."""
    _weights_or_skip()
    entries, clips = golden
    zero = mosnet_mod.mosnet_scores(clips, pad_mode="constant")
    assert _max_diff(zero, entries, "score_zero_pad") < TOLERANCE
    assert _max_diff(zero, entries, "score") > 5 * TOLERANCE


@pytest.mark.slow
def test_the_saved_hard_sigmoid_is_the_one_that_matches(
    golden: tuple[list, list], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Swapping in Keras 3's ``hard_sigmoid`` (relu6(x + 3) / 6) reproduces the reference built
    that way, and misses the saved model's golden scores by far."""
    _weights_or_skip()
    entries, clips = golden
    monkeypatch.setattr(mosnet_mod, "hard_sigmoid", lambda x: torch.clamp(x / 6 + 0.5, 0, 1))
    wrong = mosnet_mod.mosnet_scores(clips)
    assert _max_diff(wrong, entries, "score_keras3_hard_sigmoid") < TOLERANCE
    assert _max_diff(wrong, entries, "score") > 0.1


def test_a_clip_scores_the_same_in_any_batch() -> None:
    """Different lengths in one padded batch, and split over several batches, equal each clip
    scored alone (padding is masked in the convolutions, the backward LSTM and the mean)."""
    _weights_or_skip()
    from tests.conftest import speech

    clips = [speech(s, index=i) for i, s in enumerate((0.9, 2.3, 1.4, 3.1))]
    alone = [mosnet_mod.mosnet_scores([c])[0] for c in clips]
    together = mosnet_mod.mosnet_scores(clips)
    split = mosnet_mod.mosnet_scores(clips, batch_frames=300)
    assert np.allclose(together, alone, atol=1e-5)
    assert np.allclose(split, alone, atol=1e-5)
    assert np.ptp(alone) > 1e-3  # the clips really score differently


def test_device_argument_is_honoured() -> None:
    """The model and features go to the requested device; GPU scores equal CPU scores."""
    _weights_or_skip()
    from tests.conftest import speech

    clip = speech(2.0)
    model = mosnet_mod.load_mosnet(device="cpu")
    assert next(model.parameters()).device.type == "cpu"
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here for the GPU half")
    gpu = mosnet_mod.load_mosnet(device="cuda")
    assert next(gpu.parameters()).device.type == "cuda"
    cpu_score = mosnet_mod.mosnet_scores([clip], device="cpu")[0]
    assert mosnet_mod.mosnet_scores([clip], device="cuda")[0] == pytest.approx(cpu_score, abs=1e-3)


def test_absent_weights_make_the_metric_unavailable_naming_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nowhere" / "cnn_blstm.h5"
    monkeypatch.setenv(mosnet_mod.WEIGHTS_ENV, str(missing))
    reason = mosnet_mod.unavailable()
    assert reason is not None and str(missing) in reason and "MOSNET_WEIGHTS" in reason
    with pytest.raises(mosnet_mod.MOSNetUnavailable, match="not found at") as err:
        get_metric("mosnet")(np.zeros(4000, np.float32), np.zeros(4000, np.float32))
    assert str(missing) in str(err.value)
    # an explicit path wins over the environment, and a folder means <folder>/cnn_blstm.h5
    assert mosnet_mod.weights_path(tmp_path) == tmp_path / "cnn_blstm.h5"
    assert str(tmp_path / "cnn_blstm.h5") in str(mosnet_mod.unavailable(tmp_path))


def test_a_different_file_is_refused_not_loaded(tmp_path: Path) -> None:
    impostor = tmp_path / "cnn_blstm.h5"
    impostor.write_bytes(b"not the authors' file")
    reason = mosnet_mod.unavailable(impostor)
    assert reason is not None and "SHA-256" in reason and str(impostor) in reason
    with pytest.raises(mosnet_mod.MOSNetUnavailable):
        mosnet_mod.load_mosnet(impostor)


def test_too_short_clip_is_an_error() -> None:
    with pytest.raises(ValueError, match="too short"):
        mosnet_mod.magnitude_spectrogram(torch.zeros(256))


def test_spectrogram_has_the_authors_frame_count_and_bins() -> None:
    spec = mosnet_mod.magnitude_spectrogram(torch.randn(16000))
    assert spec.shape == (1 + 16000 // 256, 257)
    # an interior frame of a constant signal is |rfft| of the scaled symmetric Hamming window
    # (scipy.signal.windows.hamming(512, sym=True)): no log, no normalisation
    import scipy.signal

    dc = mosnet_mod.magnitude_spectrogram(torch.full((4096,), 0.5, dtype=torch.float64))
    expected = np.abs(np.fft.rfft(0.5 * scipy.signal.windows.hamming(512, sym=True)))
    assert np.allclose(dc[8].numpy(), expected, atol=1e-9)


def test_mosnet_metric_contract() -> None:
    m = get_metric("mosnet")
    assert not m.intrusive and m.higher_is_better and m.unit == "MOS"
    assert m.label == "MOSNet" and "hard_sigmoid" in m.definition
