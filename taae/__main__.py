"""Command line: ``python -m taae train|info|quantize|presets|data``.

Examples::

    python -m taae data asterisk --out data/asterisk
    python -m taae train --preset tiny_fsq_hybrid_613bps \\
        --data ../shared/data/speech/ljspeech ../shared/data/speech/librispeech/other \\
        data/asterisk \\
        --out runs/tiny_fsq_hybrid_613bps
    torchrun --nproc_per_node 4 -m taae train --preset small_fsq_hybrid_613bps --data ... --out ...
    python -m taae info runs/tiny_fsq_hybrid_613bps
    python -m taae export runs/tiny_fsq_hybrid_613bps --out checkpoints/tiny_fsq_hybrid_613bps
    python -m taae quantize checkpoints/tiny_fsq_hybrid_613bps --posthoc 2x15625_700bps --out DIR
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def _cmd_train(args: argparse.Namespace) -> int:
    import torch

    from taae.config import with_overrides
    from taae.presets import get_preset
    from taae.train import train

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = get_preset(args.preset)
    if args.set:
        cfg = with_overrides(cfg, args.set)
    summary = train(
        cfg,
        args.data,
        args.out,
        device=args.device,
        steps=args.steps,
        val_data=args.val_data,
        resume=not args.no_resume,
        progress=not args.no_progress,
    )
    print(json.dumps(summary))
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    from taae.checkpoint import load_model, resolve
    from taae.model import count_parameters

    model, cfg, meta = load_model(args.checkpoint)
    bn = model.bottleneck
    bits = sum(math.log2(s) for s in bn.codebook_sizes)
    info = {
        "checkpoint": str(resolve(args.checkpoint)),
        "preset": meta.get("preset", cfg.name),
        "step": meta.get("step"),
        "posthoc": meta.get("posthoc"),
        "parameters": count_parameters(model),
        "sample_rate": cfg.model.sample_rate,
        "frame_rate": model.frame_rate,
        "num_codebooks": bn.num_codebooks,
        "codebook_sizes": list(bn.codebook_sizes),
        "codebook_levels": [list(x) for x in bn.codebook_levels] if bn.codebook_levels else None,
        "nominal_bps": model.frame_rate * bits,
        "bitrate_formula": (
            f"{model.frame_rate:g} Hz × {bits:.3f} bits = {model.frame_rate * bits:.1f} bps"
        ),
        "bottleneck": cfg.bottleneck.kind,
        "fsq_mode": cfg.bottleneck.fsq_mode if cfg.bottleneck.kind == "fsq" else None,
        "git_commit": meta.get("git_commit"),
        "data_files": len(meta.get("data", [])),
    }
    for k, v in info.items():
        print(f"{k:16s} {v}")
    return 0


def _cmd_quantize(args: argparse.Namespace) -> int:
    """Write a post-hoc residual-FSQ checkpoint (same weights) and report the latent error."""
    import torch

    from taae.bottlenecks import ResidualFSQ
    from taae.checkpoint import load_model, save_model
    from taae.data import load_audio

    model, cfg, meta = load_model(args.checkpoint)
    if cfg.bottleneck.kind != "fsq":
        print("error: post-hoc residual FSQ needs an FSQ-trained checkpoint", file=sys.stderr)
        return 2
    levels = set(cfg.bottleneck.levels)
    if any((L - 1) & (L - 2) for L in levels):
        print(f"warning: levels {sorted(levels)} are not 2^n+1; stages will not nest exactly")
    rfsq = ResidualFSQ.from_preset(args.posthoc)
    if args.data:
        from taae.data import list_audio

        errs = {"trained_fsq": [], **{f"stages_{k + 1}": [] for k in range(rfsq.num_codebooks)}}
        with torch.no_grad():
            for f in list_audio(args.data)[: args.max_files]:
                z = model.encode_latent(load_audio(f)[None, None])
                target = torch.tanh(z)
                errs["trained_fsq"].append(
                    float(
                        (model.bottleneck.decode(model.bottleneck.encode(z)) - target).abs().mean()
                    )
                )
                for k in range(rfsq.num_codebooks):
                    err = (rfsq.quantize_stages(z, k + 1) - target).abs().mean()
                    errs[f"stages_{k + 1}"].append(float(err))
        print("mean |latent error| (tanh domain):")
        for k, v in errs.items():
            print(f"  {k:12s} {sum(v) / len(v):.5f}")
    model.set_bottleneck(rfsq)
    new_meta = {**meta, "posthoc": args.posthoc, "source_checkpoint": str(args.checkpoint)}
    new_meta["codebook_sizes"] = list(rfsq.codebook_sizes)
    new_meta["num_codebooks"] = rfsq.num_codebooks
    new_meta["nominal_bps"] = model.frame_rate * sum(math.log2(s) for s in rfsq.codebook_sizes)
    save_model(args.out, model, cfg, new_meta)
    print(f"wrote {args.out} ({args.posthoc}, {new_meta['nominal_bps']:.1f} bps)")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    """Copy a run's checkpoint (weights + config, no optimizer state) to a shippable folder."""
    from taae.checkpoint import MODEL_FILE, export_checkpoint, resolve

    src = resolve(args.run)
    try:
        meta = export_checkpoint(src, args.out, as_preset=args.as_preset)
    except (ValueError, KeyError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    size = (Path(args.out) / MODEL_FILE).stat().st_size / 1e6
    print(f"exported {src} (step {meta.get('step')}) to {args.out} ({size:.1f} MB)")
    return 0


def _cmd_ablate(args: argparse.Namespace) -> int:
    from taae.ablate import ablate

    ablate(
        scale=args.scale,
        bps=args.bps,
        seeds=args.seeds,
        data=args.data,
        steps=args.steps,
        runs_root=Path(args.runs or f"runs/ablation_{args.scale}"),
        results_root=Path(args.results or f"results/ablation_{args.scale}"),
        eval_sets=args.eval_sets,
        jobs=args.jobs,
        threads=args.threads,
        device=args.device,
        workers=args.workers,
        stages=tuple(args.stages),
        ship=args.ship,
        bench_args=args.bench_args,
        limit=args.limit,
        variants=tuple(args.variants),
        ladder=not args.no_ladder,
        compare_with=args.compare_with,
    )
    return 0


def _cmd_presets(args: argparse.Namespace) -> int:
    from taae.presets import FINETUNED, PRESETS, ablation_diff

    for name in PRESETS:
        diff = ablation_diff(name) if name != "test" else {}
        txt = ", ".join(f"{k}={b!r}" for k, (_, b) in diff.items()) or "reference"
        if name in FINETUNED:
            txt = f"fine-tunes {FINETUNED[name]}: {txt}"
        print(f"{name:32s} {txt}")
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    from taae.data import prepare_asterisk

    if args.source != "asterisk":
        print(f"error: unknown data source {args.source!r}", file=sys.stderr)
        return 2
    files = prepare_asterisk(args.out, root=args.root)
    print(f"wrote {len(files)} files to {args.out}")
    return 0


def _cmd_card(args: argparse.Namespace) -> int:
    from taae.model_card import registry_names, write_card

    for folder in args.checkpoints:
        path = Path(folder)
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"no checkpoint config.json in {path}")
        print(f"wrote {write_card(path, registry_names(path))}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m taae`` argument parser."""
    p = argparse.ArgumentParser(prog="python -m taae", description="TAAE speech codec tools")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a preset on folders of audio (resumes automatically)")
    t.add_argument("--preset", required=True, help="preset name (`python -m taae presets`)")
    t.add_argument("--data", nargs="+", required=True, help="training audio folders or files")
    t.add_argument("--out", required=True, help="run folder (checkpoints, log.jsonl)")
    t.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default: cpu)")
    t.add_argument("--steps", type=int, default=None, help="override the preset's total steps")
    t.add_argument(
        "--val-data",
        nargs="+",
        default=None,
        help="validation audio (default: fixed crops of the training files)",
    )
    t.add_argument("--no-resume", action="store_true", help="ignore existing checkpoints in --out")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    t.add_argument(
        "--set",
        nargs="+",
        default=None,
        metavar="SECTION.FIELD=VALUE",
        help="override preset fields for an experiment, e.g. loss.wave_weight=1.0 (recorded in "
        "the checkpoint's config; the run is then no longer the named preset)",
    )
    t.set_defaults(func=_cmd_train)

    ab = sub.add_parser(
        "ablate",
        help="train all ablation variants × seeds, evaluate with the harness, write ABLATION.md",
    )
    from taae.ablate import DEFAULT_EVAL_SETS, VARIANTS

    ab.add_argument(
        "--scale", default="tinyspec", choices=["tiny", "tinyspec", "small", "paper", "test"]
    )
    ab.add_argument("--bps", type=int, default=348, help="bitrate family: 348 or 613 (default 348)")
    ab.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ab.add_argument(
        "--variants",
        nargs="+",
        default=list(VARIANTS),
        choices=list(VARIANTS),
        help="variants to train/evaluate (default: all five; e.g. `hybrid rvq` first when CPU "
        "is short)",
    )
    ab.add_argument(
        "--data",
        nargs="+",
        default=[
            "../shared/data/speech/ljspeech",
            "../shared/data/speech/librispeech/other",
            "data/asterisk",
        ],
        help="training audio folders (default: the shared LJSpeech/LibriSpeech-other + asterisk)",
    )
    ab.add_argument("--steps", type=int, default=None, help="steps per run (default: preset's)")
    ab.add_argument("--jobs", type=int, default=1, help="training runs at a time")
    ab.add_argument("--threads", type=int, default=0, help="torch threads per training run")
    ab.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    ab.add_argument("--workers", type=int, default=None, help="bench metric workers")
    ab.add_argument(
        "--runs",
        default=None,
        help="training runs folder, not in git (default runs/ablation_SCALE)",
    )
    ab.add_argument(
        "--results",
        default=None,
        help="result files + ABLATION.md (default results/ablation_SCALE)",
    )
    ab.add_argument(
        "--eval-sets",
        nargs="+",
        default=list(DEFAULT_EVAL_SETS),
        help="bench datasets (names or folders) of unseen speakers",
    )
    ab.add_argument(
        "--stages",
        nargs="+",
        default=["train", "eval", "gap", "report"],
        choices=["train", "eval", "gap", "report"],
        help="which stages to run (each skips finished work)",
    )
    ab.add_argument(
        "--ship", action="store_true", help="copy seed-0 weights to checkpoints/<preset>"
    )
    ab.add_argument(
        "--limit", type=int, default=None, help="first N utterances per set (smoke runs)"
    )
    ab.add_argument(
        "--compare-with",
        default=None,
        metavar="RESULTS_DIR",
        help="another study's results folder (e.g. results/ablation_tinyspec): the report puts "
        "both studies' verdicts side by side",
    )
    ab.add_argument(
        "--no-ladder",
        action="store_true",
        help="evaluate only the trained grids, not the hybrid model's post-hoc residual-FSQ "
        "points (three codecs fewer per seed and set)",
    )
    ab.add_argument(
        "--bench-args",
        nargs=argparse.REMAINDER,
        default=None,
        help="everything after this is passed to `python -m bench run` (e.g. --metrics mel,stoi)",
    )
    ab.set_defaults(func=_cmd_ablate)

    i = sub.add_parser(
        "info", help="print parameters, bitrate, frame rate, codebooks of a checkpoint"
    )
    i.add_argument("checkpoint", help="checkpoint folder, file in it, or run folder")
    i.set_defaults(func=_cmd_info)

    q = sub.add_parser("quantize", help="post-hoc residual FSQ: re-quantize an FSQ checkpoint")
    q.add_argument("checkpoint", help="FSQ checkpoint (trained with L = 2^n + 1 levels)")
    q.add_argument(
        "--posthoc",
        required=True,
        choices=["1x46656_400bps", "2x15625_700bps", "4x729_1000bps"],
        help="residual FSQ preset (stages × codebook size, bitrate)",
    )
    q.add_argument("--out", required=True, help="folder for the derived checkpoint")
    q.add_argument("--data", nargs="+", default=None, help="audio to report latent error on")
    q.add_argument("--max-files", type=int, default=8, help="files used for the error report")
    q.set_defaults(func=_cmd_quantize)

    e = sub.add_parser("export", help="copy a run's latest (or given) checkpoint for shipping")
    e.add_argument("run", help="run folder (its latest step) or checkpoint folder")
    e.add_argument("--out", required=True, help="destination, e.g. checkpoints/<preset>")
    e.add_argument(
        "--as-preset",
        default=None,
        help="ship a fine-tuning run (started from another preset with --set) as this preset; "
        "its config must equal the preset's field by field",
    )
    e.set_defaults(func=_cmd_export)

    c = sub.add_parser("card", help="write MODEL_CARD.md for shipped checkpoints")
    c.add_argument("checkpoints", nargs="+", help="checkpoint folders, e.g. checkpoints/<preset>")
    c.set_defaults(func=_cmd_card)

    pr = sub.add_parser("presets", help="list presets and how each differs from its reference")
    pr.set_defaults(func=_cmd_presets)

    d = sub.add_parser("data", help="build a training corpus from installed packages")
    d.add_argument("source", choices=["asterisk"], help="asterisk: asterisk-core-sounds-*-g722")
    d.add_argument("--out", required=True, help="output folder (keep it out of git, e.g. data/)")
    d.add_argument("--root", default="/usr/share/asterisk/sounds", help="where the .g722 files are")
    d.set_defaults(func=_cmd_data)
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    from bench.cli import debug_enabled, dispatch

    debug = debug_enabled(argv)
    argv = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--debug"]
    args = build_parser().parse_args(argv)
    # unknown preset or bad override: usage (2); missing file or failed run: 1
    return dispatch(
        args, debug, usage=(KeyError, ValueError), failures=(FileNotFoundError, RuntimeError)
    )


if __name__ == "__main__":
    sys.exit(main())
