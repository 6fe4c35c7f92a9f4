"""CUDA path check and GPU speed of the torch codecs and metrics (run where a GPU is available).

    python benchmarks/cuda_check.py [--codecs taae_fsq,taae_rvq,taae_tiny_fsq] [--out FILE.json]

Three parts, each recorded in the JSON (with the machine, the commit and package versions):

1. **Equivalence, CPU vs CUDA**, on every utterance of the embedded ``default`` set: the share of
   identical codes when the same audio is encoded on each device; the largest absolute difference
   and the SI-SDR between the CPU and CUDA decodes *of the same (CPU) codes*; and each torch metric
   (SI-SDR, Mel, STFT distance) of the CUDA decode computed on CUDA versus on CPU.
2. **Throughput on CUDA** (:func:`bench.throughput.measure`): encode / decode × real time at batch
   1 and 16 of 10 s real-speech items, median and range of 5 timed repeats after a warm-up, with
   ``torch.cuda.max_memory_allocated``.
3. **Long audio on CUDA**: peak allocated memory and time of encode + decode at 10, 60 and 600 s
   (the blockwise inference path), per codec.

Nothing here is asserted: the script measures and reports; a reader compares the figures with the
tolerances stated in the README.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from audiocodecs import get_codec  # noqa: E402
from bench.audio import TARGET_SR, load_audio  # noqa: E402
from bench.data import get_dataset  # noqa: E402
from bench.metrics import get_metric  # noqa: E402
from bench.metrics.sisdr import si_sdr  # noqa: E402
from bench.throughput import measure  # noqa: E402

TORCH_METRICS = ("sisdr", "mel", "stft")


def equivalence(name: str, device: str) -> dict[str, Any]:
    """CPU vs ``device`` on every utterance of ``default`` for codec ``name``."""
    cpu = get_codec(name, device="cpu")
    gpu = get_codec(name, device=device)
    rows = []
    for utt in get_dataset("default").utterances:
        wav = torch.from_numpy(load_audio(utt.path).wav)[None, None].float()
        with torch.inference_mode():
            codes_cpu = cpu.encode(wav, TARGET_SR)
            codes_gpu = gpu.encode(wav.to(device), TARGET_SR).cpu()
            dec_cpu = cpu.decode(codes_cpu)[0, 0].float().cpu().numpy()
            dec_gpu = gpu.decode(codes_cpu.to(device))[0, 0].float().cpu().numpy()
        ref = wav[0, 0].numpy()
        n = min(len(ref), len(dec_gpu))
        metric_delta = {}
        for m in TORCH_METRICS:
            metric = get_metric(m)
            on_gpu = metric(ref[:n], dec_gpu[:n], device)
            on_cpu = metric(ref[:n], dec_gpu[:n], "cpu")
            metric_delta[m] = {"cuda": on_gpu, "cpu": on_cpu, "abs_diff": abs(on_gpu - on_cpu)}
        same = codes_cpu.shape == codes_gpu.shape
        rows.append(
            {
                "utterance": utt.id,
                "codes_identical_share": (
                    float((codes_cpu == codes_gpu).float().mean()) if same else 0.0
                ),
                "decode_max_abs_diff": float(np.max(np.abs(dec_cpu - dec_gpu))),
                "decode_agreement_si_sdr_db": si_sdr(dec_cpu, dec_gpu),
                "metrics_on_cuda_vs_cpu": metric_delta,
            }
        )
    return {
        "codec": name,
        "utterances": len(rows),
        "min_codes_identical_share": min(r["codes_identical_share"] for r in rows),
        "max_decode_abs_diff": max(r["decode_max_abs_diff"] for r in rows),
        "min_decode_agreement_si_sdr_db": min(r["decode_agreement_si_sdr_db"] for r in rows),
        "max_metric_abs_diff": {
            m: max(r["metrics_on_cuda_vs_cpu"][m]["abs_diff"] for r in rows) for m in TORCH_METRICS
        },
        "rows": rows,
    }


def long_audio(name: str, device: str, seconds: list[float]) -> list[dict[str, Any]]:
    """Peak allocated memory and wall time of encode + decode on long noise-like input."""
    codec = get_codec(name, device=device)
    dev = torch.device(device)
    out = []
    for s in seconds:
        x = torch.randn(1, 1, int(s * TARGET_SR), generator=torch.Generator().manual_seed(0)) * 0.05
        x = x.to(dev)
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
        base = torch.cuda.memory_allocated(dev) / 2**20
        t0 = time.perf_counter()
        with torch.inference_mode():
            codes = codec.encode(x, TARGET_SR)
            torch.cuda.synchronize(dev)
            t1 = time.perf_counter()
            y = codec.decode(codes)
            torch.cuda.synchronize(dev)
        t2 = time.perf_counter()
        out.append(
            {
                "codec": name,
                "seconds": s,
                "encode_s": t1 - t0,
                "decode_s": t2 - t1,
                "samples_out": int(y.shape[-1]),
                "allocated_before_mb": base,
                "peak_allocated_mb": torch.cuda.max_memory_allocated(dev) / 2**20,
            }
        )
        print(json.dumps(out[-1]), flush=True)
        del x, codes, y
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--codecs", default="taae_fsq,taae_rvq,taae_tiny_fsq")
    p.add_argument("--device", default="cuda")
    p.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16])
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--long-seconds", type=float, nargs="+", default=[10.0, 60.0, 600.0])
    p.add_argument("--out", help="write everything as JSON here")
    p.add_argument("--note", default="", help="free text stored in the JSON (e.g. the code commit)")
    args = p.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("no CUDA device visible to torch: run this on a GPU machine")
    names = [c.strip() for c in args.codecs.split(",") if c.strip()]
    report: dict[str, Any] = {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        "note": args.note,
        "equivalence": [],
        "throughput": [],
        "long_audio": [],
    }
    for name in names:
        eq = equivalence(name, args.device)
        print(json.dumps({k: v for k, v in eq.items() if k != "rows"}), flush=True)
        report["equivalence"].append(eq)
    for name in names:
        for b in args.batch_sizes:
            row = measure(name, args.device, b, 10.0, args.repeats)
            print(json.dumps(row), flush=True)
            report["throughput"].append(row)
    for name in names:
        report["long_audio"] += long_audio(name, args.device, args.long_seconds)
    if args.out:
        from bench.results import atomic_write_json, provenance

        report["provenance"] = provenance(args.device)
        atomic_write_json(Path(args.out), report)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
