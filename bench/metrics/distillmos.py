"""DistillMOS: a reference-free MOS predictor whose weights ship in its wheel (MIT licence)."""

from __future__ import annotations

import functools
import os
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
    "DistillMOS 0.9.1 (`ConvTransformerSQAModel`, weights `distill_mos_v7.pt` shipped in the "
    "wheel; an XLS-R-based SQA model distilled to 4 M parameters) on the decoded audio alone, "
    "16 kHz float in [-1, 1], clips shorter than 7.68 s zero-padded by the model; MOS 1–5. "
    "Called from Python (its CLI needs torchaudio I/O, which does not work here)."
)


@functools.lru_cache(maxsize=1)
def _model() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # it never needs the hub; never try
    import distillmos

    model = distillmos.ConvTransformerSQAModel()
    model.eval()
    return model


def distill_mos(reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
    """DistillMOS of ``decoded`` (``reference`` is unused)."""
    import torch

    x = torch.from_numpy(np.clip(np.asarray(decoded, dtype=np.float32), -1.0, 1.0))[None]
    with torch.no_grad():
        return float(_model()(x).reshape(-1)[0])


register_metric(
    Metric(
        name="distillmos",
        label="DistillMOS",
        unit="MOS",
        higher_is_better=True,
        fn=distill_mos,
        definition=DEFINITION,
        intrusive=False,
        sample_rate=METRIC_SAMPLE_RATE,
        default=False,
        unavailable=RequiresModules(("distillmos",), METRICS_EXTRA),
    )
)
