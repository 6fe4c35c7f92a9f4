"""Short-time objective intelligibility (Taal et al., 2011) through ``pystoi`` — STOI, not ESTOI."""

from __future__ import annotations

import numpy as np

from bench.metrics import METRIC_SAMPLE_RATE, Metric, register_metric

DEFINITION = (
    "STOI (classic, `extended=False`; not ESTOI) via `pystoi.stoi(ref, dec, 16000)`, which "
    "resamples internally to 10 kHz and removes silent frames; range 0–1."
)


def stoi(reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
    """STOI of ``decoded`` against ``reference`` at 16 kHz."""
    from pystoi import stoi as _stoi

    return float(
        _stoi(
            np.asarray(reference, dtype=np.float64),
            np.asarray(decoded, dtype=np.float64),
            METRIC_SAMPLE_RATE,
            extended=False,
        )
    )


register_metric(
    Metric(
        name="stoi",
        label="STOI",
        unit="",
        higher_is_better=True,
        fn=stoi,
        definition=DEFINITION,
    )
)
