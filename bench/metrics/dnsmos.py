"""DNSMOS (Reddy et al., 2022): reference-free MOS predictor; its ONNX models ship in ``speechmos``.

The TAAE paper reports MOSNet, whose weights cannot be fetched here; this is a different predictor
and is labelled by its real name everywhere ("DNSMOS OVRL"). It scores the decoded audio only.
"""

from __future__ import annotations

import numpy as np

from bench.metrics import METRIC_SAMPLE_RATE, Metric, register_metric

DEFINITION = (  # computed by the fast path below; equal to speechmos's own function (tested)
    "DNSMOS P.835 OVRL (non-personalized model `sig_bak_ovr.onnx` shipped in speechmos 0.0.1.1), "
    "mean over 9.01 s windows hopped by 1 s (shorter clips are tiled to 9.01 s by the package); "
    "scores the decoded audio alone, clamped to [-1, 1]. Not MOSNet."
)


#: The package's constants (speechmos/dnsmos.py): window length and hop, non-personalized OVRL fit.
WINDOW_SECONDS = 9.01
HOP_SECONDS = 1
OVRL_POLY = (-0.06766283, 1.11546468, 0.04602535)
#: Windows per ONNX call. Batching was measured slower on this CPU (1 thread, 6 test-clean files:
#: 380 ms per audio-second batched vs 250 one window per call), so windows go one at a time.
MAX_BATCH = 1


def _primary_session() -> object:
    """speechmos's P.835 model (``sig_bak_ovr.onnx``), one intra-op thread, once per process."""
    cached = getattr(_primary_session, "session", None)
    if cached is not None:
        return cached
    import os

    import onnxruntime as ort
    import speechmos

    path = os.path.join(os.path.dirname(speechmos.__file__), "dnsmos_models", "sig_bak_ovr.onnx")
    opts = ort.SessionOptions()
    # one thread per worker process: the harness parallelises across utterances
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    session = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
    _primary_session.session = session  # type: ignore[attr-defined]
    return session


def windows(audio: np.ndarray, sr: int = METRIC_SAMPLE_RATE) -> np.ndarray:
    """The 9.01 s windows speechmos scores, ``[W, 144160]``: the clip tiled (doubled) until it is
    at least 9.01 s, then windows hopped by 1 s, exactly as ``speechmos.dnsmos.DNSMOS.__call__``."""
    length = int(WINDOW_SECONDS * sr)
    x = np.asarray(audio, dtype=np.float32)
    while len(x) < length:
        x = np.append(x, x)
    num_hops = int(np.floor(len(x) / sr) - WINDOW_SECONDS) + 1
    out = [
        x[int(i * HOP_SECONDS * sr) : int((i + WINDOW_SECONDS) * HOP_SECONDS * sr)]
        for i in range(num_hops)
    ]
    return np.stack([w for w in out if len(w) >= length]).astype(np.float32)


def dnsmos_ovrl(reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
    """DNSMOS OVRL of ``decoded`` (``reference`` is unused: the predictor is reference-free).

    Same windows, model and polynomial as ``speechmos.dnsmos.run(x, 16000)["ovrl_mos"]`` (tested
    to 1e-6), but without the package's per-window P.808 model and mel spectrogram (they feed only
    ``p808_mos``, which is not reported): 250 vs 376 ms per audio-second on one thread here.
    """
    x = np.clip(np.asarray(decoded, dtype=np.float32), -1.0, 1.0)
    session = _primary_session()
    wins = windows(x)
    raw = np.concatenate(
        [
            session.run(None, {"input_1": wins[i : i + MAX_BATCH]})[0]  # type: ignore[attr-defined]
            for i in range(0, len(wins), MAX_BATCH)
        ]
    )
    return float(np.mean(np.poly1d(OVRL_POLY)(raw[:, 2])))


register_metric(
    Metric(
        name="dnsmos_ovrl",
        label="DNSMOS OVRL",
        unit="MOS",
        higher_is_better=True,
        fn=dnsmos_ovrl,
        definition=DEFINITION,
        intrusive=False,
    )
)
