"""What the ablation would cost at GPU scale: counted FLOPs per training step, estimated hours.

    python benchmarks/gpu_budget.py [--tflops 100] [--out results/perf/gpu_budget.json]

For each GPU-scale hybrid preset (``small``, ``paper``; the other four variants differ only in the
bottleneck, whose cost is negligible) the autoencoder's forward + backward on one training crop,
and the MR-STFT discriminator's, are run on PyTorch's ``meta`` device (shapes only, no memory, no
arithmetic) under ``torch.utils.flop_counter.FlopCounterMode``. Per step:

    autoencoder:   batch × AE(fwd + bwd)
    adversarial:   batch × 3 × D(fwd + bwd)   (D step on real + fake, G step through D)
                   from ``loss.adv_start_step`` on

Hours = Σ FLOPs over the preset's schedule / ``--tflops`` sustained. The FLOPs are counted; the
sustained rate is an **assumption** (100 TFLOP/s ≈ 10 % of an H100's dense bf16 peak, a usual
utilisation for models of this size) until someone measures it: rescale the hours by
(assumed / measured). Losses, data loading and the bottleneck are not counted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.results import atomic_write_json, provenance  # noqa: E402
from taae.discriminators import MultiResolutionSTFTDiscriminator  # noqa: E402
from taae.model import TAAE, count_parameters  # noqa: E402
from taae.presets import get_preset  # noqa: E402

PRESETS = ("small_fsq_hybrid_613bps", "paper_fsq_hybrid_613bps")
COMMAND = (
    "python -m taae ablate --scale small --bps 613 --seeds 0 1 2 3 4 5 --device cuda "
    "--runs runs/ablation_small --results results/ablation_small"
)


def flops_per_example(preset: str) -> dict[str, Any]:
    """Counted FLOPs of one training crop ``[1, 1, crop]``: autoencoder and discriminator."""
    cfg = get_preset(preset)
    model = TAAE(cfg.model, cfg.bottleneck, device="meta")
    x = torch.zeros(1, 1, int(cfg.train.crop_seconds * 16000), device="meta")
    with FlopCounterMode(display=False) as fc:
        y = model.decoder(model.encoder(model.pad(x)))  # the bottleneck's cost is negligible
        y.abs().mean().backward()
    ae = fc.get_total_flops()
    disc = MultiResolutionSTFTDiscriminator(
        cfg.loss.disc_fft_sizes, cfg.loss.disc_channels, device="meta"
    )
    xd = x.clone().requires_grad_()
    with FlopCounterMode(display=False) as fc:
        sum(logits.mean() for logits, _ in disc(xd)).backward()
    d = fc.get_total_flops()
    return {"params": count_parameters(model), "ae_flops": ae, "disc_flops": d, "cfg": cfg}


def budget(preset: str, tflops: float) -> dict[str, Any]:
    """One preset's schedule: FLOPs per step before/after the adversarial terms, hours per run."""
    f = flops_per_example(preset)
    cfg = f.pop("cfg")
    batch, steps = cfg.train.batch_size, cfg.train.steps
    adv = cfg.loss.adv_weight > 0 or cfg.loss.fm_weight > 0
    adv_steps = max(0, steps - cfg.loss.adv_start_step) if adv else 0
    ae_step = batch * f["ae_flops"]
    adv_step = batch * 3 * f["disc_flops"] if adv else 0
    total = steps * ae_step + adv_steps * adv_step
    return {
        "preset": preset,
        "params": f["params"],
        "steps": steps,
        "batch": batch,
        "crop_seconds": cfg.train.crop_seconds,
        "adv_steps": adv_steps,
        "ae_flops_per_example": f["ae_flops"],
        "disc_flops_per_example": f["disc_flops"],
        "train_flops_per_step": ae_step + adv_step,
        "train_flops_total": total,
        "hours_per_run": total / (tflops * 1e12) / 3600.0,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tflops", type=float, default=100.0, help="assumed sustained TFLOP/s")
    ap.add_argument("--out", default=str(REPO / "results" / "perf" / "gpu_budget.json"))
    args = ap.parse_args()
    rows = [budget(p, args.tflops) for p in PRESETS]
    for r in rows:
        print(
            f"{r['preset']}: {r['params'] / 1e6:.1f} M params, "
            f"{r['train_flops_per_step'] / 1e12:.2f} TFLOP/step (with adversarial terms), "
            f"{r['hours_per_run']:.1f} h per run at {args.tflops:g} TFLOP/s"
        )
    atomic_write_json(
        Path(args.out),
        {
            "assumed_tflops": args.tflops,
            "command": COMMAND,
            "how": "python benchmarks/gpu_budget.py (FLOPs counted on the meta device; the "
            "sustained rate is assumed, not measured)",
            "presets": rows,
            "provenance": provenance("meta"),
        },
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
