"""The shared resampler: 16 → N → 16 kHz passthrough stays near-transparent in the kept band."""

from __future__ import annotations

import numpy as np
import torch

from audiocodecs import get_codec
from audiocodecs.resample import resample
from bench.metrics.sisdr import si_sdr
from tests.conftest import speech


def test_identity_when_rates_match() -> None:
    x = torch.randn(1, 1, 1000)
    assert resample(x, 16000, 16000) is x


def test_16_24_16_is_near_transparent_on_speech() -> None:
    x = torch.from_numpy(speech(2.0))[None, None]
    y = get_codec("passthrough@24khz").roundtrip(x, 16000).wav
    # Only the band above the filter's roll-off (≈ 7.58 kHz) is lost.
    assert si_sdr(x.flatten().numpy(), y.flatten().numpy()) > 35.0


def test_16_8_16_removes_the_upper_band() -> None:
    t = np.arange(16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)
    y = get_codec("passthrough@8khz").roundtrip(torch.from_numpy(tone)[None, None], 16000).wav
    # Away from the edges (filter transients), nothing of the tone is left.
    assert float(y[..., 200:-200].abs().max()) < 0.01, (
        "a 6 kHz tone should not survive 8 kHz resampling"
    )
    low = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    y = get_codec("passthrough@8khz").roundtrip(torch.from_numpy(low)[None, None], 16000).wav
    assert si_sdr(low[200:-200], y.flatten().numpy()[200:-200]) > 40.0
