"""The confirmatory section decides each registered claim on exactly the registered seeds, from the
plan file the study commits (``preregistration.json``), and waits while seeds are missing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from taae.study.claims import load_plan, registered_claims, seed_diffs
from taae.study.confirm import confirmatory_section

REPO = Path(__file__).resolve().parents[2]
PLAN = REPO / "results" / "ablation_tinyspec" / "preregistration.json"


def _result(values: dict[str, float]) -> dict[str, Any]:
    return {
        "utterances": [{"id": k, "status": "ok", "metrics": {"stoi": v}} for k, v in values.items()]
    }


def _data(shift: dict[str, float], seeds: range, rng: np.random.Generator) -> dict[str, Any]:
    """Five variants × seeds × one set of 4 utterances; variant = hybrid + shift + small noise."""
    data: dict[str, Any] = {}
    for s in seeds:
        base = {f"u{i}": 0.7 + 0.01 * i for i in range(4)}
        data.setdefault("hybrid", {})[s] = {"set": _result(base)}
        for v, d in shift.items():
            noisy = {k: x + d + rng.normal(0, 0.001) for k, x in base.items()}
            data.setdefault(v, {})[s] = {"set": _result(noisy)}
    return data


def test_registered_plan_is_the_one_in_the_preregistration() -> None:
    plan = json.loads(PLAN.read_text())
    text = (PLAN.parent / "PREREGISTRATION.md").read_text()
    assert plan["seeds"] == [6, 7, 8, 9, 10, 11] and plan["alpha"] == 0.05
    assert plan["analysis_code"] in text
    for claim in plan["claims"]:
        assert claim["metric"] == "stoi" and claim["margin"] == 0.010
    hyp = {c["variant"]: c["hypothesis"] for c in plan["claims"]}
    assert hyp == {"rvq": "equivalent", "ste": "greater", "noise": "equivalent", "none": "less"}


def test_seed_diffs_pair_utterances_within_each_seed() -> None:
    data = {
        "hybrid": {6: {"set": _result({"a": 0.5, "b": 0.6})}},
        "rvq": {6: {"set": _result({"a": 0.7})}},  # b failed for rvq: dropped pairwise
    }
    assert seed_diffs(data, "rvq", "hybrid", [6, 7], "stoi") == {6: 0.7 - 0.5}


def test_each_claim_gets_its_registered_verdict(tmp_path: Path) -> None:
    plan = json.loads(PLAN.read_text())
    rng = np.random.default_rng(0)
    shift = {"rvq": 0.001, "ste": 0.02, "noise": 0.0, "none": -0.1}
    data = _data(shift, range(12), rng)
    words = {r["variant"]: r["verdict"] for r in registered_claims(data, plan, plan["seeds"])}
    assert words == {
        "rvq": "equivalent",
        "ste": "confirmed",
        "noise": "equivalent",
        "none": "confirmed",
    }
    shutil.copy(PLAN, tmp_path / "preregistration.json")
    text = "\n".join(confirmatory_section(tmp_path, data, []))
    assert "**equivalent within ±0.01**" in text and "**confirmed**" in text
    assert "against the paper" in text and "with the paper (hybrid better)" in text
    assert "survives Holm over 4" in text  # all twelve seeds present: the pooled reading
    assert json.loads((tmp_path / "confirmatory.json").read_text())["confirmatory"]


def test_missing_seeds_leave_claims_pending(tmp_path: Path) -> None:
    plan = json.loads(PLAN.read_text())
    data = _data({"rvq": 0.0, "ste": 0.0, "noise": 0.0, "none": 0.0}, range(9),
                 np.random.default_rng(1))  # fmt: skip
    recs = registered_claims(data, plan, plan["seeds"])
    assert {r["verdict"] for r in recs} == {"pending"}
    assert recs[0]["missing_seeds"] == [9, 10, 11]
    shutil.copy(PLAN, tmp_path / "preregistration.json")
    text = "\n".join(confirmatory_section(tmp_path, data, []))
    assert "pending: seeds 9–11 not scored yet" in text
    assert load_plan(tmp_path / "nowhere") is None
