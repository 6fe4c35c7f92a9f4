"""DNSMOS (Reddy et al., 2022): reference-free MOS predictor; its ONNX models ship in ``speechmos``.

The TAAE paper reports MOSNet, whose weights cannot be fetched here; this is a different predictor
and is labelled by its real name everywhere ("DNSMOS OVRL"). It scores the decoded audio only.
"""

from __future__ import annotations

import numpy as np

from bench.metrics import METRIC_SAMPLE_RATE, Metric, register_metric

DEFINITION = (
    "DNSMOS P.835 OVRL (non-personalized model `sig_bak_ovr.onnx` shipped in speechmos 0.0.1.1), "
    "mean over 9.01 s windows hopped by 1 s (shorter clips are tiled to 9.01 s by the package); "
    "scores the decoded audio alone, clamped to [-1, 1]. Not MOSNet."
)


def _session_threads() -> None:
    # One intra-op thread per worker process: the harness parallelises across utterances.
    import onnxruntime as ort

    if getattr(_session_threads, "done", False):
        return
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    original = ort.InferenceSession

    def session(path: str, *args: object, **kwargs: object) -> object:
        kwargs.setdefault("sess_options", opts)
        kwargs.setdefault("providers", ["CPUExecutionProvider"])
        return original(path, *args, **kwargs)

    import speechmos.dnsmos as dm

    dm.ort = type("ort_shim", (), {"InferenceSession": staticmethod(session)})  # type: ignore[attr-defined]
    _session_threads.done = True  # type: ignore[attr-defined]


def dnsmos_ovrl(reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
    """DNSMOS OVRL of ``decoded`` (``reference`` is unused: the predictor is reference-free)."""
    from speechmos import dnsmos

    _session_threads()
    x = np.clip(np.asarray(decoded, dtype=np.float32), -1.0, 1.0)
    return float(dnsmos.run(x, sr=METRIC_SAMPLE_RATE)["ovrl_mos"])


register_metric(
    Metric(
        name="dnsmos_ovrl",
        label="DNSMOS OVRL",
        unit="MOS",
        higher_is_better=True,
        fn=dnsmos_ovrl,
        definition=DEFINITION,
        check_tolerance=0.1,
        intrusive=False,
    )
)
