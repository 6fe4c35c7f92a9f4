"""Scale-invariant signal-to-distortion ratio (Le Roux et al., 2019)."""

from __future__ import annotations

import numpy as np

from bench.metrics import Metric, register_metric

DEFINITION = (
    "SI-SDR = 10·log10(‖α·s‖² / ‖α·s − ŝ‖²), α = ⟨ŝ, s⟩/‖s‖², after removing the mean of the "
    "reference s and the decoded ŝ; float64, eps = 1e-12 added to numerator and denominator."
)


def si_sdr(reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
    """SI-SDR in dB of ``decoded`` against ``reference`` (1-D arrays, same length)."""
    eps = 1e-12
    s = np.asarray(reference, dtype=np.float64)
    e = np.asarray(decoded, dtype=np.float64)
    s = s - s.mean()
    e = e - e.mean()
    alpha = (np.dot(e, s) + eps) / (np.dot(s, s) + eps)
    target = alpha * s
    noise = target - e
    return float(10.0 * np.log10((np.dot(target, target) + eps) / (np.dot(noise, noise) + eps)))


register_metric(
    Metric(
        name="sisdr",
        label="SI-SDR",
        unit="dB",
        higher_is_better=True,
        fn=si_sdr,
        definition=DEFINITION,
    )
)
