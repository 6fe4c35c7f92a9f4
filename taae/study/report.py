"""ABLATION.md as a page: the answers section, both operating points, and the whole document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.results import atomic_write_text
from bench.stats import seeds_needed
from taae.study.claims import ALPHA, CLAIMS, GAP_THRESHOLD, INFORMATIVE, claim_verdict
from taae.study.confirm import confirmatory_section
from taae.study.data import (
    LABEL,
    RESULTS_ROOT,
    collect,
    load_json,
    nominal_bps,
    pooled,
    reference_results,
    seed_means,
    sibling_studies,
    study_context,
    training_summary,
)
from taae.study.plots import plot_rate_distortion, plot_training
from taae.study.tables import (
    codebook_table,
    codec2_comparison,
    config_diff_table,
    gap_table,
    ladder_table,
    main_table,
    per_seed_table,
    test_table,
)
from taae.study.words import (
    arrow,
    fmt_effect,
    fmt_p,
    fmt_value,
    summary_lines,
    verdict_lines,
    verdict_word,
)


def answers_section(
    tests: list[dict[str, Any]],
    gaps: list[dict[str, Any]],
    data: dict[str, Any],
    seeds: list[int],
    study: dict[str, Any],
    params: int | None,
    results_root: Path,
) -> list[str]:
    """The top of ABLATION.md: each of the paper's claims answered over training seeds."""
    by = {(t["variant"], t["metric"]): t for t in tests}
    metrics = [m for m in INFORMATIVE if any(k[1] == m for k in by)]
    k = len(metrics)
    n_seeds = len(seeds)
    floor = 2.0 / 2**n_seeds
    hyb = [g for g in gaps if g["variant"] == "hybrid"]
    ent = [r["codebook"]["entropy_bps"] for s in seeds
           for r in data.get("hybrid", {}).get(s, {}).values()]  # fmt: skip
    nominal = nominal_bps(data, "hybrid")
    n_utt = len(pooled(data, "hybrid", seeds[0], "mel"))
    out = [
        "## Answers over training seeds\n",
        f"Each of the paper's claims, tested on the per-seed mean differences (variant − FSQ "
        f"hybrid, {n_seeds} seeds, pooled over {n_utt} "
        f"utterances of unseen speakers) with the exact sign-flip test, Holm over the comparison's "
        f"{k} metrics ({', '.join(metrics)}) at α = {ALPHA}. With {n_seeds} seeds the smallest "
        f"reachable p is 2 / 2^{n_seeds} = {floor:.3g}"
        + (
            f", which Holm over {k} metrics cannot reject (α / {k} = {ALPHA / k:.4f}): no claim "
            f"can be *supported* or *contradicted* over seeds until there are "
            f"{seeds_needed(k)} seeds. *Every seed leans* names the metrics on which all "
            f"{n_seeds} seeds agree in sign (p = {floor:.3g} each, unadjusted)."
            if floor > ALPHA / k
            else "."
        )
        + " Cells: mean over seeds of variant − hybrid, its 95 % t-interval over seeds, and "
        "how many seeds share the mean's sign.\n",
        "| claim (paper) | verdict over seeds | rests on | "
        + " | ".join(f"{m} {arrow(m)}" for m in metrics)
        + " |",
        "|" + " --- |" * (k + 3),
    ]
    for question, v in CLAIMS:
        rows = [by[(v, m)] for m in metrics if (v, m) in by]
        if not rows:
            continue
        verdict, basis = claim_verdict(rows)
        cells = [(fmt_effect(by[(v, m)], m) if (v, m) in by else "—") for m in metrics]
        out.append(
            f"| {question} | {verdict} | {', '.join(basis) or '—'} | " + " | ".join(cells) + " |"
        )
    gap_txt = ""
    if hyb:
        gm = [g["gap_mel"] for g in hyb]
        gs = [g["gap_stoi"] for g in hyb]
        sd = float(np.std(gm, ddof=1)) if len(gm) > 1 else 0.0
        gap_txt = (
            f"quantization gap of the hybrid model {np.mean(gm):+.3f} ± {sd:.3f} "
            f"Mel and {np.mean(gs):.3f} STOI (the bottleneck binds: DESIGN.md §7)"
        )
    out.append(
        f"\n**Operating point**: {nominal:.0f} bps nominal"
        + (f" (hybrid codes carry {np.mean(ent):.0f} bps of entropy)" if ent else "")
        + (f"; {gap_txt}" if gap_txt else "")
        + f". **Scale caveat**: `{study['scale']}` TAAE of "
        + (f"{params / 1e6:.2f} M parameters" if params else "unknown size")
        + f", {study['steps']} CPU training steps per run"
        + (
            f", {study['data_minutes']:.0f} min of training speech"
            if study.get("data_minutes")
            else ""
        )
        + " — the paper trains ≈ 950 M parameters for 500 k steps on GPUs; these answers describe "
        "this regime only.\n"
    )
    for other in sibling_studies(results_root, study):
        o_study = load_json(other / "study.json")
        o_tests = load_json(other / "tests.json")
        o_by = {(t["variant"], t["metric"]): t
                for grp in ("fsq_vs_rvq", "fsq_modes") for t in o_tests.get(grp, [])}  # fmt: skip
        o_seeds = o_study["seeds"]
        out.append(
            f"**At {o_study['steps']} steps** (`{other.name}`, seeds "
            f"{', '.join(map(str, o_seeds))}; exact seed-level floor {2 / 2 ** len(o_seeds):.3g}):"
        )
        for question, v in CLAIMS:
            rows = [o_by[(v, m)] for m in metrics if (v, m) in o_by]
            if not rows or not any((v, m) in by for m in metrics):
                continue  # a claim only one of the two studies tests
            verdict, basis = claim_verdict(rows)
            cells = ", ".join(
                f"{m} {fmt_effect(o_by[(v, m)], m)}" for m in metrics if (v, m) in o_by
            )
            here = [by[(v, m)] for m in metrics if (v, m) in by]
            this_verdict = claim_verdict(here)[0] if here else "—"
            out.append(
                f"- {question}: {verdict}"
                + (f" ({', '.join(basis)})" if basis else "")
                + f" — {cells}; at {study['steps']} steps: {this_verdict}."
            )
        out.append("")
    listener = [m for m in ("spk_sim", "distillmos", "wer") if any(t["metric"] == m for t in tests)]
    if listener:
        out.append(
            f"Listener-facing metrics ({', '.join(listener)}) are in the tables below for the "
            "variants and seeds that have them; they do not enter the verdicts above.\n"
        )
    budget = RESULTS_ROOT / "perf" / "gpu_budget.json"
    if budget.exists():
        b = load_json(budget)
        out.append(
            "**At GPU scale** (not run here): "
            + "; ".join(
                f"`{r['preset']}` ({r['params'] / 1e6:.0f} M parameters, {r['steps']:,} steps): "
                f"{r['train_flops_per_step'] / 1e12:.2f} TFLOP per step with the "
                f"discriminator on (counted), ≈ {r['hours_per_run']:.0f} GPU-hours per run at "
                f"an assumed {b['assumed_tflops']:.0f} TFLOP/s sustained, "
                f"≈ {r['hours_per_run'] * 5 * 6:,.0f} GPU-hours for 5 variants × 6 seeds"
                for r in b["presets"]
            )
            + f". Command: `{b['command']}`. How the estimate is made: `{b['how']}`.\n"
        )
    return out


def operating_points_section(this_root: Path, other_root: Path) -> str:
    """Both studies' verdicts side by side (this one and ``other_root``, read from their
    ``tests.json``): which comparison × metric verdict survives the move between them."""
    roots = {"this": this_root, "other": other_root}
    ctx = {k: study_context(r) for k, r in roots.items()}
    tests = {
        k: {(t["variant"], t["metric"]): t for grp in ("fsq_vs_rvq", "fsq_modes")
            for t in load_json(r / "tests.json").get(grp, [])}
        for k, r in roots.items()
    }  # fmt: skip
    lines = [
        "## Both operating points side by side\n",
        "| | this study | the other study |",
        "| --- | --- | --- |",
    ]
    for key, label in (("scale", "scale"), ("bps", "bitrate family (bps)"), ("steps", "steps")):
        lines.append(f"| {label} | {ctx['this']['study'][key]} | {ctx['other']['study'][key]} |")
    lines.append(
        f"| folder | `{this_root.as_posix().split('results/')[-1]}` | "
        f"`{other_root.as_posix().split('results/')[-1]}` |"
    )
    for key, label in (("seeds", "seeds"), ("slugs", "evaluation sets")):
        lines.append(
            f"| {label} | {', '.join(map(str, ctx['this'][key]))} | "
            f"{', '.join(map(str, ctx['other'][key]))} |"
        )
    for key, label, fmt in (("pesq", "hybrid PESQ-WB", "{:.3f}"), ("gap", "hybrid Mel gap",
                                                                    "{:+.3f}")):  # fmt: skip
        vals = [ctx[k][key] for k in ("this", "other")]
        lines.append(
            f"| {label} | " + " | ".join("—" if v is None else fmt.format(v) for v in vals) + " |"
        )
    lines += [
        "",
        "Verdicts (Holm-corrected α = 0.05 over each study's table, every seed agreeing in sign; "
        "diff = variant − hybrid; a verdict is about each study's trained seeds):\n",
        "| variant vs hybrid | metric | this: diff (p) | this | other: diff (p) | other | "
        "verdict changed |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    keys = [k for k in tests["this"] if k in tests["other"]]
    changed = 0
    for v, m in keys:
        a, b = tests["this"][(v, m)], tests["other"][(v, m)]
        wa, wb = verdict_word(a), verdict_word(b)
        changed += wa != wb
        lines.append(
            f"| {LABEL.get(v, v)} | {m} | {fmt_value(a['mean_diff'], m)} ({fmt_p(a)}) | {wa} | "
            f"{fmt_value(b['mean_diff'], m)} ({fmt_p(b)}) | {wb} | "
            f"{'**yes**' if wa != wb else 'no'} |"
        )
    lines.append(f"\n{changed} of {len(keys)} verdicts differ between the two operating points.\n")
    return "\n".join(lines)


def write_report(results_root: Path, runs_root: Path | None = None) -> Path:
    """Write ``ABLATION.md`` (+ ``plots/``, ``training.json``, ``tests.json``); returns its path."""
    study = load_json(results_root / "study.json")
    runs_root = Path(runs_root or study["runs_root"])
    seeds = list(study["seeds"])
    data = collect(results_root, study)
    gaps = load_json(results_root / "gaps.json") if (results_root / "gaps.json").exists() else []
    training_file = results_root / "training.json"
    training = training_summary(runs_root, study)
    if training:
        atomic_write_text(training_file, json.dumps(training, indent=1) + "\n")
    elif training_file.exists():  # runs folder absent (fresh clone): use the committed record
        training = load_json(training_file)
    plots = results_root / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    if training:
        plot_training(training, plots / "training_curves.png")
    slugs = sorted({slug for v in data.values() for s in v.values() for slug in s})
    refs = reference_results(set(slugs), set(study["codecs"].values()))
    for slug in slugs:
        plot_rate_distortion(data, seeds, refs, slug, plots / f"rate_distortion_{slug}.png")

    fsq_table_rows = ["hybrid", "ste", "noise", "none"]
    t1, tests1 = test_table(data, ["rvq"], seeds)
    t2, tests2 = test_table(data, ["ste", "noise", "none"], seeds)
    c2_table, c2 = codec2_comparison(data, seeds)
    atomic_write_text(
        results_root / "tests.json",
        json.dumps({"fsq_vs_rvq": tests1, "fsq_modes": tests2, "vs_codec2": c2}, indent=1) + "\n",
    )

    any_res = next((res for v in data.values() for s in v.values() for res in s.values()), None)
    device = any_res["provenance"].get("device", "cpu") if any_res else "?"
    n_utt = {
        slug: next(
            (
                s[slug]["dataset"]["num_utterances"]
                for v in data.values()
                for s in v.values()
                if slug in s
            ),
            0,
        )
        for slug in slugs
    }
    minutes = {k: v["seconds"] / 60 for k, v in training.items()}
    from taae.checkpoint import read_config
    from taae.model import TAAE, count_parameters

    cfg, _ = (
        read_config(runs_root / f"seed{seeds[0]}" / "checkpoints" / study["presets"][0])
        if (runs_root / f"seed{seeds[0]}" / "checkpoints" / study["presets"][0]).exists()
        else (None, None)
    )
    params = count_parameters(TAAE(cfg.model, cfg.bottleneck)) if cfg else None
    hybrid_gap = [g["gap_mel"] for g in gaps if g["variant"] == "hybrid"]
    none_gap = [g["gap_mel"] for g in gaps if g["variant"] == "none"]

    md: list[str] = []
    md.append("# Ablation: FSQ vs RVQ, and four FSQ training strategies (TAAE)\n")
    md.append(
        "Generated by `python -m taae ablate` (report stage: `python -m taae ablate --stages "
        "report`) from the result files in this folder; do not edit by hand.\n"
    )
    md.extend(confirmatory_section(results_root, data, gaps))
    md.extend(answers_section(tests1 + tests2, gaps, data, seeds, study, params, results_root))
    md.append("## Scale and protocol\n")
    md.append(
        f"- **Model**: `{study['scale']}` TAAE, "
        f"{'%.2f M parameters' % (params / 1e6) if params else 'parameters unknown'}, "
        f"bitrate family {study['bps']} bps (25 Hz latent).\n"
        f"- **Training**: {study['steps']} steps per run, {len(seeds)} seeds × "
        f"{len(study['presets'])} variants = {len(seeds) * len(study['presets'])} runs; "
        f"{sum(minutes.values()):.0f} CPU-minutes of training in total "
        f"(per run {min(minutes.values(), default=0):.0f}–{max(minutes.values(), default=0):.0f} "
        "min, see below).\n"
        f"- **Training data**: {', '.join(f'`{d}`' for d in study['data'])}"
        + (f" ({study['data_minutes']:.0f} min of speech)" if study.get("data_minutes") else "")
        + "; the evaluation speakers are never in it (the trainer refuses `test-clean`).\n"
        f"- **Evaluation**: {', '.join(f'`{s}` ({n_utt[s]} utterances)' for s in slugs)} — "
        f"{sum(n_utt.values())} utterances of unseen speakers in all, device `{device}`, every "
        "metric from `python -m bench run`.\n"
        "- **Statistics** (`bench.stats`, all from `scipy.stats`): per run, mean and 95 % BCa "
        "bootstrap CI over utterances (table at the end); across seeds, mean ± sd of the "
        "per-seed means; variant vs hybrid, a **sign-flip permutation test** of the "
        "seed-averaged per-utterance differences (exact up to 17 utterances, else 20,000 "
        "Monte-Carlo resamples; a p at the design's floor is printed as such), BCa CI of the "
        "mean difference, effect size d_z = mean / sd; significance after Holm–Bonferroni "
        f"over all tests of a table at α = {ALPHA}, and only when every seed agrees in sign. "
        "That is inference about *these trained models*; whether a difference generalises over "
        "training seeds is the seed-level exact sign-flip test on the per-seed means, whose "
        "smallest reachable p is 2 / 2^S (0.25 with 3 seeds, 0.031 with 6: a single test over "
        "seeds needs ≥ 6 seeds, Holm over a claim's 4 metrics ≥ 8).\n"
    )
    md.append(config_diff_table(study) + "\n")
    md.append("## Quantization gap (does the bottleneck limit quality?)\n")
    md.append(
        "Quantized decode vs the decoder fed the bounded, unquantized latent, on the same "
        "evaluation utterances (mean ± sd over seeds). DESIGN.md §7: where this gap is ~0 the "
        "variants cannot differ for a quantization reason. The clean reading is the hybrid row "
        "(its decoder saw unquantized latents in 25 % of training examples); a negative gap "
        "(STE-only, no-emulation, RVQ) means the decoder is tuned to quantized inputs and the "
        "unquantized latent is off-distribution for it, not that quantization helps.\n"
    )
    md.append(gap_table(gaps, list(LABEL)) + "\n")
    if "rvq" in data:
        md.append("## Table 1 — FSQ vs RVQ at the same bitrate\n")
        md.append(main_table(data, ["hybrid", "rvq"], seeds) + "\n")
        md.append(t1 + "\n")
    md.append("## Table 2 — FSQ training strategy\n")
    md.append(main_table(data, fsq_table_rows, seeds) + "\n")
    md.append(t2 + "\n")
    md.append("## Codebook utilisation\n")
    md.append(
        "Entropy bitrate = 25 Hz × empirical code entropy over all evaluation frames (an "
        "undersampled estimate when the codebook is larger than the number of frames); "
        "per-component use = fraction of FSQ levels used per latent dimension, or of RVQ entries "
        "used per stage.\n"
    )
    md.append(codebook_table(data, list(LABEL), seeds) + "\n")
    md.append("## Verdicts\n")
    md.append(
        f"In one line each (significant = Holm-corrected α = {ALPHA}, counted over "
        f"{', '.join(INFORMATIVE)}):\n"
    )
    md.extend(summary_lines(tests1, tests2, data, seeds))
    pesq = [m for v in LABEL for m in seed_means(data, v, seeds, "pesq_wb")]
    if pesq and max(pesq) < 1.3:
        md.append(
            f"\nEvery TAAE row sits near the floor of PESQ (≤ {max(pesq):.2f}) and of DNSMOS: "
            "differences there, even significant ones, are too small to hear; Mel, STFT and "
            "STOI carry the information at this scale.\n"
        )
    md.append("\nPer comparison:\n")
    md.append(
        "**FSQ vs RVQ** (paper's claim: FSQ ≥ RVQ at equal bitrate, with far better codebook "
        "use):\n"
    )
    md.extend(verdict_lines(tests1, ["rvq"]))
    md.append("\n**Training strategy** (paper's claim: the hybrid scheme is best):\n")
    md.extend(verdict_lines(tests2, ["ste", "noise", "none"]))
    md.append("")
    if hybrid_gap:
        hg = float(np.mean(hybrid_gap))
        if abs(hg) < GAP_THRESHOLD:
            md.append(
                f"Quantization gap of the hybrid model: {hg:+.3f} Mel (below {GAP_THRESHOLD}): "
                "rounding its latent to the grid costs it nothing measurable, so at this scale "
                "the bottleneck does not limit the hybrid model's quality. Differences between "
                "variants then reflect how each bottleneck shapes *training*, not quantization "
                "error at inference; a quantizer-quality verdict needs a regime where this gap "
                "is large (more training, or fewer levels)."
            )
        else:
            md.append(
                f"Quantization gap of the hybrid model: {hg:+.3f} Mel: the bottleneck measurably "
                "limits quality at this operating point."
            )
        if none_gap:
            md.append(
                f"The no-emulation model's gap is {float(np.mean(none_gap)):+.3f} Mel: what "
                "rounding costs a decoder that never saw quantized latents in training."
            )
    md.append(
        f"\nScope: {study['scale']} scale ({study['steps']} steps on CPU) — far below the paper's "
        "≈950 M parameters and 500 k steps, so these verdicts describe this regime only.\n"
    )
    other = study.get("compare_with")
    if other and (RESULTS_ROOT.parent / other / "tests.json").exists():
        md.append(operating_points_section(results_root, RESULTS_ROOT.parent / other) + "\n")
    md.append("## The hybrid model across bitrates (post-hoc residual FSQ)\n")
    md.append(
        "The seed's hybrid checkpoint re-quantized after training (no retraining) with the "
        "residual-FSQ presets of `taae.bottlenecks.residual_fsq`; pooled over the evaluation sets, "
        "mean ± sd over seeds. `@700bps` (5 levels × scales 1, 1/4) and `@1000bps` (3 levels × "
        "1, 1/2, 1/4, 1/8) both rebuild the same 17-level grid, so they decode identically.\n"
    )
    md.append(ladder_table(data, seeds) + "\n")
    md.append("## Against Codec 2 at ≈ 700 bps (unseen speakers)\n")
    md.append(c2_table + "\n")
    md.append("## Plots\n")
    if training:
        md.append("![training curves](plots/training_curves.png)\n")
    for slug in slugs:
        md.append(f"![rate–distortion on {slug}](plots/rate_distortion_{slug}.png)\n")
    md.append("## Training time per run\n")
    md.append("| run | minutes | final val mel | final val SI-SDR (dB) |")
    md.append("| --- | --- | --- | --- |")
    for key, rec in sorted(training.items()):
        last = rec["val_curve"][-1] if rec["val_curve"] else [None, None, None]
        sdr = "—" if last[2] is None else f"{last[2]:.1f}"
        mel = "—" if last[1] is None else f"{last[1]:.3f}"
        md.append(f"| {key} | {rec['seconds'] / 60:.1f} | {mel} | {sdr} |")
    md.append("\n## Every run (mean [95 % bootstrap CI] over utterances)\n")
    md.append(per_seed_table(data, list(LABEL), seeds) + "\n")
    path = results_root / "ABLATION.md"
    atomic_write_text(path, "\n".join(md) + "\n")
    return path
