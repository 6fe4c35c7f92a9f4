"""`python -m taae ablate`: the plan, the skip/resume logic and a whole micro study."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audiocodecs.registry import codec_names
from taae.ablate import VARIANTS, ablate, plan
from taae.checkpoint import checkpoint_step
from taae.presets import ablation_diff

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("scale", "bps"), [("tiny", 613), ("tiny", 348), ("small", 613)])
def test_plan_covers_five_variants_per_seed_each_one_field_from_hybrid(
    scale: str, bps: int, tmp_path: Path
) -> None:
    runs = plan(scale, bps, [0, 1, 2], tmp_path)
    assert len(runs) == 15
    assert [r.variant for r in runs[:5]] == list(VARIANTS)
    names = set(codec_names())
    for r in runs:
        assert r.codec in names
        diff = ablation_diff(r.preset)
        assert len(diff) == (0 if r.variant == "hybrid" else 1)
        assert r.run_dir == tmp_path / f"seed{r.seed}" / r.preset
    assert len({r.run_dir for r in runs}) == 15


def test_unknown_family_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no registry names"):
        plan("tiny", 500, [0], tmp_path)


def test_micro_study_end_to_end_then_rerun_skips_everything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs_root, results = tmp_path / "runs", tmp_path / "results"
    kwargs = dict(
        scale="test",
        bps=613,
        seeds=[0, 1],
        data=[str(REPO / "bench" / "data" / "default")],
        steps=2,
        runs_root=runs_root,
        results_root=results,
        eval_sets=["default"],
        jobs=2,
        threads=1,
        workers=0,
        bench_args=["--metrics", "sisdr,mel,stoi"],
        limit=3,
    )
    ablate(**kwargs)
    runs = plan("test", 613, [0, 1], runs_root)
    assert all(checkpoint_step(r.run_dir) == 2 for r in runs)
    for seed in (0, 1):
        files = sorted(p.stem for p in (results / f"seed{seed}" / "default-first3").glob("*.json"))
        assert files == sorted(r.codec for r in runs if r.seed == seed)
        res = json.loads(
            (results / f"seed{seed}" / "default-first3" / "taae_test_rvq.json").read_text()
        )
        assert res["codec"]["train_seed"] == seed and res["counts"]["ok"] == 3
    gaps = json.loads((results / "gaps.json").read_text())
    assert len(gaps) == 10 and all(g["utterances"] == 3 for g in gaps)
    md = (results / "ABLATION.md").read_text()
    for needle in (
        "Table 1",
        "Table 2",
        "Quantization gap",
        "Verdicts",
        "Holm",
        "RVQ",
        "FSQ no emulation",
        "`bottleneck.fsq_mode`: 'hybrid' → 'none'",
    ):
        assert needle in md
    tests = json.loads((results / "tests.json").read_text())
    assert {t["variant"] for t in tests["fsq_modes"]} == {"ste", "noise", "none"}
    assert all(t["n_seeds"] == 2 and t["n_utterances"] == 3 for t in tests["fsq_vs_rvq"])
    assert (results / "plots" / "training_curves.png").stat().st_size > 0

    capsys.readouterr()
    ablate(**(kwargs | {"stages": ("train", "report")}))
    out = capsys.readouterr().out
    assert "10 of 10 runs complete, 0 to go" in out

    # Two operating points side by side: a copy of the study with one verdict flipped must be
    # reported as exactly that one changed verdict.
    import shutil

    from taae.study.report import operating_points_section

    other = tmp_path / "other"
    shutil.copytree(results, other)
    flipped = json.loads((other / "tests.json").read_text())
    row = flipped["fsq_vs_rvq"][0]
    row["significant_holm"], row["variant_better"] = not row["significant_holm"], True
    (other / "tests.json").write_text(json.dumps(flipped))
    section = operating_points_section(results, other)
    total = len(tests["fsq_vs_rvq"]) + len(tests["fsq_modes"])
    assert f"1 of {total} verdicts differ" in section
    assert section.count("**yes**") == 1
    assert operating_points_section(results, results).count("**yes**") == 0


def test_plan_variants_filter_keeps_order_and_rejects_unknown(tmp_path: Path) -> None:
    runs = plan("tinyspec", 348, [0, 1], tmp_path, ("rvq", "hybrid"))
    assert [(r.seed, r.variant) for r in runs] == [
        (0, "hybrid"),
        (0, "rvq"),
        (1, "hybrid"),
        (1, "rvq"),
    ]
    assert runs[0].preset == "tinyspec_fsq_hybrid_348bps"
    with pytest.raises(ValueError, match="unknown variants"):
        plan("tinyspec", 348, [0], tmp_path, ("hybrid", "vq"))


def _row(metric: str, seed_diffs: list[float], variant_better: bool) -> dict:
    from bench.stats import seeds_paired_test

    res = seeds_paired_test([[d, d] for d in seed_diffs])  # two utterances per seed
    return {
        "variant": "ste",
        "metric": metric,
        **res,
        "seed_diffs": res["seed_means"],
        "variant_better": variant_better,
    }


def test_seeds_needed_is_the_first_count_whose_floor_survives_holm() -> None:
    from bench.stats import seeds_needed

    assert seeds_needed(1) == 6  # 2/2^6 = 0.031 ≤ 0.05 < 2/2^5
    assert seeds_needed(4) == 8  # 2/2^8 = 0.0078 ≤ 0.0125 < 2/2^7
    assert 2 / 2 ** seeds_needed(18) <= 0.05 / 18 < 2 / 2 ** (seeds_needed(18) - 1)


def test_claim_verdict_needs_holm_over_seeds_and_names_unanimous_metrics() -> None:
    from taae.study.claims import claim_verdict

    # Six seeds, all agreeing: p = 0.031 per metric, below α but not below α / 4 after Holm.
    six = [_row(m, [0.1 * (i + 1) for i in range(6)], False) for m in ("mel", "stft", "stoi")]
    six.append(_row("pesq_wb", [0.1, -0.2, 0.1, 0.3, -0.1, 0.2], False))
    verdict, basis = claim_verdict(six)
    assert verdict.startswith("**undecided**") and "for* the claim" in verdict
    assert basis == ["mel", "stft", "stoi"]
    # A single metric at 6 seeds is one test: it survives Holm, so the claim is supported.
    assert claim_verdict(six[:1]) == ("**supported** over seeds", ["mel"])
    # Eight unanimous seeds survive Holm over four metrics; against the claim → contradicted.
    eight = [_row(m, [0.1 * (i + 1) for i in range(8)], True) for m in ("mel", "stft", "stoi")]
    assert claim_verdict(eight)[0] == "**contradicted** over seeds"
    # Seeds split: undecided and no basis.
    split = [_row("mel", [0.1, -0.1, 0.2, -0.2, 0.1, -0.1], False)]
    assert claim_verdict(split) == ("**undecided**", [])


def test_wer_is_tested_on_error_counts_and_summarised_as_corpus_rate() -> None:
    from taae.study.data import pooled, seed_means

    def result(wers: list[float], words: list[int]) -> dict:
        utts = [
            {"id": f"u{i}", "status": "ok", "metrics": {"wer": w}, "weights": {"wer": n}}
            for i, (w, n) in enumerate(zip(wers, words, strict=True))
        ]
        return {"utterances": utts}

    data = {"hybrid": {0: {"set": result([50.0, 0.0], [2, 98])}}}
    assert pooled(data, "hybrid", 0, "wer") == {"set/u0": 1.0, "set/u1": 0.0}  # errors
    assert seed_means(data, "hybrid", [0], "wer") == [pytest.approx(1.0)]  # 1 / 100 words


def test_write_study_keeps_earlier_seeds_variants_and_eval_sets(tmp_path: Path) -> None:
    from taae.ablate import write_study

    base = {"scale": "tinyspec", "bps": 348, "steps": 2000, "presets": ["p_hybrid"]}
    write_study(
        tmp_path,
        {**base, "seeds": [0, 1], "codecs": {"hybrid": "h"}, "eval_sets": ["dev", "test"]}
        | {"data_minutes": 134.6},
    )
    write_study(  # evaluated on a machine without the training data
        tmp_path,
        {**base, "seeds": [2], "codecs": {"rvq": "r"}, "eval_sets": ["test"], "presets": ["p_rvq"]}
        | {"data_minutes": None},
    )
    study = json.loads((tmp_path / "study.json").read_text())
    assert study["seeds"] == [0, 1, 2]
    assert study["codecs"] == {"hybrid": "h", "rvq": "r"}
    assert study["eval_sets"] == ["dev", "test"]
    assert study["presets"] == ["p_hybrid", "p_rvq"]
    assert study["data_minutes"] == 134.6
    # another study (other step count) starts afresh rather than mixing runs
    write_study(tmp_path, {**base, "steps": 6000, "seeds": [0], "codecs": {}, "eval_sets": ["x"]})
    study = json.loads((tmp_path / "study.json").read_text())
    assert study["eval_sets"] == ["x"] and study["seeds"] == [0]
