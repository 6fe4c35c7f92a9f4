"""Wide-band PESQ (ITU-T P.862.2) through the ``pesq`` package."""

from __future__ import annotations

import numpy as np

from bench.metrics import METRIC_SAMPLE_RATE, Metric, register_metric

DEFINITION = (
    "ITU-T P.862.2 wide-band PESQ, MOS-LQO scale (≈1.04–4.64), `pesq.pesq(16000, ref, dec, 'wb')` "
    "on the float signals; raises (recorded as a failure) when no utterance is detected."
)


def pesq_wb(reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
    """PESQ-WB MOS-LQO of ``decoded`` against ``reference`` at 16 kHz."""
    from pesq import pesq

    return float(
        pesq(
            METRIC_SAMPLE_RATE,
            np.asarray(reference, dtype=np.float32),
            np.asarray(decoded, dtype=np.float32),
            "wb",
        )
    )


register_metric(
    Metric(
        name="pesq_wb",
        label="PESQ-WB",
        unit="MOS-LQO",
        higher_is_better=True,
        fn=pesq_wb,
        definition=DEFINITION,
    )
)
