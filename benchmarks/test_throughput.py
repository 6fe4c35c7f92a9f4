"""pytest-benchmark timings of codec round trips and metrics (not part of `make test`).

Run: ``.venv/bin/python -m pytest benchmarks --benchmark-only`` (add ``--benchmark-json F`` to keep
the numbers). Unavailable codecs are skipped with their reason. ``BENCH_DEVICE=cuda`` runs the
same timings on the GPU (codecs and metrics without a CUDA path run on the CPU, as in `bench run`).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from audiocodecs import codec_names, get_codec, get_entry
from bench.metrics import get_metric, metric_names
from bench.throughput import speech_batch

SECONDS = 5.0
DEVICE = os.environ.get("BENCH_DEVICE", "cpu")


@pytest.fixture(scope="module")
def clip() -> torch.Tensor:
    return speech_batch(1, SECONDS)


@pytest.mark.parametrize("name", codec_names(include_test_only=True))
def test_codec_roundtrip_5s(benchmark, clip: torch.Tensor, name: str) -> None:  # type: ignore[no-untyped-def]
    reason = get_entry(name).availability()
    if reason is not None:
        pytest.skip(reason)
    codec = get_codec(name, device=DEVICE)
    benchmark.extra_info["audio_seconds"] = SECONDS
    benchmark.extra_info["device"] = DEVICE
    out = benchmark(codec.roundtrip, clip.to(DEVICE), 16000)
    assert out.wav.shape == clip.shape


@pytest.mark.parametrize("name", metric_names())
def test_metric_5s(benchmark, clip: torch.Tensor, name: str) -> None:  # type: ignore[no-untyped-def]
    ref = clip[0, 0].numpy()
    rng = np.random.default_rng(0)
    dec = np.clip(ref + 0.02 * rng.standard_normal(ref.shape).astype(np.float32), -1, 1)
    torch.set_num_threads(1)
    metric = get_metric(name)
    benchmark.extra_info["audio_seconds"] = SECONDS
    benchmark.extra_info["device"] = DEVICE
    # a transcript-based metric gets a (wrong-content but well-formed) transcript: its cost is
    # the recogniser's, whatever the words
    words = "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG" if metric.needs_transcript else None
    value = benchmark(metric, ref, dec, DEVICE, words)
    assert np.isfinite(value)
