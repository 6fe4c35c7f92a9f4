"""From journals to result files: fold a run's (or its shards') journal into the result JSON,
carry over metrics of an earlier result of the same codec and utterances, refuse to drop the ones
it cannot carry, and merge the shards of ``bench run --shard I/N``."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from audiocodecs import Codec, get_codec
from bench.codebook import CodebookStats
from bench.data import Dataset
from bench.results import (
    SCHEMA_VERSION,
    Journal,
    atomic_write_json,
    load_result,
    provenance,
)
from bench.runner import (
    SCORING_POLICY,
    RunError,
    RunOptions,
    journal_for,
    jsonable,
    result_path,
    set_metric_status,
)


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
        now = jsonable(codec.describe())
        before = jsonable(old["codec"])
    except (KeyError, TypeError) as e:
        return f"it has no codec or dataset description ({e})"
    for key in sorted(set(now) & set(before)):
        if key not in _NOT_IDENTITY and now[key] != before[key]:
            return f"the codec's `{key}` changed ({before[key]!r} → {now[key]!r})"
    extra = sorted(set(before) - set(now) - set(_NOT_IDENTITY))
    if extra:
        return f"it describes the codec with fields this version does not have ({extra})"
    return None


def refuse_to_drop_metrics(path: Path, codec: Codec, dataset: Dataset, opts: RunOptions) -> None:
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
        set_metric_status(rec, [*extra, *run_metrics])
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
        elif jsonable(cur) != jsonable(header0):
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
    refuse_to_drop_metrics(result_path(opts.out, dataset, codec.name), codec, dataset, opts)
    peaks = [p for p in (j.read_peak() for j in journals) if p]
    peak = max(peaks, key=lambda p: p.get("mb", 0)) if peaks else {"kind": "unknown", "mb": None}
    peak = {k: v for k, v in peak.items() if k != "type"}
    return finalize(codec, dataset, journals, opts, peak)
