"""Faults land on the right party: build errors are CodecUnavailable and the run goes on, bad
devices and numbers are one-line usage errors, bad inputs are input failures, corrupt files are
named, test-only codecs stay out of results/, and --debug shows what a one-line error hides."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from bench.cli import main
from bench.results import load_result
from tests.conftest import speech

REPO = Path(__file__).resolve().parent.parent


def _corrupt_checkpoints(tmp_path: Path) -> Path:
    src = REPO / "checkpoints" / "tiny_fsq_hybrid_613bps"
    if not src.is_dir():
        pytest.skip("shipped TAAE checkpoint absent")
    root = tmp_path / "ckpts"
    dst = root / src.name
    shutil.copytree(src, dst)
    blob = (dst / "model.safetensors").read_bytes()
    (dst / "model.safetensors").write_bytes(blob[: len(blob) // 3])  # truncated download
    return root


def test_a_corrupt_checkpoint_fails_its_codec_and_the_others_complete(
    tmp_path: Path, speech_folder: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("TAAE_CHECKPOINTS", str(_corrupt_checkpoints(tmp_path)))
    out = tmp_path / "results"
    code = main(["run", "--codecs", "passthrough,taae_fsq,opus@6kbps", "--dataset",
                 str(speech_folder), "--out", str(out), "--workers", "0", "--metrics", "sisdr",
                 "--no-progress"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "taae_fsq" in err and "Traceback" not in err
    names = {p.stem for p in out.glob("*/*.json")}
    assert names == {"passthrough", "opus@6kbps"}


@pytest.mark.parametrize("device", ["gpu", "cuda:0", "tpu"])
def test_unusable_devices_are_usage_errors_without_a_traceback(
    device: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    if device == "cuda:0" and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    assert main(["run", "--codecs", "passthrough", "--device", device, "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --device")


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--workers", "-1"],
        ["run", "--limit", "0"],
        ["merge", "--codecs", "passthrough", "--shards", "0"],
        ["throughput", "--codecs", "passthrough", "--batch-size", "0"],
    ],
)
def test_bad_numeric_flags_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2


def test_over_full_scale_and_dc_only_inputs_are_input_failures(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    x = speech(1.5)
    sf.write(folder / "loud.wav", (x / np.abs(x).max() * 1.7).astype(np.float32), 16000,
             subtype="FLOAT")  # fmt: skip
    sf.write(folder / "dc.wav", np.full(24000, 0.3, dtype=np.float32), 16000, subtype="FLOAT")
    sf.write(folder / "ok.wav", x, 16000)
    out = tmp_path / "results"
    assert main(["run", "--codecs", "passthrough", "--dataset", str(folder), "--out", str(out),
                 "--workers", "0", "--metrics", "sisdr", "--no-progress"]) == 0  # fmt: skip
    res = load_result(next(out.glob("*/passthrough.json")))
    by_id = {u["id"]: u for u in res["utterances"]}
    assert by_id["loud"]["stage"] == "input" and "over-full-scale" in by_id["loud"]["error"]
    assert by_id["dc"]["stage"] == "input" and "DC-only" in by_id["dc"]["error"]
    assert by_id["ok"]["status"] == "ok"


def test_test_only_codecs_never_write_into_results(speech_folder: Path) -> None:
    from audiocodecs import get_codec
    from bench.data import folder_dataset
    from bench.results import REPO_ROOT
    from bench.runner import RunError, RunOptions, run_built_codec

    codec = get_codec("taae_fsq_random")
    assert codec.test_only and codec.describe()["test_only"] is True
    opts = RunOptions(metrics=["sisdr"], out=REPO_ROOT / "results", progress=False)
    with pytest.raises(RunError, match="test-only"):
        run_built_codec(codec, folder_dataset(speech_folder), opts)


def test_corrupt_or_missing_results_are_named_not_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["leaderboard", "--results", str(tmp_path)]) == 2
    assert "no result files" in capsys.readouterr().err
    (tmp_path / "default").mkdir()
    bad = tmp_path / "default" / "opus@6kbps.json"
    bad.write_text('{"schema": 1, "codec": ')
    assert main(["leaderboard", "--results", str(tmp_path)]) == 2
    assert str(bad) in capsys.readouterr().err


def test_a_malformed_baseline_is_named(tmp_path: Path) -> None:
    from bench.check import run_check

    (tmp_path / "x.json").write_text(json.dumps({"schema": 1, "codec": {"name": "x"}}))
    ok, report = run_check(tmp_path, workers=0)
    assert not ok and "malformed baseline" in report and "x.json" in report


def test_debug_shows_the_traceback_a_one_line_error_hides(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import bench.commands.list as list_command

    def bug(args: object) -> int:
        raise ZeroDivisionError("planted bug")

    monkeypatch.setattr(list_command, "cmd_list", bug)
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError" in err and "--debug" in err
    with pytest.raises(ZeroDivisionError):
        main(["list", "--debug"])


def test_a_dead_worker_is_retried_then_charged_to_the_harness(
    tmp_path: Path, speech_folder: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from bench.scoring import FAULT_ENV

    out = tmp_path / "results"
    argv = ["run", "--codecs", "passthrough", "--dataset", str(speech_folder), "--out", str(out),
            "--workers", "2", "--metrics", "sisdr", "--no-progress"]  # fmt: skip
    # dies once on clip1: retried on a fresh worker, everything scored
    monkeypatch.setenv(FAULT_ENV, f"clip1:{tmp_path / 'marker'}")
    assert main(argv) == 0
    res = load_result(next(out.glob("*/passthrough.json")))
    assert res["counts"]["ok"] == 3 and res["counts"]["harness_failed"] == 0
    # dies every time on clip1: a harness failure (not the codec's), the run exits 1
    monkeypatch.setenv(FAULT_ENV, "clip1")
    assert main([*argv, "--fresh"]) == 1
    assert "harness failure" in capsys.readouterr().err
    res = load_result(next(out.glob("*/passthrough.json")))
    by_id = {u["id"]: u for u in res["utterances"]}
    assert by_id["clip1"]["stage"] == "harness" and by_id["clip0"]["status"] == "ok"
    assert res["counts"]["harness_failed"] == 1


def test_no_metric_worker_outlives_a_killed_run(tmp_path: Path, speech_folder: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    def children(pid: int) -> list[int]:
        out = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(stat.parent.name))
        return out

    if not Path("/proc").is_dir():
        pytest.skip("needs /proc")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench", "run", "--codecs", "passthrough", "--dataset",
         str(speech_folder), "--out", str(tmp_path / "r"), "--workers", "2", "--no-progress"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    kids: list[int] = []
    deadline = time.time() + 60
    while time.time() < deadline and len(kids) < 2:
        kids = [k for k in children(proc.pid)
                if "spawn" in Path(f"/proc/{k}/cmdline").read_text(errors="ignore")]  # fmt: skip
        time.sleep(0.2)
    assert kids, "the run never started its metric workers"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.time() + 15
    while time.time() < deadline and any(Path(f"/proc/{k}").exists() for k in kids):
        time.sleep(0.2)

    def running(pid: int) -> bool:  # a zombie awaiting its reaper does no work
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    alive = [k for k in kids if running(k)]
    assert not alive, f"metric workers {alive} outlived the killed run"


class _NotATensor:  # a pickled object weights_only=True refuses
    pass


def test_dac_weights_needing_full_unpickling_are_refused_without_opt_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    pytest.importorskip("dac")
    from audiocodecs import CodecUnavailable, get_codec
    from audiocodecs.dac import weights_path

    monkeypatch.setenv("DAC_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.delenv("DAC_ALLOW_UNPICKLE", raising=False)
    torch.save({"state_dict": {}, "payload": _NotATensor()}, weights_path("16khz"))
    with pytest.raises(CodecUnavailable, match="weights_only=True.*DAC_ALLOW_UNPICKLE=1"):
        get_codec("dac_16khz@1kbps")
