"""``python -m taae ablate``: train every ablation variant × seed, evaluate, publish ABLATION.md.

One command reproduces the study (DESIGN.md §1, issue "Run both ablations"):

1. **Train** the five variants of one size and bitrate family — FSQ ``hybrid`` / ``ste`` /
   ``noise`` / ``none`` and ``rvq`` at the same bitrate — for every seed. The presets differ from
   the hybrid reference in exactly one field; the seed is set with ``train.seed`` and nothing
   else changes. A run whose newest checkpoint reached ``--steps`` is skipped; an interrupted run
   resumes exactly from its newest checkpoint. Runs go to ``RUNS/seed<S>/<preset>/`` and their
   final weights are exported to ``RUNS/seed<S>/checkpoints/<preset>/``.
2. **Evaluate** each seed's checkpoints with ``python -m bench run`` (``$TAAE_CHECKPOINTS``
   pointing at that seed's export folder) on every evaluation set, writing
   ``RESULTS/seed<S>/<dataset>/<codec>.json``. Finished result files are kept (the harness resumes
   its own journals), so rerunning the command only fills gaps.
3. **Quantization gap**: for every run, Mel distance and STOI of the quantized decode versus the
   decode of the bounded, unquantized latent on the same utterances (``RESULTS/gaps.json``).
4. **Report**: :mod:`taae.study` writes ``RESULTS/ABLATION.md`` and its plots.

Training jobs run as subprocesses (``--jobs`` at a time, ``--threads`` torch threads each), each
logging to ``RUNS/seed<S>/<preset>.out``. On GPUs run the same command with ``--device cuda`` (one
job per GPU), or train each preset with ``torchrun`` and rerun ``ablate`` to evaluate.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VARIANTS = ("hybrid", "ste", "noise", "none", "rvq")
DEFAULT_EVAL_SETS = ("librispeech-test-clean-122", "default")


@dataclasses.dataclass(frozen=True)
class AblationRun:
    """One (variant, seed) training run and where its outputs live."""

    variant: str
    preset: str
    seed: int
    run_dir: Path
    ckpt_root: Path  # TAAE_CHECKPOINTS for this seed: ckpt_root / preset holds the weights
    codec: str  # registry name that loads ckpt_root / preset

    @property
    def ckpt_dir(self) -> Path:
        return self.ckpt_root / self.preset

    @property
    def log_file(self) -> Path:
        return self.run_dir.parent / f"{self.preset}.out"


def plan(
    scale: str,
    bps: int,
    seeds: list[int],
    runs_root: Path,
    variants: tuple[str, ...] = VARIANTS,
) -> list[AblationRun]:
    """All runs of the study, seed-major (seed 0 of every variant first)."""
    from taae.codec import FAMILY_SUFFIX, ablation_codec_name, ablation_preset
    from taae.presets import PRESETS

    if bps not in FAMILY_SUFFIX:
        raise ValueError(f"no registry names for the {bps} bps family (have {list(FAMILY_SUFFIX)})")
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown:
        raise ValueError(f"unknown variants {unknown} (have {list(VARIANTS)})")
    out = []
    for seed in seeds:
        for variant in (v for v in VARIANTS if v in variants):
            preset = ablation_preset(variant, bps, scale)
            if preset not in PRESETS:
                raise KeyError(f"no preset {preset!r} (see `python -m taae presets`)")
            out.append(
                AblationRun(
                    variant=variant,
                    preset=preset,
                    seed=seed,
                    run_dir=runs_root / f"seed{seed}" / preset,
                    ckpt_root=runs_root / f"seed{seed}" / "checkpoints",
                    codec=ablation_codec_name(variant, bps, scale),
                )
            )
    return out


def train_one(
    run: AblationRun, data: list[str], steps: int, threads: int, device: str
) -> dict[str, Any]:
    """Train (or resume) one run to ``steps`` and export it; returns a status record."""
    from taae.checkpoint import checkpoint_step, export_checkpoint

    start = time.time()
    before = checkpoint_step(run.run_dir)
    if before < steps:
        run.run_dir.parent.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "taae",
            "train",
            "--preset",
            run.preset,
            "--data",
            *data,
            "--out",
            str(run.run_dir),
            "--steps",
            str(steps),
            "--device",
            device,
            "--no-progress",
            "--set",
            f"train.seed={run.seed}",
        ]
        if threads:
            cmd += ["--threads", str(threads)]
        with open(run.log_file, "a") as log:
            log.write(f"$ {' '.join(cmd)}\n")
            log.flush()
            proc = subprocess.run(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        if proc.returncode != 0:
            return {
                "run": run.run_dir.name,
                "seed": run.seed,
                "status": "failed",
                "log": str(run.log_file),
            }
    if checkpoint_step(run.ckpt_dir) != checkpoint_step(run.run_dir):
        export_checkpoint(run.run_dir, run.ckpt_dir)
    return {
        "run": run.preset,
        "seed": run.seed,
        "status": "trained" if before < steps else "skipped (complete)",
        "from_step": before,
        "seconds": round(time.time() - start, 1),
    }


def train_all(
    runs: list[AblationRun], data: list[str], steps: int, jobs: int, threads: int, device: str
) -> list[dict[str, Any]]:
    """Train every run, ``jobs`` at a time; prints one line per finished run."""
    from taae.checkpoint import checkpoint_step

    todo = [r for r in runs if checkpoint_step(r.run_dir) < steps or not r.ckpt_dir.exists()]
    print(
        f"training: {len(runs) - len(todo)} of {len(runs)} runs complete, {len(todo)} to go "
        f"({jobs} at a time, {steps} steps each)",
        flush=True,
    )
    records: list[dict[str, Any]] = []

    def work(run: AblationRun) -> dict[str, Any]:
        rec = train_one(run, data, steps, threads, device)
        print(
            f"  [{len(records) + 1}/{len(todo)}] {run.preset} seed {run.seed}: {rec['status']}",
            flush=True,
        )
        records.append(rec)
        return rec

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        list(pool.map(work, todo))
    failed = [r for r in records if r["status"] == "failed"]
    if failed:
        raise RuntimeError(f"{len(failed)} training runs failed; see {[r['log'] for r in failed]}")
    return records


def ladder_codecs(runs: list[AblationRun]) -> list[str]:
    """Registered post-hoc residual-FSQ ladder entries of the hybrid run (``taae_fsq_348@…``)."""
    from audiocodecs.registry import codec_names
    from taae.codec import LADDER_SUFFIXES

    names = set(codec_names())
    hybrid = [r.codec for r in runs if r.variant == "hybrid"]
    return [h + suffix for h in hybrid for suffix in LADDER_SUFFIXES if h + suffix in names]


def evaluate(
    runs: list[AblationRun],
    eval_sets: list[str],
    results_root: Path,
    device: str,
    workers: int | None,
    bench_args: list[str] | None = None,
    ladder: bool = True,
) -> None:
    """``python -m bench run`` per seed and evaluation set (results under ``results_root``);
    ``ladder`` adds the hybrid model's post-hoc residual-FSQ points (three more codecs)."""
    by_seed: dict[int, list[AblationRun]] = {}
    for run in runs:
        by_seed.setdefault(run.seed, []).append(run)
    for seed, seed_runs in sorted(by_seed.items()):
        codecs = [r.codec for r in seed_runs] + (ladder_codecs(seed_runs) if ladder else [])
        env = dict(os.environ, TAAE_CHECKPOINTS=str(seed_runs[0].ckpt_root.resolve()))
        for spec in eval_sets:
            cmd = [
                sys.executable,
                "-m",
                "bench",
                "run",
                "--codecs",
                ",".join(codecs),
                "--dataset",
                spec,
                "--device",
                device,
                "--out",
                str(results_root / f"seed{seed}"),
                "--no-progress",
                "--no-leaderboard",  # the study's report is ABLATION.md, not a board per seed
            ]
            if workers is not None:
                cmd += ["--workers", str(workers)]
            cmd += list(bench_args or [])
            print(f"evaluating seed {seed} on {spec}: {len(codecs)} codecs", flush=True)
            subprocess.run(cmd, cwd=REPO, env=env, check=True)


def quantization_gaps(
    runs: list[AblationRun], eval_sets: list[str], device: str, limit: int | None = None
) -> list[dict[str, Any]]:
    """Per run: mean Mel distance / STOI of quantized vs unquantized decodes on ``eval_sets``.

    The unquantized decode feeds the decoder the bounded latent (FSQ: ``tanh``-bounded values
    before rounding; RVQ: the pre-quantization latent). A gap near zero means the bottleneck does
    not limit quality, and then the variants cannot differ for a quantization reason (DESIGN §7).
    """
    import numpy as np
    import torch

    from bench.audio import load_audio
    from bench.data import get_dataset
    from bench.metrics import get_metric
    from taae.checkpoint import load_model

    mel, stoi = get_metric("mel"), get_metric("stoi")
    utterances = [u for spec in eval_sets for u in get_dataset(spec, limit=limit).utterances]
    refs = [load_audio(u.path).wav for u in utterances]
    out = []
    for run in runs:
        model, cfg, meta = load_model(run.ckpt_dir, device=device)
        model.eval()
        rows: dict[str, list[float]] = {"mel_q": [], "mel_u": [], "stoi_q": [], "stoi_u": []}
        with torch.no_grad():
            for ref in refs:
                x = torch.from_numpy(ref).to(device).reshape(1, 1, -1)
                yq, _ = model(x)
                yu = model.reconstruct_unquantized(x)
                for tag, y in (("q", yq), ("u", yu)):
                    dec = y.reshape(-1)[: ref.size].clamp(-1, 1).cpu().numpy().astype(np.float32)
                    rows[f"mel_{tag}"].append(mel(ref, dec))
                    rows[f"stoi_{tag}"].append(stoi(ref, dec))
        rec = {
            "preset": run.preset,
            "variant": run.variant,
            "seed": run.seed,
            "step": meta.get("step"),
            "utterances": len(refs),
        }
        for key, vals in rows.items():
            rec[key] = float(np.mean(vals))
        rec["gap_mel"] = rec["mel_q"] - rec["mel_u"]
        rec["gap_stoi"] = rec["stoi_u"] - rec["stoi_q"]
        out.append(rec)
        print(
            f"  gap {run.preset} seed {run.seed}: mel {rec['mel_q']:.3f} vs {rec['mel_u']:.3f} "
            f"unquantized, STOI {rec['stoi_q']:.3f} vs {rec['stoi_u']:.3f}",
            flush=True,
        )
    return out


def data_minutes(data: list[str]) -> float | None:
    """Minutes of training audio (from file headers); ``None`` if a file is unreadable."""
    import soundfile as sf

    from taae.data import list_audio

    try:
        return round(sum(sf.info(str(f)).duration for f in list_audio(data)) / 60.0, 1)
    except (OSError, ValueError, RuntimeError):
        return None


def write_study(results_root: Path, study: dict[str, Any]) -> None:
    """Write ``study.json``; seeds, variants and evaluation sets already recorded there by earlier
    calls of the same study (scale, bitrate, steps) are kept, so ``--variants hybrid rvq`` then
    the rest build one study, and a later call on one evaluation set (e.g. listener metrics on
    test-clean only) does not drop the others from the report."""
    path = results_root / "study.json"
    if path.exists():
        old = json.loads(path.read_text())
        if all(old.get(k) == study[k] for k in ("scale", "bps", "steps")):
            study["seeds"] = sorted(set(old.get("seeds", [])) | set(study["seeds"]))
            codecs = {**old.get("codecs", {}), **study["codecs"]}
            study["codecs"] = {v: codecs[v] for v in VARIANTS if v in codecs}
            both = old.get("presets", []) + study["presets"]
            study["presets"] = list(dict.fromkeys(both))
            study["compare_with"] = study.get("compare_with") or old.get("compare_with")
            sets = old.get("eval_sets", []) + study["eval_sets"]
            study["eval_sets"] = list(dict.fromkeys(sets))
            if study.get("data_minutes") is None:  # training data absent on this machine
                study["data_minutes"] = old.get("data_minutes")
    write_json(path, study)


def write_json(path: Path, obj: Any) -> None:
    """Atomic JSON write (``bench.results.atomic_write_text``)."""
    from bench.results import atomic_write_text

    atomic_write_text(path, json.dumps(obj, indent=1) + "\n")


def ablate(
    scale: str,
    bps: int,
    seeds: list[int],
    data: list[str],
    steps: int | None,
    runs_root: Path,
    results_root: Path,
    eval_sets: list[str],
    jobs: int = 1,
    threads: int = 0,
    device: str = "cpu",
    workers: int | None = None,
    stages: tuple[str, ...] = ("train", "eval", "gap", "report"),
    ship: bool = False,
    bench_args: list[str] | None = None,
    limit: int | None = None,
    variants: tuple[str, ...] = VARIANTS,
    ladder: bool = True,
    compare_with: str | None = None,
) -> None:
    """The whole study; each stage skips work that is already complete. ``compare_with`` (a
    results folder of another study, relative to the repository) adds both studies' verdicts
    side by side to the report."""
    from taae.presets import get_preset

    runs = plan(scale, bps, seeds, runs_root, variants)
    total = steps or get_preset(runs[0].preset).train.steps
    results_root.mkdir(parents=True, exist_ok=True)
    if "train" in stages:
        train_all(runs, data, total, jobs, threads, device)
    if ship:
        ship_seed0(runs, Path(REPO / "checkpoints"))
    if "eval" in stages:
        missing = [r for r in runs if not r.ckpt_dir.exists()]
        if missing:
            raise FileNotFoundError(f"not trained yet: {[str(r.ckpt_dir) for r in missing]}")
        extra = list(bench_args or []) + (["--limit", str(limit)] if limit else [])
        evaluate(runs, eval_sets, results_root, device, workers, extra, ladder)
    if "gap" in stages:
        gaps = quantization_gaps(runs, eval_sets, device, limit)
        path = results_root / "gaps.json"
        done = {(g["preset"], g["seed"]) for g in gaps}
        if path.exists():  # keep other seeds' entries from earlier calls
            gaps += [
                g for g in json.loads(path.read_text()) if (g["preset"], g["seed"]) not in done
            ]
        write_json(path, sorted(gaps, key=lambda g: (g["seed"], g["preset"])))
    if set(stages) - {"report"}:  # a report-only call keeps the committed study description
        write_study(
            results_root,
            {
                "scale": scale,
                "bps": bps,
                "seeds": seeds,
                "steps": total,
                "data": data,
                "data_minutes": data_minutes(data),
                "eval_sets": eval_sets,
                "limit": limit,
                "runs_root": str(runs_root),
                "presets": [r.preset for r in runs if r.seed == seeds[0]],
                "codecs": {r.variant: r.codec for r in runs if r.seed == seeds[0]},
                "compare_with": compare_with,
            },
        )
    elif not (results_root / "study.json").exists():
        raise FileNotFoundError(
            f"{results_root / 'study.json'} not found: run the other stages first"
        )
    if "report" in stages:
        from taae.study import write_report

        path = write_report(results_root, runs_root)
        print(f"wrote {path}")


def ship_seed0(runs: list[AblationRun], dest_root: Path) -> None:
    """Copy each variant's lowest-seed weights to ``dest_root/<preset>`` (the in-repo defaults)."""
    from taae.checkpoint import export_checkpoint

    first = min(r.seed for r in runs)
    for run in runs:
        if run.seed == first and run.ckpt_dir.exists():
            export_checkpoint(run.ckpt_dir, dest_root / run.preset)
            print(f"shipped {run.ckpt_dir} → {dest_root / run.preset}")
