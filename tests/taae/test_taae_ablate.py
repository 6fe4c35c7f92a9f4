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

    from taae.ablation_report import operating_points_section

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
