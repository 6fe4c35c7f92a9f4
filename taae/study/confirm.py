"""The pre-registered confirmatory answers: the top of ABLATION.md when the study has a plan.

The plan is data (``preregistration.json``, the machine-readable copy of ``PREREGISTRATION.md``):
claims, primary metric, hypotheses, margin, α, confirmatory seeds. This module only reads it,
decides each claim with :func:`taae.study.claims.registered_claims` (the rule itself is
:func:`bench.stats.registered_verdict`) and writes the section and ``confirmatory.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from bench.metrics import get_metric
from bench.results import atomic_write_text
from bench.stats import holm
from taae.study.claims import deciding_p, load_plan, registered_claims
from taae.study.data import LABEL
from taae.study.words import fmt_value

HYPOTHESIS = {
    "equivalent": "equivalent: \\|variant − hybrid\\| < {margin}",
    "greater": "variant > hybrid",
    "less": "variant < hybrid",
}


def _seeds(seeds: list[int]) -> str:
    """``6–11`` for a run of consecutive seeds, else ``0, 2, 5``."""
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def meaning(rec: dict[str, Any]) -> str:
    """What a verdict says about the paper's claim (hybrid at least as good as the variant)."""
    v = rec["verdict"]
    if v in ("pending", "undecided"):
        return "—"
    if v == "equivalent":
        return f"no difference beyond ±{rec['margin']} {rec['metric']}: neither is better"
    hybrid_better = (rec["mean"] < 0) == get_metric(rec["metric"]).higher_is_better
    return "with the paper (hybrid better)" if hybrid_better else "against the paper"


def _row(rec: dict[str, Any], holm_ok: bool | None = None) -> str:
    m = rec["metric"]
    hyp = HYPOTHESIS[rec["hypothesis"]].format(margin=rec["margin"])
    if rec["verdict"] == "pending":
        need = _seeds(rec["missing_seeds"])
        cells = [f"pending: seeds {need} not scored yet", "—", "—", "—", "—", "—"]
    else:
        ci = rec["ci95_seeds"]
        word = "equivalent within ±" + str(rec["margin"]) if rec["verdict"] == "equivalent" else (
            rec["verdict"])  # fmt: skip
        per_seed = ", ".join(fmt_value(rec["seed_diffs"][s], m) for s in rec["seeds"])
        cells = [
            f"**{word}**",
            f"{fmt_value(rec['mean'], m)} [{fmt_value(ci[0], m)}, {fmt_value(ci[1], m)}]",
            per_seed,
            f"{rec['difference']['p_value']:.3g}",
            f"{rec['tost']['p_value']:.3g}",
            meaning(rec),
        ]
    if holm_ok is not None:
        cells.append("—" if rec["verdict"] == "pending" else ("yes" if holm_ok else "no"))
    label = f"{rec['id']}. {rec['paper']} ({LABEL.get(rec['variant'], rec['variant'])})"
    return f"| {label} | {hyp} | {m} | " + " | ".join(cells) + " |"


HEAD = (
    "| claim (paper) | registered hypothesis | metric | verdict | variant − hybrid [95 % t-CI "
    "over seeds] | per seed | p (difference) | p (TOST) | for the paper's claim |"
)


def confirmatory_section(
    results_root: Path, data: dict[str, Any], gaps: list[dict[str, Any]]
) -> list[str]:
    """The registered verdicts on the confirmatory seeds, the regime check and the pooled reading;
    empty when the study has no plan. Also writes ``confirmatory.json``."""
    plan = load_plan(results_root)
    if plan is None:
        return []
    seeds = list(plan["seeds"])
    confirm = registered_claims(data, plan, seeds)
    pooled_seeds = list(plan["pooled_seeds"])
    pooled = registered_claims(data, plan, pooled_seeds)
    survives = holm([deciding_p(r) for r in pooled], plan["alpha"]) if pooled else []
    deviations = plan.get("deviations", [])
    out = [
        "## Confirmatory answers (pre-registered)\n",
        f"Registered in `PREREGISTRATION.md` (commit `{plan['registered_in']}`, data copy "
        f"`preregistration.json`) before any run of seeds {_seeds(seeds)} existed; seeds "
        f"{_seeds(plan['exploratory_seeds'])} were exploratory and generated the hypotheses. "
        f"Each claim is decided on its own at α = {plan['alpha']} by "
        "`bench.stats.registered_verdict` (analysis code "
        f"`{plan['analysis_code']}`): the exact two-sided sign-flip test over the "
        f"{len(seeds)} seed-level differences (floor {2 / 2 ** len(seeds):.3g}) and TOST against "
        f"the margin (floor {1 / 2 ** len(seeds):.3g}). Unit: {plan['unit']}. With four "
        "claims each at α, the chance of at least one false verdict if every null held is at "
        f"most {1 - (1 - plan['alpha']) ** len(plan['claims']):.2f}.\n",
        "**Deviations from the registration**: "
        + ("; ".join(deviations) if deviations else "none.")
        + "\n",
        HEAD,
        "|" + " --- |" * 9,
        *[_row(r) for r in confirm],
    ]
    reg = plan["regime"]
    gap = [g[reg["metric"]] for g in gaps if g["variant"] == reg["variant"] and g["seed"] in seeds]
    if len(gap) == len(seeds):
        binds = float(np.mean(gap)) >= reg["min_mean"]
        out.append(
            f"\n**Regime** (registered): the hybrid model's mean STOI quantization gap over seeds "
            f"{_seeds(seeds)} is {np.mean(gap):.3f} (registered minimum {reg['min_mean']}): "
            + (
                "the bottleneck binds."
                if binds
                else "**below it: the bottleneck does not bind, "
                "so these verdicts say little about quantization** (DESIGN.md §7)."
            )  # fmt: skip
        )
    else:
        out.append(
            f"\n**Regime** (registered): pending — quantization gaps for {len(gap)} of "
            f"{len(seeds)} confirmatory seeds."
        )
    if any(r["verdict"] == "pending" for r in pooled):
        out.append(
            f"\n**Pooled over seeds {_seeds(pooled_seeds)}** (secondary): pending until every "
            "seed of every variant is scored."
        )
    else:
        out += [
            f"\n**Pooled over seeds {_seeds(pooled_seeds)}** (secondary: seeds "
            f"{_seeds(plan['exploratory_seeds'])} generated the hypotheses; floors "
            f"{2 / 2 ** len(pooled_seeds):.2g} and {1 / 2 ** len(pooled_seeds):.2g}); the last "
            "column says whether the p the verdict rests on survives Holm over the four claims:\n",
            HEAD + " survives Holm over 4 |",
            "|" + " --- |" * 10,
            *[_row(r, ok) for r, ok in zip(pooled, survives, strict=True)],
        ]
    out.append("")
    atomic_write_text(
        results_root / "confirmatory.json",
        json.dumps({"confirmatory": confirm, "pooled": pooled}, indent=1, default=str) + "\n",
    )
    return out
