"""Trainer: seeded crops, AdamW + warm-up/cosine, clipping, AMP on CUDA, DDP, exact resume.

Run layout (``--out DIR``)::

    DIR/log.jsonl                 one JSON line per logged step / validation pass
    DIR/step_000500/              checkpoints (see :mod:`taae.checkpoint`)
    DIR/latest.txt                name of the newest checkpoint folder

Resuming (the default when ``DIR/latest.txt`` exists) restores model, optimizer, scheduler,
discriminator, RNG and sampler states and the step, so the next step is bit-for-bit the one an
uninterrupted run would take (same device, thread count and world size).

Multi-process: launch with ``torchrun --nproc_per_node N -m taae train ...``; each rank draws
its own crops (seed + rank) and gradients are averaged (NCCL on CUDA, gloo on CPU). Only rank 0
writes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

from taae.checkpoint import (
    git_commit,
    load_train_state,
    resolve,
    save_model,
    save_train_state,
)
from taae.config import TAAEConfig
from taae.data import Corpus, CropSampler, files_digest, fixed_segments, list_audio
from taae.discriminators import (
    MultiResolutionSTFTDiscriminator,
    discriminator_hinge_loss,
    feature_matching_loss,
    generator_adversarial_loss,
)
from taae.losses import ReconstructionLoss, weighted_total
from taae.model import TAAE, count_parameters


def si_sdr(estimate: torch.Tensor, reference: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Scale-invariant SDR in dB per item of ``[B, 1, T]`` (zero-mean, as in bench.metrics)."""
    est = estimate.flatten(1) - estimate.flatten(1).mean(dim=1, keepdim=True)
    ref = reference.flatten(1) - reference.flatten(1).mean(dim=1, keepdim=True)
    scale = (est * ref).sum(1, keepdim=True) / (ref.pow(2).sum(1, keepdim=True) + eps)
    target = scale * ref
    noise = est - target
    return 10 * torch.log10((target.pow(2).sum(1) + eps) / (noise.pow(2).sum(1) + eps))


def lr_factor(step: int, warmup: int, total: int, min_ratio: float) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then cosine decay to ``min_ratio``."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclasses.dataclass
class DistInfo:
    """Process-group facts (world size 1 when not launched by torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group torchrun describes in the environment, if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def _rng_state(device: torch.device) -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def init_weights(model: torch.nn.Module, path: str | Path, cfg: TAAEConfig) -> dict[str, Any]:
    """Load a checkpoint's weights into ``model`` for fine-tuning (step 0, fresh optimizer).

    The checkpoint must have the run's architecture: its ``model`` and ``bottleneck`` configs must
    equal ``cfg``'s, else ``ValueError`` names the fields that differ (losses and schedule may
    differ: that is what a fine-tuning stage changes). Returns what is recorded in the run's
    checkpoints: the path as given, the source preset and step, and the weights' SHA-256.
    """
    import hashlib

    from safetensors.torch import load_file

    from taae.checkpoint import MODEL_FILE, read_config

    try:
        folder = resolve(path)
    except FileNotFoundError as err:
        raise FileNotFoundError(f"train.init_from: no checkpoint at {path!r} ({err})") from err
    src, meta = read_config(folder)
    diff = {
        f"{section}.{k}": (a, b)
        for section in ("model", "bottleneck")
        for k, (a, b) in {
            f.name: (getattr(getattr(src, section), f.name), getattr(getattr(cfg, section), f.name))
            for f in dataclasses.fields(getattr(cfg, section))
        }.items()
        if a != b
    }
    growable = {k: (a, b) for k, (a, b) in diff.items() if _grows(k, a, b)}
    if diff and (set(diff) != set(growable) or not cfg.train.init_grow):
        hint = (
            " (train.init_grow=True allows more decoder blocks and a head_hidden branch)"
            if set(diff) == set(growable)
            else ""
        )
        raise ValueError(
            f"train.init_from {path!r} has another architecture: "
            + ", ".join(f"{k}: checkpoint {a!r} vs run {b!r}" for k, (a, b) in diff.items())
            + hint
        )
    weights = folder / MODEL_FILE
    state = load_file(str(weights))
    if not growable:
        model.load_state_dict(state)
    else:
        _grow_into(model, state, src.model)
    return {
        "from": str(path),
        "preset": meta.get("preset", src.name),
        "step": meta.get("step"),
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
    } | ({"grown": {k: [a, b] for k, (a, b) in growable.items()}} if growable else {})


def _grows(key: str, before: Any, after: Any) -> bool:
    """Whether changing config field ``key`` from ``before`` to ``after`` only adds decoder parts
    that :func:`_grow_into` can start as the identity."""
    if key in ("model.dec_blocks_25hz", "model.dec_blocks_50hz"):
        return after > before
    return key == "model.head_hidden" and before == 0 and after > 0


def _grow_into(model: torch.nn.Module, state: dict[str, torch.Tensor], src: Any) -> None:
    """Load a smaller model's ``state`` into ``model`` (more decoder blocks, a head branch).

    Every tensor of ``state`` must land on a parameter of the same name and shape; the parameters
    it lacks must be the added decoder blocks (appended after the existing ones at each rate,
    their LayerScale set to 0 so each block is the identity) or the iSTFT head's branch (whose
    output layer is zero at init). The grown model therefore computes exactly what the checkpoint
    did at step 0 (tested).
    """
    missing, unexpected = model.load_state_dict(state, strict=False)
    kept = {"stack25": src.dec_blocks_25hz, "stack50": src.dec_blocks_50hz}
    added: set[tuple[str, int]] = set()
    for key in missing:
        parts = key.split(".")
        if parts[:3] == ["decoder", "unpatch", "branch"]:
            continue
        if parts[0] == "decoder" and parts[2] == "blocks" and int(parts[3]) >= kept[parts[1]]:
            added.add((parts[1], int(parts[3])))
            continue
        unexpected.append(key)
    if unexpected:
        raise ValueError(f"train.init_grow: checkpoint and run disagree on {sorted(unexpected)}")
    with torch.no_grad():
        for stack, index in added:
            block = getattr(model.decoder, stack).blocks[index]
            block.gamma1.zero_()
            block.gamma2.zero_()


class Trainer:
    """One training run of a :class:`TAAEConfig` on folders of audio.

    Args:
        cfg: the run's configuration (``cfg.train.steps`` is the schedule length).
        data: training folders/files.
        out: run folder.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"`` ... (``cuda`` picks LOCAL_RANK under torchrun).
        val_data: validation folders (default: fixed crops of the training files).
        resume: continue from ``out/latest.txt`` when present.
        progress: show a tqdm progress bar (rank 0).
    """

    def __init__(
        self,
        cfg: TAAEConfig,
        data: list[str | Path],
        out: str | Path,
        device: str | torch.device = "cpu",
        val_data: list[str | Path] | None = None,
        resume: bool = True,
        progress: bool = True,
    ) -> None:
        self.cfg = cfg
        self.out = Path(out)
        device = torch.device(device)
        self.dist = init_distributed(device)
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", self.dist.local_rank)
        if device.type == "cuda":
            torch.cuda.set_device(device)
        self.device = device
        self.progress = progress and self.dist.is_main
        tc = cfg.train
        if device.type == "cpu":
            # Silent crops drive activations into denormals, which are very slow on x86 CPUs.
            torch.set_flush_denormal(True)

        # Same init on every rank (DDP also broadcasts rank 0's weights).
        torch.manual_seed(tc.seed)
        random.seed(tc.seed)
        self.model = TAAE(cfg.model, cfg.bottleneck, device=device)
        self.loss_fn = ReconstructionLoss(cfg.loss, cfg.model.sample_rate, device=device)
        self.use_adv = cfg.loss.adv_weight > 0 or cfg.loss.fm_weight > 0
        self.disc = (
            MultiResolutionSTFTDiscriminator(
                cfg.loss.disc_fft_sizes, cfg.loss.disc_channels, device=device
            )
            if self.use_adv
            else None
        )
        self.opt = torch.optim.AdamW(
            self.model.parameters(), lr=tc.lr, betas=tc.betas, weight_decay=tc.weight_decay
        )
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: lr_factor(s, tc.warmup_steps, tc.steps, tc.min_lr_ratio)
        )
        self.opt_d = (
            torch.optim.AdamW(self.disc.parameters(), lr=cfg.loss.disc_lr, betas=(0.8, 0.99))
            if self.disc is not None
            else None
        )
        # Noise/mode draws differ per rank; data draws are seeded separately (seed + rank).
        torch.manual_seed(tc.seed + 1000 * self.dist.rank)

        self.files = list_audio(data)
        self.corpus = Corpus(self.files, cfg.model.sample_rate)
        crop = tc.crop_samples(cfg.model.hop_length, cfg.model.sample_rate)
        self.sampler = CropSampler(self.corpus, crop, seed=tc.seed + self.dist.rank)
        val_corpus = (
            Corpus(list_audio(val_data), cfg.model.sample_rate) if val_data else self.corpus
        )
        self.val_source = "val_data" if val_data else "training files (fixed crops)"
        val_len = tc.crop_samples(cfg.model.hop_length, cfg.model.sample_rate)
        val_len = max(val_len, int(tc.val_seconds * cfg.model.sample_rate))
        self.val_batch = fixed_segments(val_corpus, tc.val_segments, val_len, seed=tc.seed + 7919)
        self.step = 0
        self.init_info: dict[str, Any] = {}

        if resume and (self.out / "latest.txt").exists():
            self._load(resolve(self.out))
        elif tc.init_from:
            self.init_info = init_weights(self.model, tc.init_from, cfg)

        self.ddp_model: torch.nn.Module = self.model
        self.ddp_disc: torch.nn.Module | None = self.disc
        if self.dist.world_size > 1:
            ids = [device.index] if device.type == "cuda" else None
            self.ddp_model = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
            if self.disc is not None:
                self.ddp_disc = torch.nn.parallel.DistributedDataParallel(self.disc, device_ids=ids)

    # ------------------------------------------------------------------------------ bookkeeping
    def meta(self) -> dict[str, Any]:
        """Provenance written into every checkpoint."""
        return {
            "preset": self.cfg.name,
            "step": self.step,
            "git_commit": git_commit(),
            "data": [str(f) for f in self.files],
            "data_digest": files_digest(self.files),
            "data_seconds": round(self.corpus.seconds, 1),
            "num_parameters": count_parameters(self.model),
            "frame_rate": self.model.frame_rate,
            "num_codebooks": self.model.bottleneck.num_codebooks,
            "codebook_sizes": list(self.model.bottleneck.codebook_sizes),
            "nominal_bps": self.model.frame_rate
            * sum(math.log2(s) for s in self.model.bottleneck.codebook_sizes),
            "world_size": self.dist.world_size,
            "device": str(self.device),
            "torch": torch.__version__,
        } | ({"init": self.init_info} if self.init_info else {})

    def save(self) -> Path:
        """Write a checkpoint for the current step (rank 0) and point ``latest.txt`` at it."""
        folder = self.out / f"step_{self.step:06d}"
        if self.dist.is_main:
            save_model(folder, self.model, self.cfg, self.meta())
            state: dict[str, Any] = {
                "step": self.step,
                "optimizer": self.opt.state_dict(),
                "scheduler": self.sched.state_dict(),
                "sampler": self.sampler.state_dict(),
                "rng": _rng_state(self.device),
            }
            if self.disc is not None and self.opt_d is not None:
                state["disc"] = self.disc.state_dict()
                state["opt_d"] = self.opt_d.state_dict()
            save_train_state(folder, state)
            tmp = self.out / "latest.txt.tmp"
            tmp.write_text(folder.name + "\n")
            os.replace(tmp, self.out / "latest.txt")
        if self.dist.world_size > 1:
            dist.barrier()
        return folder

    def _load(self, folder: Path) -> None:
        from safetensors.torch import load_file

        self.model.load_state_dict(load_file(str(folder / "model.safetensors")))
        self.model.to(self.device)
        from taae.checkpoint import read_config

        self.init_info = read_config(folder)[1].get("init", {})  # a fine-tuning run's source
        state = load_train_state(folder)
        self.opt.load_state_dict(state["optimizer"])
        self.sched.load_state_dict(state["scheduler"])
        if self.disc is not None and self.opt_d is not None and "disc" in state:
            self.disc.load_state_dict(state["disc"])
            self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state["step"])
        if self.dist.world_size == 1:
            self.sampler.load_state_dict(state["sampler"])
            _set_rng_state(state["rng"], self.device)
        else:
            # Only rank 0's states are stored; other ranks re-derive theirs from seed and step.
            g = self.cfg.train.seed + self.dist.rank + 7 * self.step
            self.sampler.generator.manual_seed(g)
            torch.manual_seed(g + 1000)
            if self.dist.is_main:
                self.sampler.load_state_dict(state["sampler"])
                _set_rng_state(state["rng"], self.device)

    def log(self, record: dict[str, Any]) -> None:
        """Append one JSON line to ``log.jsonl`` (rank 0)."""
        if not self.dist.is_main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        with open(self.out / "log.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")

    def _autocast(self) -> contextlib.AbstractContextManager[Any]:
        if self.device.type == "cuda" and self.cfg.train.amp:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    # ---------------------------------------------------------------------------------- steps
    def train_step(self) -> dict[str, float]:
        """One optimizer step (and one discriminator step once adversarial terms are on)."""
        cfg = self.cfg
        self.model.train()
        x = self.sampler.sample(cfg.train.batch_size).to(self.device)
        adv_on = self.disc is not None and self.step >= cfg.loss.adv_start_step
        with self._autocast():
            y, result = self.ddp_model(x)
            terms = self.loss_fn(y.float(), x)
            if cfg.loss.aux_weight and result.aux_loss.requires_grad:
                terms["vq/aux"] = result.aux_loss
            n_adv = cfg.loss.disc_crops or x.shape[0]  # a cheaper D sees the first N crops
            if adv_on:
                assert self.disc is not None
                self.disc.requires_grad_(False)
                fake = self.disc(y[:n_adv])  # un-wrapped: these D gradients are never used
                if cfg.loss.adv_weight:
                    terms["adv/gen"] = generator_adversarial_loss(fake)
                if cfg.loss.fm_weight:
                    with torch.no_grad():
                        real = self.disc(x[:n_adv])
                    terms["fm/l1"] = feature_matching_loss(real, fake)
                self.disc.requires_grad_(True)
            total = weighted_total(terms, cfg.loss)
        self.opt.zero_grad(set_to_none=True)
        total.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.train.grad_clip)
        self.opt.step()
        self.sched.step()
        record = {k: float(v.detach()) for k, v in terms.items()}
        record["loss/total"] = float(total.detach())
        record["grad_norm"] = float(grad_norm)
        record["lr"] = self.sched.get_last_lr()[0]
        if adv_on:
            assert self.ddp_disc is not None and self.opt_d is not None
            with self._autocast():
                both = torch.cat([x[:n_adv], y[:n_adv].detach().to(x.dtype)], dim=0)
                outs = self.ddp_disc(both)
                b = n_adv
                real = [(lg[:b], []) for lg, _ in outs]
                fake = [(lg[b:], []) for lg, _ in outs]
                loss_d = discriminator_hinge_loss(real, fake)
            self.opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            torch.nn.utils.clip_grad_norm_(self.disc.parameters(), cfg.train.grad_clip)
            self.opt_d.step()
            record["adv/disc"] = float(loss_d.detach())
        record.update(result.metrics)
        self.step += 1
        return record

    @torch.no_grad()
    def validate(self) -> dict[str, float]:
        """Mel/STFT distances on the fixed validation crops: quantized and unquantized decodes.

        ``val/si_sdr`` (dB, quantized decode) tracks phase coherence, which the magnitude
        losses do not see.

        The unquantized decode feeds the decoder the bounded latent without rounding; the difference
        is the quantization gap (DESIGN.md §7).
        """
        from taae.config import LossConfig

        self.model.eval()
        probe = ReconstructionLoss(
            LossConfig(
                mel_weight=1.0,
                stft_weight=1.0,
                mel_fft_sizes=self.cfg.loss.mel_fft_sizes,
                mel_bins=self.cfg.loss.mel_bins,
                stft_fft_sizes=self.cfg.loss.stft_fft_sizes,
            )
        ).to(self.device)
        x = self.val_batch.to(self.device)
        q_terms: list[dict[str, torch.Tensor]] = []
        u_terms: list[dict[str, torch.Tensor]] = []
        sdr: list[torch.Tensor] = []
        for i in range(0, x.shape[0], 4):
            xb = x[i : i + 4]
            with self._autocast():
                yq, _ = self.model(xb)
                yu = self.model.reconstruct_unquantized(xb)
            q_terms.append(probe(yq.float(), xb))
            u_terms.append(probe(yu.float(), xb))
            sdr.append(si_sdr(yq.float(), xb))
        self.model.train()
        out = {
            "val/mel": float(torch.stack([t["rec/mel"] for t in q_terms]).mean()),
            "val/stft": float(torch.stack([t["rec/stft"] for t in q_terms]).mean()),
            "val/mel_unquantized": float(torch.stack([t["rec/mel"] for t in u_terms]).mean()),
        }
        out["val/quantization_gap_mel"] = out["val/mel"] - out["val/mel_unquantized"]
        out["val/si_sdr"] = float(torch.cat(sdr).mean())
        return out

    def batches(self) -> Iterator[dict[str, float]]:
        """Run steps until ``cfg.train.steps``, yielding each step's record."""
        while self.step < self.cfg.train.steps:
            yield self.train_step()

    def run(self, max_steps: int | None = None) -> dict[str, Any]:
        """Train until ``cfg.train.steps`` (or ``max_steps`` more steps); return a summary."""
        tc = self.cfg.train
        end = tc.steps if max_steps is None else min(tc.steps, self.step + max_steps)
        if self.dist.is_main and self.step == 0:
            self.out.mkdir(parents=True, exist_ok=True)
            self.log({"event": "start", **self.meta(), "config": dataclasses.asdict(self.cfg)})
        bar = None
        if self.progress:
            from tqdm import tqdm

            bar = tqdm(total=end, initial=self.step, desc=self.cfg.name, dynamic_ncols=True)
        t0, s0 = time.perf_counter(), self.step
        first_loss = last_loss = float("nan")
        while self.step < end:
            rec = self.train_step()
            if math.isnan(first_loss):
                first_loss = rec["loss/total"]
            last_loss = rec["loss/total"]
            if bar is not None:
                bar.update(1)
                bar.set_postfix(
                    {k: f"{v:.3f}" for k, v in rec.items() if k.startswith(("rec/", "adv/", "fm/"))}
                )
            if self.step % tc.log_every == 0 or self.step == end:
                sps = (self.step - s0) / max(1e-9, time.perf_counter() - t0)
                elapsed = round(time.perf_counter() - t0, 2)
                self.log(
                    {"step": self.step, "steps_per_s": round(sps, 3), "elapsed_s": elapsed} | rec
                )
            if self.step % tc.val_every == 0 or self.step == end:
                if self.dist.is_main:
                    val = self.validate()
                    self.log({"step": self.step, **val, "val_source": self.val_source})
                    if bar is not None:
                        bar.write(
                            f"step {self.step}: "
                            + ", ".join(f"{k}={v:.4f}" for k, v in val.items())
                        )
            if self.step % tc.ckpt_every == 0 or self.step == end:
                self.save()
        if bar is not None:
            bar.close()
        elapsed = time.perf_counter() - t0
        return {
            "step": self.step,
            "steps_run": self.step - s0,
            "seconds": elapsed,
            "steps_per_s": (self.step - s0) / max(1e-9, elapsed),
            "first_loss": first_loss,
            "last_loss": last_loss,
        }


def train(
    cfg: TAAEConfig,
    data: list[str | Path],
    out: str | Path,
    device: str = "cpu",
    steps: int | None = None,
    val_data: list[str | Path] | None = None,
    resume: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Train ``cfg`` (``steps`` overrides the schedule length); returns the run summary."""
    if steps is not None:
        cfg = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, steps=steps))
    trainer = Trainer(cfg, data, out, device, val_data=val_data, resume=resume, progress=progress)
    try:
        return trainer.run()
    finally:
        if trainer.dist.world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()
