"""Metric workers: ``(reference, decoded)`` pairs scored in a process pool that dies with its
parent, a worker that dies retried once, and the fault-injection hook the reliability tests use."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch


# ------------------------------------------------------------------------------ metric workers
def _init_worker(parent_pid: int | None = None) -> None:
    # Each worker is one core's worth of metric work; the pool provides the parallelism.
    torch.set_num_threads(1)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if parent_pid is not None:
        _die_with_parent(parent_pid)


def _die_with_parent(parent_pid: int) -> None:
    """End this worker when the harness dies, even by SIGKILL (no orphaned metric workers).

    Linux's ``PR_SET_PDEATHSIG`` delivers SIGKILL when the parent goes; a watchdog thread that
    polls ``getppid()`` covers other systems and the window before the first call.
    """
    import signal
    import threading

    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


#: Test-only fault injection: ``<utterance id>`` (every attempt) or ``<utterance id>:<marker
#: file>`` (only while the marker does not exist; it is created) makes a metric *worker* die
#: while scoring that utterance, so tests can check how a dead worker is attributed.
FAULT_ENV = "BENCH_FAULT_KILL_WORKER"


def _maybe_die(utt_id: str | None) -> None:
    spec = os.environ.get(FAULT_ENV)
    if not spec or utt_id is None or mp.parent_process() is None:
        return
    target, _, marker = spec.partition(":")
    if target != utt_id:
        return
    if marker:
        if os.path.exists(marker):
            return
        Path(marker).touch()
    os._exit(137)


def score(
    reference: np.ndarray,
    decoded: np.ndarray,
    metrics: list[str],
    device: str = "cpu",
    transcript: str | None = None,
    utt_id: str | None = None,
) -> dict[str, Any]:
    """Compute ``metrics`` on one pair; per-metric errors are returned, not raised.

    A metric that needs a transcript the utterance lacks is *skipped* (``skipped``), which is not
    a failure of the codec; weighted metrics also return their weight (``weights``).
    """
    from bench.metrics import MissingTranscript, get_metric

    _maybe_die(utt_id)
    values: dict[str, float | None] = {}
    errors: dict[str, str] = {}
    skipped: dict[str, str] = {}
    weights: dict[str, float] = {}
    seconds: dict[str, float] = {}
    # Metrics always run single-threaded, in workers and inline alike, so that float32 reductions
    # happen in the same order and --workers never changes a number.
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    # BLAS too (numpy's reductions): otherwise OMP_NUM_THREADS (set to 1 by torchrun) changes the
    # last digits of float64 results between launch modes
    limits = threadpool_limits(limits=1)
    try:
        for name in metrics:
            t0 = time.perf_counter()
            metric = get_metric(name)
            try:
                values[name], weight = metric.evaluate(reference, decoded, device, transcript)
                if metric.weighted:
                    weights[name] = weight
            except MissingTranscript:
                values[name] = None
                skipped[name] = "no transcript"
            except Exception as exc:  # a metric failing on one utterance must not stop the run
                values[name] = None
                errors[name] = f"{type(exc).__name__}: {exc}".strip()[:300]
            seconds[name] = time.perf_counter() - t0
    finally:
        limits.restore_original_limits()
        torch.set_num_threads(threads)
    out: dict[str, Any] = {"metrics": values, "errors": errors, "metric_seconds": seconds}
    if weights:
        out["weights"] = weights
    if skipped:
        out["skipped"] = skipped
    return out


class MetricPool:
    """Metric worker processes (spawned, one thread each) that die with the harness.

    A worker that dies breaks the executor; :meth:`restart` starts a fresh one (counted in
    ``restarts``) so the run can retry the utterances that were in flight.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.restarts = 0
        self.generation = 0
        self._executor = self._start()

    def _start(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=mp.get_context("spawn"),
            initializer=_init_worker,
            initargs=(os.getpid(),),
        )

    def submit(self, *args: Any) -> cf.Future[dict[str, Any]]:
        return self._executor.submit(score, *args)

    def restart(self, generation: int) -> None:
        """Replace a broken executor (once per break: ``generation`` is the one that broke)."""
        if generation != self.generation:
            return
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = self._start()
        self.generation += 1
        self.restarts += 1

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=cancel_futures)


def make_pool(workers: int) -> MetricPool | None:
    """A metric worker pool; ``None`` for ``workers == 0``.

    Reuse one pool across codecs: starting workers (torch, librosa, DNSMOS models) costs seconds.
    """
    if workers <= 0:
        return None
    return MetricPool(workers)
