"""ABLATION.md's markdown tables."""

from __future__ import annotations

from typing import Any

import numpy as np

from bench.metrics import get_metric
from bench.stats import holm, paired_test
from taae.study.claims import paired_vs
from taae.study.data import (
    LABEL,
    RESULTS_ROOT,
    is_weighted,
    load_json,
    metrics_in,
    nominal_bps,
    per_utterance,
    seed_means,
)
from taae.study.words import arrow, fmt_p, fmt_value


def main_table(data: dict[str, Any], variants: list[str], seeds: list[int]) -> str:
    """Mean over seeds (± sd across seeds) of the pooled per-seed means, one row per variant."""
    metrics = metrics_in(data)
    head = "| variant | seeds | " + " | ".join(f"{m} {arrow(m)}" for m in metrics) + " |"
    lines = [head, "|" + " --- |" * (len(metrics) + 2)]
    for v in variants:
        if v not in data:
            continue  # a variant this study did not train (e.g. the longer-training check)
        cells = []
        n = 0
        for m in metrics:
            sm = seed_means(data, v, seeds, m)
            n = max(n, len(sm))
            if not sm:
                cells.append("—")
                continue
            sd = float(np.std(sm, ddof=1)) if len(sm) > 1 else float("nan")
            cells.append(f"{fmt_value(float(np.mean(sm)), m)} ± {fmt_value(sd, m)}")
        lines.append(f"| {LABEL[v]} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_table(data: dict[str, Any], variants: list[str], seeds: list[int]) -> tuple[str, list]:
    """Paired tests of each variant against hybrid; returns the table and the raw records."""
    metrics = metrics_in(data)
    records = []
    for v in variants:
        for m in metrics:
            records.append((v, m, paired_vs(data, v, "hybrid", seeds, m)))
    reject = holm([r[2]["p_value"] if r[2] else None for r in records])
    reject_seeds = holm([r[2]["seed_level"]["p_value"] if r[2] else None for r in records])
    lines = [
        "| variant − hybrid | metric | n | mean diff | 95 % CI | p (utterances) | d_z | "
        "per-seed diffs | 95 % CI (seeds) | d_z (seeds) | p (seeds) | significant (Holm, seeds "
        "agree) | over seeds (Holm) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    out = []
    for (v, m, r), rej, rej_s in zip(records, reject, reject_seeds, strict=True):
        if r is None:
            continue  # the metric is not in both variants' result files
        ci = r["ci95"] or [float("nan")] * 2
        better = (r["mean_diff"] > 0) == get_metric(m).higher_is_better
        rej = bool(rej and r["seeds_agree"])
        scope = "over seeds" if r["verdict"] == "generalises over seeds" else "these seeds"
        verdict = (
            f"yes ({scope}): " + ("variant better" if better else "hybrid better") if rej else "no"
        )
        dz = r.get("effect_size_dz")
        sl = r["seed_level"]
        sci, sdz = sl.get("ci95_seeds"), sl.get("dz_seeds")
        sci_txt = "—" if sci is None else f"[{fmt_value(sci[0], m)}, {fmt_value(sci[1], m)}]"
        seeds_verdict = (
            ("yes: " + ("variant better" if better else "hybrid better")) if rej_s else "no"
        )
        mname = f"{m} (errors / utt.)" if is_weighted(m) else m
        lines.append(
            f"| {LABEL[v]} | {mname} | {r['n']} | {fmt_value(r['mean_diff'], m)} | "
            f"[{fmt_value(ci[0], m)}, {fmt_value(ci[1], m)}] | {fmt_p(r)} | "
            f"{'—' if dz is None else f'{dz:.2f}'} | "
            f"{', '.join(fmt_value(x, m) for x in r['seed_diffs'])} | {sci_txt} | "
            f"{'—' if sdz is None else f'{sdz:.2f}'} | {fmt_p(sl)} | {verdict} | "
            f"{seeds_verdict} |"
        )
        out.append(
            {
                "variant": v,
                "metric": m,
                **r,
                "significant_holm": rej,
                "significant_over_seeds_holm": bool(rej_s),
                "variant_better": bool(better),
            }
        )
    return "\n".join(lines), out


def per_seed_table(data: dict[str, Any], variants: list[str], seeds: list[int]) -> str:
    """Every run on every evaluation set: mean [95 % CI] per metric (from the result files)."""
    metrics = metrics_in(data)
    lines = [
        "| variant | seed | set (n) | " + " | ".join(metrics) + " |",
        "|" + " --- |" * (len(metrics) + 3),
    ]
    for v in variants:
        for s in seeds:
            for slug, res in sorted(data.get(v, {}).get(s, {}).items()):
                cells = []
                for m in metrics:
                    summ = res["summary"].get(m) or {}
                    ci = summ.get("ci95") or [None, None]
                    cells.append(
                        f"{fmt_value(summ.get('mean'), m)} "
                        f"[{fmt_value(ci[0], m)}, {fmt_value(ci[1], m)}]"
                    )
                n = res["counts"].get("ok", res["dataset"]["num_utterances"])
                lines.append(f"| {LABEL[v]} | {s} | {slug} ({n}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def codebook_table(data: dict[str, Any], variants: list[str], seeds: list[int]) -> str:
    """Codebook use per variant (means over seeds and evaluation sets)."""
    lines = [
        "| variant | nominal bps | entropy bps | entropy / nominal | per-component use | "
        "undersampled |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for v in variants:
        ent, nom, comp, under = [], [], [], False
        for s in seeds:
            for res in data.get(v, {}).get(s, {}).values():
                cb = res["codebook"]
                ent.append(cb["entropy_bps"])
                nom.append(cb["nominal_bps"])
                under = under or bool(cb.get("undersampled"))
                for book in cb.get("codebooks", []):
                    if book.get("level_usage"):  # FSQ: fraction of levels used per dimension
                        comp.extend(lv["used_fraction"] for lv in book["level_usage"])
                    else:  # RVQ: fraction of each stage's entries used
                        comp.append(book["used_fraction"])
        if not ent:
            continue
        what = "levels per dim" if v != "rvq" else "entries per stage"
        lines.append(
            f"| {LABEL[v]} | {np.mean(nom):.0f} | {np.mean(ent):.0f} | "
            f"{np.mean(ent) / np.mean(nom):.2f} | {np.mean(comp):.2f} ({what}) | "
            f"{'yes' if under else 'no'} |"
        )
    return "\n".join(lines)


def ladder_table(data: dict[str, Any], seeds: list[int]) -> str:
    """The hybrid model served at its own and the post-hoc residual-FSQ bitrates."""
    keys = ["hybrid"] + sorted(
        (k for k in data if k.startswith("ladder:")),
        key=lambda k: nominal_bps(data, k),
    )
    metrics = ("mel", "pesq_wb", "stoi", "dnsmos_ovrl")
    lines = [
        "| codec | nominal bps | " + " | ".join(f"{m} {arrow(m)}" for m in metrics) + " |",
        "|" + " --- |" * (len(metrics) + 2),
    ]
    for k in keys:
        if k not in data:
            continue
        cells = []
        for m in metrics:
            sm = seed_means(data, k, seeds, m)
            sd = f" ± {fmt_value(float(np.std(sm, ddof=1)), m)}" if len(sm) > 1 else ""
            cells.append(f"{fmt_value(float(np.mean(sm)), m)}{sd}" if sm else "—")
        name = k.split(":", 1)[1] if k.startswith("ladder:") else "native (trained grid)"
        lines.append(f"| {name} | {nominal_bps(data, k):.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def gap_table(gaps: list[dict[str, Any]], variants: list[str]) -> str:
    lines = [
        "| variant | Mel quantized | Mel unquantized | gap (Mel) | STOI quantized | "
        "STOI unquantized | gap (STOI) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for v in variants:
        rows = [g for g in gaps if g["variant"] == v]
        if not rows:
            continue

        def ms(key: str, rows: list[dict[str, Any]] = rows) -> str:
            vals = [r[key] for r in rows]
            sd = f" ± {np.std(vals, ddof=1):.3f}" if len(vals) > 1 else ""
            return f"{np.mean(vals):.3f}{sd}"

        lines.append(
            f"| {LABEL[v]} | {ms('mel_q')} | {ms('mel_u')} | {ms('gap_mel')} | {ms('stoi_q')} | "
            f"{ms('stoi_u')} | {ms('gap_stoi')} |"
        )
    return "\n".join(lines)


def codec2_comparison(data: dict[str, Any], seeds: list[int]) -> tuple[str, list[dict[str, Any]]]:
    """Hybrid (native and its ≈700 bps residual point; seed-averaged) vs ``codec2@700`` on the
    same utterances: PESQ and STOI, paired bootstrap over utterances."""
    lines = [
        "| TAAE codec | bps | set | n | metric | TAAE | codec2@700 | diff | 95 % CI | p |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    recs = []
    keys = ["hybrid"] + [k for k in data if k.startswith("ladder:") and k.endswith("@700bps")]
    for key in keys:
        name = key.split(":", 1)[1] if ":" in key else "FSQ hybrid (native)"
        slugs = {slug for s in seeds for slug in data.get(key, {}).get(s, {})}
        for slug in sorted(slugs):
            ref_path = RESULTS_ROOT / slug / "codec2@700.json"
            if not ref_path.exists():
                lines.append(
                    f"| {name} | — | {slug} | — | — | — | not run on this set | — | — | — |"
                )
                continue
            ref = load_json(ref_path)
            for m in ("pesq_wb", "stoi"):
                per = [per_utterance(data[key][s][slug], m) for s in seeds
                       if slug in data[key].get(s, {})]  # fmt: skip
                c2 = per_utterance(ref, m)
                ids = sorted(set.intersection(*(set(p) for p in per)) & set(c2))
                if len(ids) < 2:
                    continue
                a = np.mean([[p[i] for i in ids] for p in per], axis=0)
                b = np.array([c2[i] for i in ids])
                r = paired_test(a, b)
                ci = r["ci95"] or [float("nan")] * 2
                lines.append(
                    f"| {name} | {nominal_bps(data, key):.0f} | {slug} | {len(ids)} | {m} | "
                    f"{a.mean():.3f} | {b.mean():.3f} | {r['mean_diff']:+.3f} | "
                    f"[{ci[0]:+.3f}, {ci[1]:+.3f}] | {fmt_p(r)} |"
                )
                recs.append({"codec": name, "set": slug, "metric": m, "taae": float(a.mean()),
                             "codec2": float(b.mean()), **r})  # fmt: skip
    return "\n".join(lines), recs


def config_diff_table(study: dict[str, Any]) -> str:
    from taae.presets import ablation_diff, get_preset

    lines = ["| preset | differs from the hybrid reference in |", "| --- | --- |"]
    for preset in study["presets"]:
        diff = ablation_diff(preset)
        txt = ", ".join(f"`{k}`: {a!r} → {b!r}" for k, (a, b) in diff.items()) or "(reference)"
        lines.append(f"| `{preset}` | {txt} |")
    cfg = get_preset(study["presets"][0])
    lines.append("")
    lines.append(
        f"All runs: {study['steps']} steps, batch {cfg.train.batch_size} × "
        f"{cfg.train.crop_seconds} s crops, AdamW lr {cfg.train.lr} (warm-up "
        f"{cfg.train.warmup_steps}, cosine to ×{cfg.train.min_lr_ratio}), clip "
        f"{cfg.train.grad_clip}; seeds {study['seeds']} set through `train.seed` only; the same "
        "training files for every run."
    )
    return "\n".join(lines)
