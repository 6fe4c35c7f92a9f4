"""The benchmark runner: codec on its device in this process, metrics in a process pool.

For each utterance: load the reference (policy in :mod:`bench.audio`), run
:meth:`audiocodecs.base.Codec.roundtrip`, then hand ``(reference, decoded)`` to a worker that
computes the metrics. At most ``2 × workers`` jobs are in flight, so memory stays flat however large
the dataset. Every finished utterance is appended to the journal at once; failures (unreadable
input, codec error, non-finite output, metric error) are recorded with their reason and never
scored. Finally the journal is folded into one result JSON.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import resource
import time
from collections import Counter
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiocodecs import Codec, RoundTrip, get_codec
from bench.audio import SILENCE_PEAK, AudioError, ac_peak, load_audio, pcm_sha256
from bench.codebook import CodebookStats
from bench.data import Dataset
from bench.results import (
    SCHEMA_VERSION,
    Journal,
    atomic_write_json,
    load_result,
    provenance,
    safe_name,
)

#: How decoded audio is scored (recorded in every result file).
SCORING_POLICY = (
    "decoded float32 output of Codec.roundtrip (resampled back to 16 kHz, delay-compensated, "
    "trimmed/zero-padded to the reference length when within one codec frame + 10 ms of it, the "
    "difference recorded per utterance as length_diff_ms; beyond that a failure, 'length "
    "mismatch'), clamped to [-1, 1]; not re-quantised to 16 bit. "
    "Reference: the file as read (mono, 16 kHz). Failures are counted, never scored."
)


class RunError(RuntimeError):
    """A run cannot start (inconsistent journal, unavailable codec …)."""


@dataclass
class RunOptions:
    """Options of one ``bench run`` over one codec and one dataset."""

    metrics: list[str]
    device: str = "cpu"
    workers: int = 0  # 0 = compute metrics in this process
    out: Path = Path("results")
    fresh: bool = False
    replace: bool = False  # overwrite an earlier result whose other metrics cannot be carried over
    progress: bool = True
    keep_journal: bool = False  # sharded runs keep theirs for `bench merge`


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


# ------------------------------------------------------------------------------------- runner
def journal_for(opts: RunOptions, dataset: Dataset, codec_name: str) -> Journal:
    return Journal(opts.out / ".work" / dataset.slug / safe_name(codec_name))


def result_path(out: Path, dataset: Dataset, codec_name: str) -> Path:
    return out / dataset.slug / f"{safe_name(codec_name)}.json"


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


def run_codec(
    codec_name: str,
    dataset: Dataset,
    opts: RunOptions,
    pool: MetricPool | None = None,
) -> Path:
    """Run one codec over ``dataset``, resuming from its journal; returns the result file path."""
    codec = get_codec(codec_name, device=opts.device)
    return run_built_codec(codec, dataset, opts, pool)


def run_built_codec(
    codec: Codec,
    dataset: Dataset,
    opts: RunOptions,
    pool: MetricPool | None = None,
) -> Path:
    """Like :func:`run_codec` for an already built codec (used by ``check`` and tests).

    ``pool`` is an existing metric pool to use; without one, a pool of ``opts.workers`` is started
    for this call and shut down at its end.
    """
    from bench.results import REPO_ROOT

    if codec.test_only and opts.out.resolve() == (REPO_ROOT / "results").resolve():
        raise RunError(
            f"{codec.name} is a test-only codec: its results never go into results/ "
            "(pass --out to another folder)"
        )
    _refuse_to_drop_metrics(result_path(opts.out, dataset, codec.name), codec, dataset, opts)
    journal = journal_for(opts, dataset, codec.name)
    if opts.fresh:
        journal.clear()
    header = {
        "codec": codec.describe(),
        "metrics": list(opts.metrics),
        "dataset": dataset.name,
        # a journal belongs to one set of utterances: other ids never resume into it
        "dataset_ids_sha256": dataset.ids_hash,
    }
    old_header, done = journal.read()
    if old_header is not None:
        old = {k: old_header.get(k) for k in header}
        if _jsonable(old) != _jsonable(header):
            raise RunError(
                f"{journal.path} was written with a different codec config or metric list; "
                "rerun with --fresh to discard it"
            )
    journal.start(header)
    ids = {u.id for u in dataset.utterances}
    done = {k: v for k, v in done.items() if k in ids}
    pending = [u for u in dataset.utterances if u.id not in done]

    bar = _progress(len(dataset.utterances), len(done), f"{codec.name} · {dataset.slug}", opts)
    if opts.device.startswith("cuda"):
        torch.cuda.reset_peak_memory_stats(torch.device(opts.device))
    own_pool = pool is None and opts.workers > 0 and bool(pending)
    if own_pool:
        pool = make_pool(opts.workers)
    # future → (record base, job arguments, pool generation it was submitted to)
    in_flight: dict[cf.Future[dict[str, Any]], tuple[dict[str, Any], tuple, int]] = {}
    max_in_flight = max(1, 2 * opts.workers)

    def finish(fut: cf.Future[dict[str, Any]]) -> None:
        base, job, generation = in_flight.pop(fut)
        try:
            res = fut.result()
        except BrokenProcessPool:
            # A worker died (killed, out of memory, a crash in a native library): the harness's
            # fault, not the codec's, and any utterance in flight may have been the victim rather
            # than the cause. Restart the pool and retry this utterance once, alone, so a death
            # is pinned on the utterance that causes it; a second death is a harness failure.
            assert pool is not None
            pool.restart(generation)
            solo = pool.submit(*job)
            try:
                res = solo.result()
            except BrokenProcessPool as exc:
                pool.restart(pool.generation)
                why = f"metric worker died twice while scoring this utterance ({exc})"
                journal.append({**base, "status": "failed", "stage": "harness", "error": why})
                bar.update(1)
                return
        _write(journal, base, res, opts.metrics)
        bar.update(1)

    try:
        for utt in pending:
            base, pair = _process_utterance(codec, utt, dataset.relpath(utt), journal)
            if pair is None:
                journal.append(base)
                bar.update(1)
                continue
            ref, dec = pair
            if pool is None:
                res = score(ref, dec, opts.metrics, transcript=utt.transcript)
                _write(journal, base, res, opts.metrics)
                bar.update(1)
                continue
            while len(in_flight) >= max_in_flight:
                finished, _ = cf.wait(list(in_flight), return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    finish(fut)
            job = (ref, dec, opts.metrics, "cpu", utt.transcript, utt.id)
            in_flight[pool.submit(*job)] = (base, job, pool.generation)
        while in_flight:
            finished, _ = cf.wait(list(in_flight), return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                finish(fut)
    finally:
        bar.close()
        if own_pool and pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        else:
            for fut in in_flight:
                fut.cancel()

    peak = _peak_memory_mb(opts.device)
    path = finalize(codec, dataset, [journal], opts, peak)
    if opts.keep_journal:
        journal.write_peak(peak)
    else:
        journal.clear()
    return path


def _jsonable(obj: Any) -> Any:
    import json

    return json.loads(json.dumps(obj, default=str))


def _process_utterance(
    codec: Codec, utt: Any, relpath: str, journal: Journal
) -> tuple[dict[str, Any], tuple[np.ndarray, np.ndarray] | None]:
    """Load, encode and decode one utterance. Returns the record base and the pair to score."""
    base: dict[str, Any] = {"id": utt.id, "file": relpath}
    try:
        audio = load_audio(utt.path)
    except AudioError as exc:
        return {**base, "status": "failed", "stage": "input", "error": str(exc)}, None
    base.update(
        seconds=audio.seconds,
        notes=audio.notes,
        input_clipped_fraction=audio.clipped_fraction,
        source_sr=audio.source_sr,
    )
    pinned_len = getattr(utt, "num_samples", None)
    if pinned_len is not None and audio.source_sr == 16000 and len(audio.wav) != pinned_len:
        return {
            **base,
            "status": "failed",
            "stage": "input",
            "error": f"length {len(audio.wav)} differs from the manifest's {pinned_len} samples "
            "(not the pinned utterance)",
        }, None
    if utt.sha256_pcm and audio.source_sr == 16000 and not audio.notes:
        if pcm_sha256(audio.wav) != utt.sha256_pcm:
            return {
                **base,
                "status": "failed",
                "stage": "input",
                "error": "content hash differs from the pinned manifest (different audio)",
            }, None
    wav = torch.from_numpy(audio.wav)[None, None]
    try:
        rt, fields = _roundtrip(codec, utt, wav)
    except Exception as exc:  # any codec failure is a per-utterance failure
        return {
            **base,
            "status": "failed",
            "stage": "codec",
            "error": f"{type(exc).__name__}: {exc}"[:300],
        }, None
    if tuple(rt.wav.shape) != tuple(wav.shape):
        # a codec overriding roundtrip (or a scored file) bypassed Codec.roundtrip's own checks:
        # reading wav[0, 0] of [1, T] would score one sample as silent audio
        why = f"wrong shape {list(rt.wav.shape)} of the round trip: expected {list(wav.shape)}"
        return {**base, **fields, "status": "failed", "stage": "codec", "error": why}, None
    dec = rt.wav[0, 0].detach().cpu().numpy().astype(np.float32)
    base.update(fields)
    # trimmed (> 0) or zero-padded (< 0) to the reference length, within the codec's tolerance
    base["length_diff_ms"] = 1000.0 * rt.length_diff / 16000
    base.update(encode_seconds=rt.encode_seconds, decode_seconds=rt.decode_seconds)
    if rt.num_bytes is not None:
        base["num_bytes"] = int(rt.num_bytes[0])
    if rt.payload_bytes is not None:
        base["payload_bytes"] = int(rt.payload_bytes[0])
    if rt.codes is not None:
        codes = rt.codes[0].numpy()
        base["num_frames"] = int(codes.shape[-1])
        if codes.size:
            journal.save_codes(utt.id, codes)
    if not np.isfinite(dec).all():
        return {
            **base,
            "status": "failed",
            "stage": "codec",
            "error": "codec produced NaN or infinite samples",
        }, None
    peak = ac_peak(dec)
    if peak < SILENCE_PEAK:
        # silent, constant or DC-only output would score SI-SDR ≈ 0 dB and a DNSMOS above weak
        # working codecs: a failure of the codec, never a score
        return {
            **base,
            "status": "failed",
            "stage": "codec",
            "error": f"degenerate output: silent, constant or DC-only (AC peak {peak:.1e})",
        }, None
    base["output_clipped_fraction"] = float(np.mean(np.abs(dec) > 1.0))
    dec = np.clip(dec, -1.0, 1.0)
    return base, (audio.wav, dec)


def _roundtrip(codec: Codec, utt: Any, wav: torch.Tensor) -> tuple[RoundTrip, dict[str, Any]]:
    """``codec.roundtrip(wav [1, 1, T], 16000)`` plus record fields of the codec's own.

    A codec with a ``roundtrip_utterance(utt, wav, sr) -> (RoundTrip, fields)`` method is given
    the utterance too — :class:`bench.score.DecodedFolder` returns the file decoded elsewhere for
    that id, and ``fields`` (e.g. the estimated lag) go into the utterance's record.
    """
    hook = getattr(codec, "roundtrip_utterance", None)
    if hook is None:
        return codec.roundtrip(wav, 16000), {}
    return hook(utt, wav, 16000)


def _write(journal: Journal, base: dict[str, Any], res: dict[str, Any], metrics: list[str]) -> None:
    journal.append(_set_metric_status({**base, **res}, metrics))


def _set_metric_status(record: dict[str, Any], metrics: list[str]) -> dict[str, Any]:
    """Status of a scored record from its metric errors: ``failed`` when every metric failed,
    ``partial`` when some did, else ``ok`` (with ``stage`` and ``error`` to match).

    ``warnings`` (``{stage: reason}``, e.g. ``bench score``'s untrusted alignment) make an
    otherwise ok record ``partial`` too: its values stand, but never as a silent ``ok``.
    """
    errors = record.get("errors") or {}
    warnings = record.get("warnings") or {}
    values = record.get("metrics") or {}
    if errors and all(values.get(m) is None for m in metrics):
        record["status"] = "failed"
    elif errors or warnings:
        record["status"] = "partial"
    else:
        record["status"] = "ok"
    record["stage"] = "metrics" if errors else next(iter(warnings), None)
    if errors or warnings:
        record["error"] = "; ".join(f"{k}: {v}" for k, v in {**errors, **warnings}.items())
    return record


def _peak_memory_mb(device: str) -> dict[str, Any]:
    if device.startswith("cuda"):
        return {
            "kind": "cuda max_memory_allocated",
            "mb": torch.cuda.max_memory_allocated(torch.device(device)) / 2**20,
        }
    return {
        "kind": "peak RSS of the harness process (CPU)",
        "mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def finalize(
    codec: Codec,
    dataset: Dataset,
    journals: list[Journal],
    opts: RunOptions,
    peak: dict[str, Any],
) -> Path:
    """Fold one or more journals (shards) into the result JSON (written atomically).

    Records are put in dataset order, so the result does not depend on how work was split.
    """
    from bench.metrics import get_metric

    records: dict[str, dict[str, Any]] = {}
    codes_of: dict[str, Path] = {}
    for journal in journals:
        _, recs = journal.read()
        for uid, rec in recs.items():
            records[uid] = rec
            codes_of[uid] = journal.codes_path(uid)
    ordered = [records[u.id] for u in dataset.utterances if u.id in records]
    from bench.compare import scored, summarize_metric

    path = result_path(opts.out, dataset, codec.name)
    metrics, carried = _carry_over_metrics(path, codec, dataset, ordered, opts.metrics)
    partial_result = {"utterances": ordered, "metrics": {m: get_metric(m).describe()
                                                        for m in metrics}}  # fmt: skip
    summary = {
        m: summarize_metric(partial_result, m, sorted(scored(partial_result, m))) for m in metrics
    }

    stats = CodebookStats(codec.codebook_sizes, codec.codebook_levels)
    for r in ordered:
        p = codes_of[r["id"]]
        if r.get("num_frames") and p.is_file():
            stats.update(np.load(p))
    cb = stats.summary(codec.frame_rate) if codec.codebook_sizes and stats.frames else None

    coded = [r for r in ordered if "encode_seconds" in r]
    audio_s = sum(r["seconds"] for r in coded)
    enc_s = sum(r["encode_seconds"] for r in coded)
    dec_s = sum(r["decode_seconds"] for r in coded)
    bitrate: dict[str, Any] = {
        "nominal_bps": codec.nominal_bps,
        "formula": codec.bitrate_formula,
        "entropy_bps": cb["entropy_bps"] if cb else None,
    }
    with_bytes = [r for r in coded if "num_bytes" in r]
    if with_bytes:
        seconds = sum(r["seconds"] for r in with_bytes)
        total_bytes = sum(r["num_bytes"] for r in with_bytes)
        payload = sum(r.get("payload_bytes", r["num_bytes"]) for r in with_bytes)
        bitrate["bytes_bps"] = 8 * total_bytes / seconds
        bitrate["total_bytes"] = total_bytes
        bitrate["payload_bps"] = 8 * payload / seconds
        bitrate["container_bps"] = 8 * (total_bytes - payload) / seconds
        bitrate["payload_definition"] = "codec payload bytes actually produced (container excluded)"
    elif codec.codebook_sizes:
        bitrate["payload_bps"] = codec.nominal_bps
        bitrate["payload_definition"] = "fixed-length code: frame_rate × Σ log2(codebook size)"

    failures = Counter(
        f"{r.get('stage')}: {r.get('error', '')[:120]}" for r in ordered if r["status"] != "ok"
    )
    result = {
        "schema": SCHEMA_VERSION,
        "codec": codec.describe(),
        "dataset": dataset.describe(),
        "metrics": {m: get_metric(m).describe() for m in metrics},
        "summary": summary,
        "bitrate": bitrate,
        "codebook": cb,
        "throughput": {
            "audio_seconds": audio_s,
            "encode_seconds": enc_s,
            "decode_seconds": dec_s,
            "encode_xrt": audio_s / enc_s if enc_s > 0 else None,
            "decode_xrt": audio_s / dec_s if dec_s > 0 else None,
            "batch_size": 1,
            "device": opts.device,
            "peak_memory": peak,
            "note": "wall-clock inside Codec.roundtrip, batch 1, includes resampling; "
            "metrics run concurrently in worker processes",
        },
        "counts": {
            "utterances": len(dataset.utterances),
            "recorded": len(ordered),
            "ok": sum(r["status"] == "ok" for r in ordered),
            "partial": sum(r["status"] == "partial" for r in ordered),
            "failed": sum(r["status"] == "failed" for r in ordered),
            "harness_failed": sum(r.get("stage") == "harness" for r in ordered),
        },
        "failures": dict(failures.most_common()),
        "scoring": SCORING_POLICY,
        "provenance": provenance(
            opts.device, {"workers": opts.workers, "merged_from": len(journals)}
        ),
        "utterances": ordered,
    }
    if carried:
        result["provenance"]["metrics_carried_over"] = carried
    amend = getattr(codec, "amend_result", None)  # e.g. bench.score.DecodedFolder's bitrate/notes
    if amend is not None:
        amend(result, dataset)
    atomic_write_json(path, result)
    return path


#: ``describe()`` fields that locate the implementation, not the codec: a class moved to another
#: module (``audiocodecs.taae.TAAECodec`` → ``taae.codec.TAAECodec``) decodes the same audio.
_NOT_IDENTITY = ("class",)


def _why_not_same(old: dict[str, Any], codec: Codec, dataset: Dataset) -> str | None:
    """Why an earlier result's per-utterance values do not belong to ``codec`` on ``dataset``
    (``None``: they do). Fields added to ``describe()`` after the earlier run (schema growth) are
    not a change of the codec; every other field both hold must match."""
    try:
        if old["dataset"]["ids_sha256"] != dataset.ids_hash:
            return "it was measured on other utterances"
        now = _jsonable(codec.describe())
        before = _jsonable(old["codec"])
    except (KeyError, TypeError) as e:
        return f"it has no codec or dataset description ({e})"
    for key in sorted(set(now) & set(before)):
        if key not in _NOT_IDENTITY and now[key] != before[key]:
            return f"the codec's `{key}` changed ({before[key]!r} → {now[key]!r})"
    extra = sorted(set(before) - set(now) - set(_NOT_IDENTITY))
    if extra:
        return f"it describes the codec with fields this version does not have ({extra})"
    return None


def _refuse_to_drop_metrics(path: Path, codec: Codec, dataset: Dataset, opts: RunOptions) -> None:
    """Fail before any work when writing ``path`` would erase metrics an earlier result holds
    that this run neither computes nor can carry over (see :func:`_carry_over_metrics`), unless
    ``opts.replace`` asks for exactly that."""
    if opts.replace or not path.is_file():
        return
    try:
        old = load_result(path)
    except (ValueError, OSError) as e:
        raise RunError(
            f"{path} exists but cannot be read ({e}); move it away, or pass --replace to "
            "overwrite it"
        ) from e
    extra = [m for m in old.get("metrics", {}) if m not in opts.metrics]
    why = _why_not_same(old, codec, dataset) if extra else None
    if why is not None:
        raise RunError(
            f"{path} holds metrics this run does not compute ({', '.join(extra)}) and they "
            f"cannot be carried over: {why}. Rerun with them (--metrics "
            f"{','.join([*extra, *opts.metrics])}), write elsewhere (--out), or pass --replace "
            "to overwrite the file"
        )


def _carry_over_metrics(
    path: Path,
    codec: Codec,
    dataset: Dataset,
    ordered: list[dict[str, Any]],
    run_metrics: list[str],
) -> tuple[list[str], dict[str, Any] | None]:
    """Keep the metrics an earlier result of the same codec config and utterances holds.

    ``bench run --metrics wer`` after a run of the signal metrics must add a column, not erase
    six: the codec is deterministic, so the earlier per-utterance values belong to the same decoded
    audio. Records in ``ordered`` gain the earlier values, errors, weights and skips of metrics this
    run did not compute, and their status is recomputed over all metrics. Returns the metric list
    of the result and what was carried over (for provenance), or ``None``.
    """
    if not path.is_file():
        return list(run_metrics), None
    try:
        old = load_result(path)
    except (ValueError, OSError, KeyError, TypeError):
        return list(run_metrics), None
    if _why_not_same(old, codec, dataset) is not None:
        return list(run_metrics), None
    extra = [m for m in old.get("metrics", {}) if m not in run_metrics]
    if not extra:
        return list(run_metrics), None
    before = {r["id"]: r for r in old.get("utterances", [])}
    for rec in ordered:
        prev = before.get(rec["id"])
        if prev is None or "metrics" not in rec:
            continue
        for m in extra:
            rec["metrics"][m] = (prev.get("metrics") or {}).get(m)
            for key in ("errors", "weights", "skipped", "metric_seconds"):
                if m in (prev.get(key) or {}):
                    rec.setdefault(key, {})[m] = prev[key][m]
        _set_metric_status(rec, [*extra, *run_metrics])
    order = [m for m in old["metrics"] if m not in run_metrics] + list(run_metrics)
    return order, {
        "metrics": extra,
        "from_commit": old.get("provenance", {}).get("git"),
        "from_date": old.get("provenance", {}).get("date"),
    }


def merge_shards(codec_name: str, dataset: Dataset, count: int, opts: RunOptions) -> Path:
    """Fold the journals of ``bench run --shard i/count`` (i = 0…count−1) into one result.

    Every shard must have finished with the same codec config and metrics; the merged result is
    identical whatever the split, since records are ordered by the full dataset.
    """
    codec = get_codec(codec_name, device=opts.device)
    journals = []
    header0 = None
    done: set[str] = set()
    for i in range(count):
        j = journal_for(opts, dataset.shard(i, count), codec.name)
        header, recs = j.read()
        if header is None:
            raise RunError(f"shard {i}/{count} of {codec.name} has no journal at {j.path}")
        cur = {k: header.get(k) for k in ("codec", "metrics", "dataset")}
        if header0 is None:
            header0 = cur
        elif _jsonable(cur) != _jsonable(header0):
            raise RunError(f"shard {i}/{count} of {codec.name} used another codec config/metrics")
        journals.append(j)
        done |= set(recs)
    missing = [u.id for u in dataset.utterances if u.id not in done]
    if missing:
        raise RunError(
            f"{len(missing)} utterance(s) of {dataset.slug} not in any shard journal "
            f"(e.g. {missing[0]}); finish the shards first"
        )
    assert header0 is not None
    opts = RunOptions(**{**opts.__dict__, "metrics": list(header0["metrics"])})
    _refuse_to_drop_metrics(result_path(opts.out, dataset, codec.name), codec, dataset, opts)
    peaks = [p for p in (j.read_peak() for j in journals) if p]
    peak = max(peaks, key=lambda p: p.get("mb", 0)) if peaks else {"kind": "unknown", "mb": None}
    peak = {k: v for k, v in peak.items() if k != "type"}
    return finalize(codec, dataset, journals, opts, peak)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, done: int, desc: str, opts: RunOptions) -> Any:
    if not opts.progress:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc=desc, unit="utt", dynamic_ncols=True)
