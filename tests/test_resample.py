"""The shared resampler: 16 → N → 16 kHz passthrough is transparent below 8 kHz on every shared
test-clean file, and going down removes what the lower rate cannot carry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiocodecs import get_codec
from audiocodecs.resample import resample
from bench.metrics.sisdr import si_sdr
from tests.conftest import SHARED_TEST_CLEAN, speech


def test_identity_when_rates_match() -> None:
    x = torch.randn(1, 1, 1000)
    assert resample(x, 16000, 16000) is x


def _shared_files() -> list[Path]:
    files = sorted(SHARED_TEST_CLEAN.glob("*.flac"))
    if not files:
        pytest.skip(f"shared test-clean audio not found at {SHARED_TEST_CLEAN}")
    return files


@pytest.mark.parametrize("rate", [22050, 24000, 44100, 48000])
def test_16_n_16_is_transparent_on_every_shared_test_clean_file(rate: int) -> None:
    worst = float("inf")
    for f in _shared_files():
        x, sr = sf.read(str(f), dtype="float32")
        assert sr == 16000
        t = torch.from_numpy(x)[None, None]
        y = resample(resample(t, 16000, rate), rate, 16000)[..., : len(x)]
        assert y.shape[-1] == len(x)
        worst = min(worst, si_sdr(x, y.flatten().numpy()))
    assert worst >= 40.0, f"16 → {rate} → 16 kHz: worst SI-SDR {worst:.1f} dB"


def test_passthrough_at_24khz_goes_through_the_same_path() -> None:
    x = torch.from_numpy(speech(2.0))[None, None]
    y = get_codec("passthrough@24khz").roundtrip(x, 16000).wav
    assert si_sdr(x.flatten().numpy(), y.flatten().numpy()) > 40.0


def test_going_up_keeps_a_7_9_khz_tone() -> None:
    t = np.arange(16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 7900 * t)).astype(np.float32)
    up = resample(torch.from_numpy(tone), 16000, 24000).numpy()
    assert len(up) == 24000
    spec = np.abs(np.fft.rfft(up))
    assert abs(int(spec.argmax()) - 7900) <= 1 and spec.max() > 0.4 * len(up) / 2 * 0.5


def test_16_8_16_removes_the_upper_band() -> None:
    t = np.arange(16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)
    y = get_codec("passthrough@8khz").roundtrip(torch.from_numpy(tone)[None, None], 16000).wav
    assert float(y[..., 200:-200].abs().max()) < 0.01, (
        "a 6 kHz tone should not survive 8 kHz resampling"
    )
    low = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    y = get_codec("passthrough@8khz").roundtrip(torch.from_numpy(low)[None, None], 16000).wav
    assert si_sdr(low[200:-200], y.flatten().numpy()[200:-200]) > 40.0


def test_batched_and_odd_lengths_keep_shape_and_dtype() -> None:
    x = torch.randn(3, 1, 1001, dtype=torch.float64)
    y = resample(x, 16000, 22050)
    assert y.shape == (3, 1, round(1001 * 22050 / 16000)) and y.dtype == torch.float64
