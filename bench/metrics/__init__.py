"""Metric registry: every per-utterance quality metric the harness reports.

Each metric declares its name, table label, unit, direction and the sample rate it expects, and maps
``(reference, decoded)`` — 1-D float arrays at 16 kHz, equal length — to one float. Families live in
one module each (``sisdr``, ``spectral``, ``pesq_wb``, ``stoi``, ``dnsmos``); importing this package
registers them all. Third-party metric packages are imported lazily inside the metric functions.
"""

from __future__ import annotations

import difflib
import importlib.util
from collections.abc import Callable, Iterable
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
        needs_transcript: the metric compares against the reference words; utterances without a
            transcript are *skipped* (recorded as such), not failed.
        weighted: per-utterance values carry a weight (WER: the reference's word count), so the
            table's figure is the weighted mean — corpus WER = Σ errors / Σ words.
        default: part of the default metric set (the fast signal metrics); slow model-based
            metrics (WER, speaker similarity, DistillMOS) run when named or with ``all``.
        sample_rate: rate the metric is defined at.
        unavailable: ``unavailable() -> None`` when the metric can run here, else why not and the
            fix (a missing package or weights file); ``None`` = always available. Checked before
            a run starts and shown by ``bench list`` — cheap: it imports nothing heavy.
    """

    name: str
    label: str
    unit: str
    higher_is_better: bool
    fn: Callable[[np.ndarray, np.ndarray, str], float]
    definition: str
    intrusive: bool = True
    needs_transcript: bool = False  # fn(reference, decoded, device, transcript=...) when True
    weighted: bool = False  # fn returns (value, weight); tables show Σ value·weight / Σ weight
    default: bool = True  # in the default (fast) metric set of `bench run`
    sample_rate: int = METRIC_SAMPLE_RATE
    unavailable: Callable[[], str | None] | None = None

    def unavailable_reason(self) -> str | None:
        """``None`` when the metric can run here, else why not (with the fix)."""
        if self.unavailable is None:
            return None
        try:
            return self.unavailable()
        except Exception as exc:  # a broken check must not hide the metric's name
            return f"availability check failed: {type(exc).__name__}: {exc}"

    def __call__(
        self,
        reference: np.ndarray,
        decoded: np.ndarray,
        device: str = "cpu",
        transcript: str | None = None,
    ) -> float:
        """The metric's value (for a weighted metric, the value without its weight)."""
        return self.evaluate(reference, decoded, device, transcript)[0]

    def evaluate(
        self,
        reference: np.ndarray,
        decoded: np.ndarray,
        device: str = "cpu",
        transcript: str | None = None,
    ) -> tuple[float, float]:
        """``(value, weight)``; the weight is 1 for unweighted metrics."""
        if self.needs_transcript:
            if not transcript:
                raise MissingTranscript(f"{self.name} needs the reference transcript")
            out = self.fn(reference, decoded, device, transcript=transcript)  # type: ignore[call-arg]
        else:
            out = self.fn(reference, decoded, device)
        value, weight = out if self.weighted else (out, 1.0)  # type: ignore[misc]
        value, weight = float(value), float(weight)
        if not (np.isfinite(value) and np.isfinite(weight)):
            raise ValueError(f"{self.name} returned a non-finite value ({value}, {weight})")
        return value, weight

    def describe(self) -> dict[str, object]:
        return {
            "label": self.label,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "definition": self.definition,
            "intrusive": self.intrusive,
            "needs_transcript": self.needs_transcript,
            "weighted": self.weighted,
            "sample_rate": self.sample_rate,
        }


class MissingTranscript(LookupError):
    """The utterance has no reference transcript: a skip, not a failure of the codec."""


class MetricUnavailable(RuntimeError):
    """A requested metric cannot run here (a package or weights file is missing); the message
    names each such metric, why, and the fix."""


@dataclass(frozen=True)
class RequiresModules:
    """An ``unavailable`` check: the named top-level modules must be importable (found without
    importing them). Picklable, so a :class:`Metric` still travels to worker processes."""

    modules: tuple[str, ...]
    install: str  # the fix, e.g. "pip install -e '.[metrics]'"

    def __call__(self) -> str | None:
        missing = [m for m in self.modules if importlib.util.find_spec(m) is None]
        if not missing:
            return None
        return f"module {', '.join(missing)} not installed: {self.install}"


#: The fix for a metric whose package comes with the project's ``[metrics]`` extra.
METRICS_EXTRA = "pip install -e '.[metrics]' (the project's model-based metrics extra)"


_METRICS: dict[str, Metric] = {}


def register_metric(metric: Metric) -> Metric:
    """Add ``metric`` to the registry (built-ins and plugins alike); duplicate names are
    rejected."""
    if metric.name in _METRICS:
        owner = getattr(_METRICS[metric.name].fn, "__module__", "?")
        raise ValueError(f"metric registered twice: {metric.name!r} (already from {owner})")
    _METRICS[metric.name] = metric
    return metric


_PLUGINS_LOADED = False


def _load_plugins() -> None:
    """Installed ``bench.metrics`` entry points and ``$BENCH_PLUGINS``, once (lazily, so a plugin
    may import this package)."""
    global _PLUGINS_LOADED
    if _PLUGINS_LOADED:
        return
    _PLUGINS_LOADED = True
    from audiocodecs import plugins

    plugins.report_refusals(plugins.load_entry_points("bench.metrics"))
    plugins.report_refusals(plugins.load_env_plugins())


def metric_names() -> list[str]:
    """Names in the order tables show them."""
    _load_plugins()
    return list(_METRICS)


def get_metric(name: str) -> Metric:
    """The metric called ``name``; ``KeyError`` naming the closest valid names when unknown."""
    if name not in _METRICS:
        _load_plugins()
    if name not in _METRICS:
        close = difflib.get_close_matches(name, list(_METRICS), n=3, cutoff=0.4)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise KeyError(f"unknown metric {name!r}{hint} (valid: {', '.join(_METRICS)})")
    return _METRICS[name]


def default_metrics() -> list[str]:
    """The default set of ``bench run``: the fast signal metrics (see each ``Metric.default``)."""
    _load_plugins()
    return [n for n in _METRICS if _METRICS[n].default]


def parse_metrics(spec: str | None) -> list[str]:
    """``"sisdr,pesq_wb"`` → validated names; ``None`` → :func:`default_metrics`; ``"all"`` →
    every registered metric."""
    if spec is None:
        return default_metrics()
    if spec == "all":
        return metric_names()
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for n in names:
        get_metric(n)
    return names


def unavailable_metrics(names: Iterable[str]) -> dict[str, str]:
    """``{name: why}`` for each of ``names`` that cannot run here (empty when all can)."""
    out = {}
    for n in names:
        reason = get_metric(n).unavailable_reason()
        if reason is not None:
            out[n] = reason
    return out


def require_available(names: list[str], *, skip: bool = False) -> list[str]:
    """``names`` when every metric can run here; otherwise :class:`MetricUnavailable` naming each
    missing one with its fix — or, with ``skip`` (the ``all`` set), ``names`` without them and one
    stderr note per metric left out."""
    missing = unavailable_metrics(names)
    if not missing:
        return names
    if skip:
        import sys

        for n, why in missing.items():
            print(f"note: skipping metric {n}: {why}", file=sys.stderr)
        return [n for n in names if n not in missing]
    lines = "; ".join(f"{n}: {why}" for n, why in missing.items())
    raise MetricUnavailable(
        f"metric(s) unavailable here — {lines} (fix it, or leave the metric out of --metrics; "
        "`python -m bench list --why NAME` repeats this)"
    )


#: Metric family modules, imported in this order; registration order = column order in tables.
METRIC_MODULES: tuple[str, ...] = (
    "bench.metrics.sisdr",
    "bench.metrics.spectral",
    "bench.metrics.pesq_wb",
    "bench.metrics.stoi",
    "bench.metrics.dnsmos",
    "bench.metrics.wer",
    "bench.metrics.spk_sim",
    "bench.metrics.distillmos",
    "bench.metrics.mosnet",
    "bench.metrics.visqol",
)


def _load_families() -> None:
    import importlib

    for mod in METRIC_MODULES:
        importlib.import_module(mod)


_load_families()


def _track() -> None:
    from audiocodecs import plugins

    plugins.track("metric", _METRICS)  # after the built-ins: plugins are rolled back alone


_track()
