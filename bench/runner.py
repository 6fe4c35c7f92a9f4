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
import resource
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiocodecs import Codec, RoundTrip, get_codec
from bench.audio import SILENCE_PEAK, AudioError, ac_peak, load_audio, pcm_sha256
from bench.data import Dataset
from bench.results import (
    Journal,
    safe_name,
)
from bench.scoring import MetricPool, make_pool, score

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


# ------------------------------------------------------------------------------------- runner
def journal_for(opts: RunOptions, dataset: Dataset, codec_name: str) -> Journal:
    return Journal(opts.out / ".work" / dataset.slug / safe_name(codec_name))


def result_path(out: Path, dataset: Dataset, codec_name: str) -> Path:
    return out / dataset.slug / f"{safe_name(codec_name)}.json"


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
    from bench.finalize import finalize, refuse_to_drop_metrics  # late: finalize imports runner

    refuse_to_drop_metrics(result_path(opts.out, dataset, codec.name), codec, dataset, opts)
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
        if jsonable(old) != jsonable(header):
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


def jsonable(obj: Any) -> Any:
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
    journal.append(set_metric_status({**base, **res}, metrics))


def set_metric_status(record: dict[str, Any], metrics: list[str]) -> dict[str, Any]:
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
