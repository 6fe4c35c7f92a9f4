"""The project behaves the same on another machine: the gate's tolerances hold on emulated CPUs,
the first command leaves the tree clean, and ``../shared`` may be a symlink or a copy."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bench.cli as cli
import bench.data as data
from bench.check import TOLERANCES, compare, run_check, tolerance
from bench.results import load_result

REPO = Path(__file__).resolve().parent.parent
CHECK = REPO / "results" / "check"
#: Another CPU, as the README's portability check emulates it.
EMULATED = {
    "ATEN_CPU_CAPABILITY": "default",
    "NPY_DISABLE_CPU_FEATURES": "AVX512F AVX512CD AVX512_SKX AVX2 FMA3",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
}


def _copy_baselines(tmp_path: Path, names: list[str]) -> Path:
    folder = tmp_path / "baselines"
    folder.mkdir()
    for n in names:
        shutil.copy(CHECK / f"{n}.json", folder / f"{n}.json")
    return folder


@pytest.mark.slow
def test_gate_passes_on_an_emulated_cpu(tmp_path: Path) -> None:
    """The committed baselines (another machine's numbers) pass with generic torch kernels,
    numpy without AVX2/FMA3 and one thread; the identity path's ~110 dB SI-SDR is among them."""
    folder = _copy_baselines(tmp_path, ["passthrough@24khz", "opus@6kbps", "codec2@700"])
    env = {**os.environ, **EMULATED}
    cmd = [sys.executable, "-m", "bench", "check", "--baselines", str(folder), "--workers", "0"]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "PASS" in done.stdout


def _shifted(metric: str, by: float) -> dict:
    base = load_result(CHECK / "codec2@700.json")
    cur = json.loads(json.dumps(base))
    cur["summary"][metric]["mean"] += by
    return base, cur


@pytest.mark.parametrize("sign", [+1, -1])
def test_a_pesq_shift_of_0_02_fails_the_gate(sign: int) -> None:
    base, cur = _shifted("pesq_wb", sign * 0.02)
    rows = {r["metric"]: r for r in compare(base, cur)}
    assert not rows["pesq_wb"]["ok"], rows["pesq_wb"]
    assert all(r["ok"] for m, r in rows.items() if m != "pesq_wb")


@pytest.mark.slow
def test_a_pesq_shift_of_a_committed_baseline_fails_the_rerun(tmp_path: Path) -> None:
    folder = _copy_baselines(tmp_path, ["opus@6kbps"])
    path = folder / "opus@6kbps.json"
    obj = json.loads(path.read_text())
    obj["summary"]["pesq_wb"]["mean"] += 0.02
    path.write_text(json.dumps(obj))
    ok, report = run_check(folder, workers=0)
    assert not ok
    failed = [ln for ln in report.splitlines() if "| FAIL" in ln]
    assert len(failed) == 1 and "pesq_wb" in failed[0], report


def test_saturated_sisdr_is_gated_as_a_floor() -> None:
    tol = tolerance("sisdr")
    assert tol.at_least is not None and tol.saturated(112.1)
    assert tol.accepts(112.1, 112.03)  # the reported cross-machine drift of passthrough@24khz
    assert tol.accepts(112.1, 95.0)
    assert not tol.accepts(112.1, tol.at_least - 0.1)  # a real fault of an identity path
    assert not tolerance("sisdr").accepts(5.0, 5.2)  # below the floor: two-sided again
    assert not tolerance("sisdr").accepts(5.0, 4.8)


def test_every_metric_of_the_baselines_has_a_measured_tolerance() -> None:
    metrics = {m for f in CHECK.glob("*.json") for m in load_result(f)["summary"]}
    assert metrics <= set(TOLERANCES), sorted(metrics - set(TOLERANCES))


def test_bench_run_writes_to_an_untracked_folder_by_default(tmp_path: Path) -> None:
    args = cli.build_parser().parse_args(["run"])
    assert Path(args.out) == cli.LOCAL_RESULTS_DIR != cli.RESULTS_DIR
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    probe = cli.LOCAL_RESULTS_DIR / "default" / "x.json"
    done = subprocess.run(["git", "check-ignore", "-q", str(probe)], cwd=REPO)
    assert done.returncode == 0, f"{probe} is not ignored by git"


def test_bench_run_without_out_leaves_committed_results_alone(
    tmp_path: Path,
    speech_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    committed, local = tmp_path / "results", tmp_path / "results" / "local"
    committed.mkdir()
    (committed / "LEADERBOARD.md").write_text("committed board\n")
    import bench.commands.common as common  # where the subcommands read the two folders

    monkeypatch.setattr(common, "RESULTS_DIR", committed)
    monkeypatch.setattr(common, "LOCAL_RESULTS_DIR", local)
    argv = ["run", "--codecs", "passthrough", "--dataset", str(speech_folder), "--metrics",
            "sisdr", "--workers", "0", "--no-progress"]  # fmt: skip
    assert cli.main(argv) == 0
    assert (committed / "LEADERBOARD.md").read_text() == "committed board\n"
    assert sorted(p.name for p in committed.iterdir()) == ["LEADERBOARD.md", "local"]
    assert (local / "LEADERBOARD.md").is_file() and list(local.rglob("passthrough.json"))
    assert "not tracked" in capsys.readouterr().err


def test_dataset_paths_stay_relative_when_shared_is_a_symlink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``../shared`` as a link to a folder elsewhere (or a copy) records ``../shared/…``."""
    elsewhere = tmp_path / "elsewhere" / "shared-data"
    (elsewhere / "data" / "speech").mkdir(parents=True)
    root = tmp_path / "work"
    (root / "clone" / "bench" / "data").mkdir(parents=True)
    (root / "shared").symlink_to(elsewhere, target_is_directory=True)
    monkeypatch.setattr(data, "PACKAGE_DIR", root / "clone" / "bench" / "data")
    speech = root / "shared" / "data" / "speech"
    assert data.display_path(speech) == os.path.join("..", "shared", "data", "speech")
    # the same folder reached through its resolved location
    assert data.display_path(speech.resolve()) == os.path.join("..", "shared", "data", "speech")
    # a copy beside the clone
    shutil.rmtree(elsewhere)
    (root / "shared").unlink()
    (root / "shared" / "data").mkdir(parents=True)
    assert data.display_path(root / "shared" / "data") == os.path.join("..", "shared", "data")
