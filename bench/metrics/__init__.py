"""Metric registry: every per-utterance quality metric the harness reports.

Each metric declares its name, table label, unit, direction and the sample rate it expects, and maps
``(reference, decoded)`` — 1-D float arrays at 16 kHz, equal length — to one float. Families live in
one module each (``sisdr``, ``spectral``, ``pesq_wb``, ``stoi``, ``dnsmos``); importing this package
registers them all. Third-party metric packages are imported lazily inside the metric functions.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

#: Sample rate every metric receives.
METRIC_SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Metric:
    """A per-utterance metric.

    Attributes:
        name: registry / JSON key, e.g. ``"pesq_wb"``.
        label: the exact name used in tables, e.g. ``"PESQ-WB (P.862.2, MOS-LQO)"``.
        unit: natural unit (``"dB"``, ``"MOS"``, ``""``).
        higher_is_better: direction, declared once here and used by tables, plots and ``check``.
        fn: ``fn(reference, decoded, device) -> float``.
        definition: the exact definition, quoted in the README and in result files.
        intrusive: ``False`` for reference-free metrics (the MOS predictor scores ``decoded`` only).
        sample_rate: rate the metric is defined at.
    """

    name: str
    label: str
    unit: str
    higher_is_better: bool
    fn: Callable[[np.ndarray, np.ndarray, str], float]
    definition: str
    intrusive: bool = True
    sample_rate: int = METRIC_SAMPLE_RATE

    def __call__(self, reference: np.ndarray, decoded: np.ndarray, device: str = "cpu") -> float:
        value = float(self.fn(reference, decoded, device))
        if not np.isfinite(value):
            raise ValueError(f"{self.name} returned a non-finite value ({value})")
        return value

    def describe(self) -> dict[str, object]:
        return {
            "label": self.label,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "definition": self.definition,
            "intrusive": self.intrusive,
            "sample_rate": self.sample_rate,
        }


_METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` to the registry; duplicate names are rejected."""
    if metric.name in _METRICS:
        raise ValueError(f"metric registered twice: {metric.name!r}")
    _METRICS[metric.name] = metric
    return metric


def metric_names() -> list[str]:
    """Names in the order tables show them."""
    return list(_METRICS)


def get_metric(name: str) -> Metric:
    """The metric called ``name``; ``KeyError`` naming the closest valid names when unknown."""
    if name not in _METRICS:
        close = difflib.get_close_matches(name, list(_METRICS), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown metric {name!r}{hint} (valid: {', '.join(_METRICS)})")
    return _METRICS[name]


def parse_metrics(spec: str | None) -> list[str]:
    """``"sisdr,pesq_wb"`` → validated names; ``None``/``"all"`` → every registered metric."""
    if spec is None or spec == "all":
        return metric_names()
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for n in names:
        get_metric(n)
    return names


#: Metric family modules, imported in this order; registration order = column order in tables.
METRIC_MODULES: tuple[str, ...] = (
    "bench.metrics.sisdr",
    "bench.metrics.spectral",
    "bench.metrics.pesq_wb",
    "bench.metrics.stoi",
    "bench.metrics.dnsmos",
)


def _load_families() -> None:
    import importlib

    for mod in METRIC_MODULES:
        importlib.import_module(mod)


_load_families()
