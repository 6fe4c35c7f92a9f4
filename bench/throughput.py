"""Encode/decode throughput (seconds of audio per second, "× real time") and peak memory.

Batches of ``batch_size`` crops of ``seconds`` each, cut from the embedded real-speech set (tiled
when shorter), one untimed warm-up pass, then ``repeats`` timed passes; the median is reported.
Timing is device-synchronised and includes the shared resampling (to the codec rate in encode,
back in decode) and the host→device copy, as in ``bench run``.
"""

from __future__ import annotations

import resource
import statistics
from typing import Any

import numpy as np
import torch

from audiocodecs import get_codec
from bench.audio import TARGET_SR, load_audio
from bench.data import get_dataset
from bench.results import device_description


def speech_batch(batch_size: int, seconds: float) -> torch.Tensor:
    """``[B, 1, T]`` real speech at 16 kHz: consecutive crops of the embedded set, tiled."""
    n = int(round(seconds * TARGET_SR))
    pieces = [load_audio(u.path).wav for u in get_dataset("default").utterances]
    stream = np.concatenate(pieces)
    while len(stream) < n * batch_size:
        stream = np.concatenate([stream, stream])
    items = [stream[i * n : (i + 1) * n] for i in range(batch_size)]
    return torch.from_numpy(np.stack(items))[:, None].float()


def measure(
    name: str,
    device: str = "cpu",
    batch_size: int = 1,
    seconds: float = 10.0,
    repeats: int = 3,
    threads: int | None = None,
) -> dict[str, Any]:
    """Median encode and decode × real time of codec ``name`` plus peak memory.

    ``threads``: CPU threads for torch and for the BLAS/OpenMP pools of other libraries (via
    ``threadpoolctl``); ``None`` keeps the process defaults (all cores). Codecs with their own
    thread pools (e.g. LiteRT) may ignore it; the row records what was asked.
    """
    if threads is None:
        return _measure(name, device, batch_size, seconds, repeats)
    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with threadpool_limits(limits=threads):
            row = _measure(name, device, batch_size, seconds, repeats)
    finally:
        torch.set_num_threads(before)
    row["threads_requested"] = threads
    return row


def _measure(
    name: str, device: str, batch_size: int, seconds: float, repeats: int
) -> dict[str, Any]:
    codec = get_codec(name, device=device)
    wav = speech_batch(batch_size, seconds).to(device)
    dev = torch.device(device)
    codec.roundtrip(wav, TARGET_SR)  # warm-up (allocations, lazy init, kernels)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    enc, dec = [], []
    for _ in range(repeats):
        rt = codec.roundtrip(wav, TARGET_SR)
        enc.append(rt.encode_seconds)
        dec.append(rt.decode_seconds)
    audio_s = batch_size * seconds
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated(dev) / 2**20
        peak_kind = "cuda max_memory_allocated"
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        peak_kind = "process peak RSS"
    e, d = statistics.median(enc), statistics.median(dec)
    return {
        "codec": name,
        "device": device_description(device),
        "batch_size": batch_size,
        "seconds_per_item": seconds,
        "repeats": repeats,
        "encode_xrt": audio_s / e if e > 0 else float("inf"),
        "decode_xrt": audio_s / d if d > 0 else float("inf"),
        "encode_seconds_median": e,
        "decode_seconds_median": d,
        # spread over the timed repeats, as × real time (slowest, fastest)
        "encode_xrt_range": [audio_s / max(enc), audio_s / min(enc)] if min(enc) > 0 else None,
        "decode_xrt_range": [audio_s / max(dec), audio_s / min(dec)] if min(dec) > 0 else None,
        "threads": torch.get_num_threads(),
        "peak_memory_mb": peak,
        "peak_memory_kind": peak_kind,
    }


def _xrt(row: dict[str, Any], side: str) -> str:
    rng = row.get(f"{side}_xrt_range")
    spread = f" ({rng[0]:.1f}–{rng[1]:.1f})" if rng else ""
    return f"{row[f'{side}_xrt']:.1f}{spread}"


def throughput_table(rows: list[dict[str, Any]]) -> str:
    from tabulate import tabulate

    return tabulate(
        [
            [
                r["codec"],
                r["device"],
                r["batch_size"],
                r.get("threads", "—"),
                f"{r['seconds_per_item']:g}",
                _xrt(r, "encode"),
                _xrt(r, "decode"),
                f"{r['peak_memory_mb']:.0f} ({r['peak_memory_kind']})",
            ]
            for r in rows
        ],
        headers=[
            "codec",
            "device",
            "batch",
            "threads",
            "s/item",
            "encode ×RT (min–max)",
            "decode ×RT (min–max)",
            "peak MB",
        ],  # fmt: skip
        tablefmt="github",
        disable_numparse=True,
    )
