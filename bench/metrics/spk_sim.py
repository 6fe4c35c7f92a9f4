"""Speaker similarity: cosine of resemblyzer embeddings of the reference and the decoded audio."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from bench.metrics import (
    METRIC_SAMPLE_RATE,
    METRICS_EXTRA,
    Metric,
    RequiresModules,
    register_metric,
)

DEFINITION = (
    "Cosine similarity of the 256-dim d-vectors of resemblyzer 0.1.4's pretrained GE2E voice "
    "encoder (`pretrained.pt` shipped in the wheel) for the reference and the decoded audio, "
    "each preprocessed by the package (volume normalisation, webrtcvad trimming of long "
    "silences); 1 = same voice. Same speaker ≈ 0.83, different speakers ≈ 0.56 on test-clean."
)


@functools.lru_cache(maxsize=1)
def _encoder() -> Any:
    from resemblyzer import VoiceEncoder

    return VoiceEncoder(device="cpu", verbose=False)


def embed(audio: np.ndarray) -> np.ndarray:
    """Unit-norm d-vector of 16 kHz ``audio``."""
    from resemblyzer import preprocess_wav

    wav = preprocess_wav(np.asarray(audio, dtype=np.float32), source_sr=METRIC_SAMPLE_RATE)
    if len(wav) < METRIC_SAMPLE_RATE // 4:
        raise ValueError("less than 0.25 s of voiced audio after trimming silences")
    return _encoder().embed_utterance(wav)


def spk_sim(reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
    a, b = embed(reference), embed(decoded)
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


register_metric(
    Metric(
        name="spk_sim",
        label="Speaker sim. (resemblyzer)",
        unit="cos",
        higher_is_better=True,
        fn=spk_sim,
        definition=DEFINITION,
        default=False,
        unavailable=RequiresModules(("resemblyzer", "webrtcvad"), METRICS_EXTRA),
    )
)
