"""Metrics: direction and identity behaviour for every metric; values vs peer packages."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.metrics import get_metric, metric_names, parse_metrics
from tests.conftest import speech

ALL = metric_names()


@pytest.fixture(scope="module")
def pair() -> tuple[np.ndarray, np.ndarray]:
    ref = speech(3.0)
    rng = np.random.default_rng(0)
    noisy = (ref + 0.05 * rng.standard_normal(len(ref))).astype(np.float32)
    return ref, np.clip(noisy, -1, 1)


@pytest.fixture(scope="module")
def spoken() -> tuple[np.ndarray, str]:
    """A whole shared test-clean utterance and its transcript (for metrics that need words)."""
    from bench.data import read_transcripts
    from tests.conftest import SHARED_TEST_CLEAN

    uid = "1089-134686-0000"
    path = SHARED_TEST_CLEAN / f"{uid}.flac"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    import soundfile as sf

    audio, _ = sf.read(str(path), dtype="float32")
    return audio, read_transcripts(SHARED_TEST_CLEAN)[uid]


@pytest.mark.parametrize("name", ALL)
def test_metric_prefers_the_clean_signal(
    name: str, pair: tuple[np.ndarray, np.ndarray], request: pytest.FixtureRequest
) -> None:
    m = get_metric(name)
    ref, noisy = pair
    words = None
    if m.needs_transcript:
        ref, words = request.getfixturevalue("spoken")
        rng = np.random.default_rng(0)
        noisy = np.clip(ref + 0.1 * rng.standard_normal(len(ref)), -1, 1).astype(np.float32)
    clean_score = m(ref, ref, transcript=words)
    noisy_score = m(ref, noisy, transcript=words)
    if m.higher_is_better:
        assert clean_score > noisy_score
    else:
        assert clean_score < noisy_score


@pytest.mark.parametrize("name", [n for n in ALL if get_metric(n).intrusive])
def test_intrusive_metric_is_at_its_best_on_identity(name: str) -> None:
    """Identity scores better than the faintest perturbation, for every registered metric."""
    m = get_metric(name)
    ref = speech(3.0)
    faint = (ref + 1e-3 * np.random.default_rng(1).standard_normal(len(ref))).astype(np.float32)
    if name == "spk_sim":  # an embedding similarity saturates: identity must reach ~1
        assert m(ref, ref) == pytest.approx(1.0, abs=1e-5)
        return
    same, near = m(ref, ref), m(ref, faint)
    assert (same > near) if m.higher_is_better else (same < near), (same, near)


@pytest.mark.parametrize("name", ALL)
def test_metric_declares_its_contract(name: str) -> None:
    m = get_metric(name)
    assert m.label and m.definition
    assert m.sample_rate == 16000


def test_unknown_metric_suggests_close_names() -> None:
    with pytest.raises(KeyError, match="did you mean.*pesq_wb"):
        parse_metrics("pesq_w")


def test_sisdr_matches_torchmetrics(pair: tuple[np.ndarray, np.ndarray]) -> None:
    from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio as ref_sisdr

    ref, noisy = pair
    ours = get_metric("sisdr")(ref, noisy)
    theirs = float(
        ref_sisdr(torch.from_numpy(noisy).double(), torch.from_numpy(ref).double(), zero_mean=True)
    )
    assert ours == pytest.approx(theirs, abs=1e-6)


def test_stft_distance_matches_auraloss(pair: tuple[np.ndarray, np.ndarray]) -> None:
    import auraloss

    ref, noisy = pair
    ours = get_metric("stft")(ref, noisy)
    loss = auraloss.freq.MultiResolutionSTFTLoss()
    theirs = float(loss(torch.from_numpy(noisy)[None, None], torch.from_numpy(ref)[None, None]))
    assert ours == pytest.approx(theirs, rel=1e-4)


def test_mel_distance_matches_dacs_mel_spectrogram_loss(
    pair: tuple[np.ndarray, np.ndarray],
) -> None:
    """DAC's own ``MelSpectrogramLoss`` with its published configuration (the [dac] extra)."""
    loss_mod = pytest.importorskip("dac.nn.loss")
    from audiotools import AudioSignal

    ref, noisy = pair
    loss = loss_mod.MelSpectrogramLoss(
        n_mels=[5, 10, 20, 40, 80, 160, 320],
        window_lengths=[32, 64, 128, 256, 512, 1024, 2048],
        clamp_eps=1e-5, mag_weight=0.0, log_weight=1.0, pow=1.0,
        mel_fmin=[0.0] * 7, mel_fmax=[None] * 7,
    )  # fmt: skip
    theirs = float(
        loss(AudioSignal(torch.from_numpy(noisy)[None, None], 16000),
             AudioSignal(torch.from_numpy(ref)[None, None], 16000))
    )  # fmt: skip
    assert get_metric("mel")(ref, noisy) == pytest.approx(theirs, rel=1e-5)


def _mel_distance_librosa(ref: np.ndarray, dec: np.ndarray) -> float:
    """Independent numpy/librosa implementation of DAC's multi-scale mel distance."""
    import warnings

    import librosa

    total = 0.0
    for w, n in zip(
        (32, 64, 128, 256, 512, 1024, 2048), (5, 10, 20, 40, 80, 160, 320), strict=True
    ):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fb = librosa.filters.mel(sr=16000, n_fft=w, n_mels=n)
        mels = []
        for x in (ref, dec):
            spec = np.abs(
                librosa.stft(x.astype(np.float64), n_fft=w, hop_length=w // 4, window="hann",
                             center=True, pad_mode="reflect")
            )  # fmt: skip
            mels.append(np.log10(np.maximum(fb @ spec, 1e-5)))
        total += float(np.mean(np.abs(mels[0] - mels[1])))
    return total


def test_mel_distance_matches_an_independent_librosa_implementation(
    pair: tuple[np.ndarray, np.ndarray],
) -> None:
    ref, noisy = pair
    ours = get_metric("mel")(ref, noisy)
    assert ours == pytest.approx(_mel_distance_librosa(ref, noisy), rel=2e-3)


def test_pesq_raises_on_silence_rather_than_scoring() -> None:
    silent = np.zeros(32000, dtype=np.float32)
    with pytest.raises(Exception):  # noqa: B017 - pesq raises its own NoUtterancesError
        get_metric("pesq_wb")(silent, silent)


def test_stoi_wrapper_calls_classic_stoi_at_16khz(pair: tuple[np.ndarray, np.ndarray]) -> None:
    """The wrapper's job is the variant and the rate: classic (not ESTOI) at 16 kHz. Each wrong
    choice gives a measurably different number, so the equality below pins both."""
    from pystoi import stoi

    ref, noisy = pair
    ours = get_metric("stoi")(ref, noisy)
    assert ours == pytest.approx(stoi(ref, noisy, 16000, extended=False), abs=1e-12)
    assert abs(ours - stoi(ref, noisy, 16000, extended=True)) > 0.01
    assert abs(ours - stoi(ref, noisy, 8000, extended=False)) > 0.001
    # and it falls monotonically as the noise grows
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(len(ref)).astype(np.float32)
    scores = [get_metric("stoi")(ref, np.clip(ref + a * noise, -1, 1)) for a in (0.01, 0.05, 0.2)]
    assert scores[0] > scores[1] > scores[2]


def test_metric_values_are_reproducible(
    pair: tuple[np.ndarray, np.ndarray], spoken: tuple[np.ndarray, str]
) -> None:
    ref, noisy = pair
    for name in ALL:
        m = get_metric(name)
        if m.needs_transcript:
            audio, words = spoken
            assert m(audio, audio, transcript=words) == m(audio, audio, transcript=words)
        else:
            assert m(ref, noisy) == m(ref, noisy)


@pytest.mark.parametrize("name", [n for n in ALL if get_metric(n).needs_transcript])
def test_a_missing_transcript_is_a_skip_not_an_error(name: str) -> None:
    from bench.metrics import MissingTranscript
    from bench.scoring import score

    ref = speech(1.0)
    with pytest.raises(MissingTranscript):
        get_metric(name)(ref, ref)
    res = score(ref, ref, [name])
    assert res["skipped"] == {name: "no transcript"} and not res["errors"]


def test_dnsmos_fast_path_equals_speechmos_on_real_speech() -> None:
    from speechmos import dnsmos

    from bench.metrics.dnsmos import dnsmos_ovrl
    from tests.conftest import speech_clips

    clips = speech_clips(3.0, count=3) + [speech(11.0, index=4)]  # tiled short and multi-window
    for x in clips:
        ref = float(dnsmos.run(np.clip(x, -1, 1), sr=16000)["ovrl_mos"])
        assert dnsmos_ovrl(x, x) == pytest.approx(ref, abs=1e-6)


def test_dnsmos_shared_path_gives_every_window_its_own_scores() -> None:
    """The shared trunk with recomputed window edges must reproduce each window scored alone
    (the reference per-window path) on real speech: tiled short clips and a multi-window clip."""
    from bench.metrics import dnsmos

    # 18.5 s: windows at 0…6 s and (speechmos skips 7…23 s, see window_starts) none after
    long = np.concatenate([speech(9.5, index=3), speech(9.0, index=4)])
    for x in [speech(3.2, index=1), speech(12.3, index=2), long]:
        signal, starts = dnsmos.window_starts(x)
        assert len(starts) > 1
        np.testing.assert_allclose(
            dnsmos.raw_scores_shared(signal, starts),
            dnsmos.raw_scores_per_window(dnsmos.windows(x)),
            rtol=0,
            atol=1e-6,
        )
    _, starts = dnsmos.window_starts(np.zeros(30 * 16000, dtype=np.float32))
    assert starts == [i * 16000 for i in range(7)]  # the package's float-rounding skips


def test_dnsmos_submodel_refuses_an_output_the_graph_does_not_make() -> None:
    from bench.metrics import dnsmos

    with pytest.raises(ValueError, match="no node produces"):
        dnsmos.submodel(dnsmos._model_bytes(), {dnsmos.INPUT: ["n", 144160]}, ["not_a_tensor"])


@pytest.mark.parametrize("name", ALL)
def test_metric_says_whether_it_can_run_here(name: str) -> None:
    """Every metric answers ``unavailable_reason()`` cheaply: ``None`` or a non-empty reason, and
    the :class:`Metric` (with its check) still pickles for the worker processes."""
    import pickle

    m = get_metric(name)
    reason = m.unavailable_reason()
    assert reason is None or (isinstance(reason, str) and reason.strip())
    assert pickle.loads(pickle.dumps(m)).name == name


def test_a_missing_module_is_named_with_its_fix() -> None:
    from bench.metrics import RequiresModules

    check = RequiresModules(("numpy", "no_such_module_xyz"), "pip install xyz")
    reason = check()
    assert reason is not None and "no_such_module_xyz" in reason and "pip install xyz" in reason
    assert "numpy" not in reason
    assert RequiresModules(("numpy",), "-")() is None


def test_a_broken_availability_check_is_a_reason_not_a_crash() -> None:
    from dataclasses import replace

    def boom() -> str | None:
        raise OSError("disk gone")

    m = replace(get_metric("sisdr"), unavailable=boom)
    assert "OSError: disk gone" in (m.unavailable_reason() or "")


def test_named_unavailable_metric_stops_a_run_before_any_work(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    """A named metric that cannot run fails the command at once (exit 1) with the reason;
    ``all`` leaves it out with a note instead."""
    from bench.cli import main
    from bench.metrics import require_available

    monkeypatch.setenv("MOSNET_WEIGHTS", str(tmp_path / "absent.h5"))
    out = tmp_path / "res"
    argv = ["run", "--codecs", "passthrough", "--metrics", "sisdr,mosnet", "--limit", "1",
            "--workers", "0", "--out", str(out), "--no-progress", "--no-leaderboard"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "mosnet" in err and "absent.h5" in err and "--metrics" in err
    assert not out.exists() or not list(out.rglob("*.json"))  # nothing was run
    kept = require_available(["sisdr", "mosnet"], skip=True)
    assert kept == ["sisdr"] and "skipping metric mosnet" in capsys.readouterr().err
