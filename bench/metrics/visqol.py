"""ViSQOL v3 speech mode (Hines et al.; Chinen et al. 2020): full-reference MOS-LQO, the codec
literature's common yardstick (SoundStream, Lyra, EnCodec report it).

Computed by ``visqol-python`` 3.8.0 (a pure-Python port of Google's C++ ViSQOL that ships the
reference's lattice TFLite model and SVR file, Apache-2.0), configured as the C++ tool's speech
mode defaults: 21 gammatone bands from 50 Hz, VAD-selected 20-frame patches, search window 60,
global alignment and realignment on, and the **deep-lattice mapping** (``--use_lattice_model``,
the default since ViSQOL 3.2; it runs on ``ai-edge-litert``). The metric feeds the harness's
16 kHz signals, the rate speech mode is designed for. Identical signals do not score a constant:
4.26-4.69 on six clips of the default set and test-clean (lattice), about 4.5 on the conformance
pair; the scale's top is near 4.5-4.7, not 5.

Agreement with the reference (``tests/test_visqol.py``): on Google's conformance pair
(``../shared/data/visqol-conformance/``) at the files' own 48 kHz — which is how the C++
conformance test scores them: the C++ tool resamples nothing in speech mode, it only warns above
16 kHz (``src/visqol_manager.cc``, ``ValidateInputAudio``) — every one of the four conformance
values (lattice and exponential mapping, degraded and identity) is met within the reference's
tolerance of 0.01. The same pair resampled to 16 kHz first (the harness's path) is not a
conformance case; the test records how far it moves.

Cost (``benchmarks/metric_cost.py``, one thread, 2-core machine under a load average of ~6, so
absolute figures are high; PESQ-WB measured beside it at 39 ms, DNSMOS at 164 ms per audio-second):
135-171 ms per audio-second. The package's numba kernels compile on a process's first call:
20.6 s with an empty numba cache, 4.2 s once numba has cached them on disk (in the installed
package's ``__pycache__``); every metric worker process pays that first call. Not in the default
metric set for that reason; named (``--metrics visqol``) or with ``all``.
"""

from __future__ import annotations

import functools
import logging
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
    "ViSQOL v3 speech mode, MOS-LQO with the deep-lattice mapping (the C++ default since 3.2), "
    "computed by visqol-python 3.8.0 (checked against Google's conformance values within 0.01) "
    "on the 16 kHz reference and decoded audio: 21 gammatone bands from 50 Hz, VAD patch "
    "selection on the reference, search window 60, global alignment; about 1 to 4.5-4.7."
)


@functools.lru_cache(maxsize=4)
def _api(lattice: bool, unscaled: bool) -> Any:
    """A speech-mode ``VisqolApi``, built once per process and mapping."""
    from visqol import VisqolApi

    # The package logs a warning per call for rates above 16 kHz; the conformance test uses 48 kHz.
    logging.getLogger("visqol").setLevel(logging.ERROR)
    api = VisqolApi()
    api.create(mode="speech", use_lattice_model=lattice, use_unscaled_speech=unscaled)
    return api


def _match_numba_threads() -> None:
    """Numba kernels use as many threads as torch (one in the harness's metric workers, so a
    pool of workers does not oversubscribe the cores)."""
    try:
        import numba
        import torch
    except ImportError:
        return
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


def visqol_moslqo(
    reference: np.ndarray,
    degraded: np.ndarray,
    sample_rate: int = METRIC_SAMPLE_RATE,
    lattice: bool = True,
    unscaled: bool = False,
) -> float:
    """ViSQOL speech-mode MOS-LQO of ``degraded`` against ``reference`` (1-D float arrays at
    ``sample_rate``, no resampling). ``lattice=False`` selects the exponential mapping, scaled to
    5.0 unless ``unscaled``."""
    _match_numba_threads()
    ref = np.asarray(reference, dtype=np.float64)
    deg = np.asarray(degraded, dtype=np.float64)
    if ref.ndim != 1 or deg.ndim != 1:
        raise ValueError(f"expected 1-D signals, got {ref.shape} and {deg.shape}")
    if not np.any(ref):
        raise ValueError("silent reference: ViSQOL's voice activity detection finds no patch")
    result = _api(lattice, unscaled).measure_from_arrays(ref, deg, sample_rate)
    return float(result.moslqo)


def visqol(reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
    """ViSQOL speech-mode MOS-LQO (lattice mapping) of 16 kHz ``decoded`` against ``reference``."""
    return visqol_moslqo(reference, decoded, METRIC_SAMPLE_RATE)


register_metric(
    Metric(
        name="visqol",
        label="ViSQOL (speech)",
        unit="MOS-LQO",
        higher_is_better=True,
        fn=visqol,
        definition=DEFINITION,
        default=False,
        unavailable=RequiresModules(("visqol", "libsvm", "numba"), METRICS_EXTRA),
    )
)
