"""Codecs and metrics from outside the package: ``--plugin``, ``$BENCH_PLUGINS``, entry points."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import audiocodecs.plugins as plugins
import audiocodecs.registry as registry
import bench.metrics as metrics
from bench.cli import main
from bench.results import find_results, load_result

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "mulaw_codec.py"

METRIC_PLUGIN = """
import numpy as np
from bench.metrics import Metric, register_metric

def _peak_ratio(ref, dec, device="cpu"):
    return float(np.max(np.abs(dec)) / max(float(np.max(np.abs(ref))), 1e-9))

register_metric(Metric(name="peak_ratio", label="Peak ratio", unit="", higher_is_better=True,
                       fn=_peak_ratio, definition="max|decoded| / max|reference|"))
"""

COLLIDING = """
from audiocodecs import register_codec
from audiocodecs.passthrough import Passthrough

@register_codec("plugin_ok_first", description="registered before the collision", family="x")
def first():
    return Passthrough(16000)

@register_codec("passthrough", description="collides with a built-in", family="x")
def second():
    return Passthrough(16000)
"""


@pytest.fixture
def isolated() -> Iterator[None]:
    """Plugins loaded by a test leave the process's registries as they were."""
    registry._load_families()
    codecs, mets = dict(registry._REGISTRY), dict(metrics._METRICS)
    loaded, env = dict(plugins._PLUGINS), os.environ.get(plugins.ENV_VAR)
    yield
    registry._REGISTRY.clear()
    registry._REGISTRY.update(codecs)
    metrics._METRICS.clear()
    metrics._METRICS.update(mets)
    plugins._PLUGINS.clear()
    plugins._PLUGINS.update(loaded)
    if env is None:
        os.environ.pop(plugins.ENV_VAR, None)
    else:
        os.environ[plugins.ENV_VAR] = env


def _outside(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def test_example_plugin_is_short_and_passes_selftest(isolated: None) -> None:
    assert len(EXAMPLE.read_text().splitlines()) <= 30
    assert main(["selftest", "mulaw_8khz", "--plugin", str(EXAMPLE)]) == 0


@pytest.mark.slow
def test_a_codec_file_outside_the_repo_runs_and_reaches_board_and_report(
    isolated: None, tmp_path: Path, speech_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plugin = _outside(tmp_path, "my_codec.py", EXAMPLE.read_text())
    assert main(["list", "--plugin", str(plugin)]) == 0
    assert "mulaw_8khz" in capsys.readouterr().out
    out = tmp_path / "results"
    argv = ["run", "--codecs", "mulaw_8khz,passthrough", "--plugin", str(plugin), "--dataset",
            str(speech_folder), "--out", str(out), "--metrics", "sisdr,pesq_wb", "--workers", "0",
            "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    result = next(load_result(p) for p in find_results(out) if p.name == "mulaw_8khz.json")
    assert result["counts"]["ok"] == 3
    recorded = [p for p in result["provenance"]["plugins"] if p["origin"] == "file"]
    assert recorded == [
        {"spec": "my_codec.py", "origin": "file", "module": recorded[0]["module"],
         "sha256": hashlib.sha256(plugin.read_bytes()).hexdigest(), "registered": {"codec": 1}}
    ]  # fmt: skip
    assert "mulaw_8khz" in (out / "LEADERBOARD.md").read_text()
    site = tmp_path / "site"
    argv = ["report", "--results", str(out), "--out", str(site), "--examples", "1", "--plugin",
            str(plugin)]  # fmt: skip
    assert main(argv) == 0
    pages = "".join(p.read_text() for p in site.rglob("*.html"))
    assert "mulaw_8khz" in pages
    assert any("mulaw" in p.name for p in site.rglob("*.flac")), "no listening clip of the plugin"


@pytest.mark.slow
def test_a_metric_plugin_runs_in_the_metric_worker_processes(
    isolated: None, tmp_path: Path, speech_folder: Path
) -> None:
    plugin = _outside(tmp_path, "peak_metric.py", METRIC_PLUGIN)
    out = tmp_path / "results"
    argv = ["run", "--codecs", "passthrough", "--plugin", str(plugin), "--dataset",
            str(speech_folder), "--out", str(out), "--metrics", "sisdr,peak_ratio", "--workers",
            "1", "--no-progress", "--no-leaderboard"]  # fmt: skip
    assert main(argv) == 0
    result = load_result(find_results(out)[0])
    assert result["summary"]["peak_ratio"]["n"] == 3
    assert result["summary"]["peak_ratio"]["mean"] == pytest.approx(1.0, abs=1e-6)


def test_a_broken_plugin_is_refused_in_one_line_and_the_rest_runs(
    isolated: None, tmp_path: Path, speech_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _outside(tmp_path, "broken.py", "import no_such_package_xyz\n")
    argv = ["run", "--codecs", "passthrough", "--plugin", str(broken), "--dataset",
            str(speech_folder), "--out", str(tmp_path / "r"), "--metrics", "sisdr", "--workers",
            "0", "--no-progress", "--no-leaderboard"]  # fmt: skip
    assert main(argv) == 0
    err = [ln for ln in capsys.readouterr().err.splitlines() if "refused" in ln]
    assert len(err) == 1 and "broken.py" in err[0] and "no_such_package_xyz" in err[0]


BROKEN_CODECS = """
import torch
from audiocodecs import register_codec
from audiocodecs.passthrough import Passthrough

class RaiseOnEncode(Passthrough):
    def _encode(self, wav):
        raise RuntimeError("encoder exploded")

@register_codec("bad_raise_enc", description="raises in _encode", family="broken")
def _bad():
    return RaiseOnEncode(16000)
"""


def test_a_codec_that_fails_every_utterance_exits_1_and_leaves_the_others_on_the_board(
    isolated: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue #32: rc was 0, and passthrough's row on the board showed n=0 and "—"."""
    plugin = _outside(tmp_path, "bad.py", BROKEN_CODECS)
    out = tmp_path / "out"
    argv = ["run", "--plugin", str(plugin), "--codecs", "bad_raise_enc,passthrough", "--dataset",
            "default", "--limit", "2", "--metrics", "sisdr,stoi", "--workers", "0", "--out",
            str(out), "--no-progress"]  # fmt: skip
    assert main(argv) == 1
    errors = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1 and "bad_raise_enc: no utterance scored ok" in errors[0]
    assert "encoder exploded" in errors[0]
    board = (out / "LEADERBOARD.md").read_text()
    assert f"from the result files in `{out}/`" in board  # not `results/`
    header = next(ln for ln in board.splitlines() if ln.startswith("| codec "))
    assert "SI-SDR (dB) ↑ n=2" in header
    row = next(ln for ln in board.splitlines() if ln.startswith("| passthrough "))
    assert "—" not in row.split("|")[4] and "2 / 0" in row
    assert "✗ `bad_raise_enc` scored no utterance" in board


@pytest.mark.parametrize(
    "spec,hint",
    [("no/such/dir/codec.py", "does not exist"), ("no_such_plugin_module_xyz", "no module named")],
)
def test_a_mistyped_plugin_is_a_usage_error_with_a_correct_hint(
    isolated: None, spec: str, hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue #32: a mistyped --plugin path was a warning and rc 0, hinting `python FILE`."""
    assert main(["list", "--plugin", spec]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: --plugin") and hint in err[0]
    assert "python FILE" not in err[0]


def test_a_broken_plugin_file_hint_names_the_file(isolated: None, tmp_path: Path) -> None:
    broken = _outside(tmp_path, "broken.py", "raise RuntimeError('boom')\n")
    (loaded,) = registry.load_plugins([str(broken)])
    assert loaded.error and f"`python {broken}`" in loaded.error


def test_a_colliding_plugin_is_rolled_back_whole(isolated: None, tmp_path: Path) -> None:
    path = _outside(tmp_path, "collide.py", COLLIDING)
    before = registry.get_entry("passthrough")
    (loaded,) = registry.load_plugins([str(path)])
    assert loaded.error and "registered twice" in loaded.error and "'passthrough'" in loaded.error
    assert "rename" in loaded.error
    assert "plugin_ok_first" not in registry.codec_names()  # nothing of it stays
    assert registry.get_entry("passthrough") is before


def test_bench_plugins_env_var_is_read_by_a_fresh_process(tmp_path: Path) -> None:
    plugin = _outside(tmp_path, "my_codec.py", EXAMPLE.read_text())
    env = {**os.environ, plugins.ENV_VAR: str(plugin)}
    done = subprocess.run([sys.executable, "-m", "bench", "list", "--why", "mulaw_8khz"],
                          cwd=tmp_path, env=env, capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "available" in done.stdout


def test_an_installed_distribution_is_found_by_its_entry_point(tmp_path: Path) -> None:
    """A real ``dist-info`` on ``sys.path`` (no mock of the loader): found without --plugin."""
    site = tmp_path / "site"
    dist = site / "acme_codecs-1.2.3.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-codecs\nVersion: 1.2.3\n")
    (dist / "entry_points.txt").write_text(
        "[bench.codecs]\nacme = acme_codec\n\n[bench.metrics]\nacme_peak = acme_metric\n"
    )
    (site / "acme_codec.py").write_text(EXAMPLE.read_text().replace("mulaw_8khz", "acme_mulaw"))
    (site / "acme_metric.py").write_text(METRIC_PLUGIN.replace("peak_ratio", "acme_peak"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    env.pop(plugins.ENV_VAR, None)
    code = (
        "import json\n"
        "from audiocodecs import codec_names\nfrom bench.metrics import metric_names\n"
        "from audiocodecs.plugins import loaded_plugins\n"
        "print(json.dumps(['acme_mulaw' in codec_names(), 'acme_peak' in metric_names(),"
        " loaded_plugins()]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    has_codec, has_metric, loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert has_codec and has_metric
    acme = [p for p in loaded if p.get("distribution") == "acme-codecs"]
    assert {p["module"] for p in acme} == {"acme_codec", "acme_metric"}
    assert all(p["version"] == "1.2.3" and p["origin"] == "entry point" for p in acme)


def test_the_project_taae_codecs_enter_through_their_entry_point() -> None:
    entry = registry.get_entry("taae_fsq")
    assert entry.factory.__module__ == "taae.codec"
    taae = [p for p in plugins.loaded_plugins() if p.get("module") == "taae.codec"]
    assert taae and taae[0]["origin"] == "entry point"


def _imported_modules(path: Path) -> set[str]:
    mods = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            mods |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            mods.add(node.module)
    return mods


@pytest.mark.parametrize("path", sorted((REPO / "audiocodecs").rglob("*.py")), ids=lambda p: p.name)
def test_no_audiocodecs_module_imports_taae_or_bench(path: Path) -> None:
    """The layering ``audiocodecs`` ← ``bench`` ← ``taae`` has no import against it."""
    bad = {m for m in _imported_modules(path) if m.split(".")[0] in ("taae", "bench")}
    assert not bad, f"{path.name} imports {sorted(bad)}"


@pytest.mark.parametrize("path", sorted((REPO / "bench").rglob("*.py")), ids=lambda p: p.name)
def test_no_bench_module_imports_taae(path: Path) -> None:
    """``bench`` ← ``taae``: TAAE's codecs and report pages enter through entry points."""
    bad = {m for m in _imported_modules(path) if m.split(".")[0] == "taae"}
    assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


def test_report_pages_enter_through_their_entry_point() -> None:
    from bench.report import page_providers

    providers = dict(page_providers())
    assert providers["taae_ablation"].__module__ == "taae.study.site"


def test_a_broken_report_page_plugin_is_reported_and_left_out(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import importlib.metadata

    from bench import report

    real = importlib.metadata.entry_points

    def with_broken(**kw: str) -> list[importlib.metadata.EntryPoint]:
        eps = list(real(**kw))
        if kw.get("group") == report.PAGES_GROUP:
            eps.append(importlib.metadata.EntryPoint("broken", "no_such_module:pages", kw["group"]))
        return eps

    monkeypatch.setattr(importlib.metadata, "entry_points", with_broken)
    names = [n for n, _ in report.page_providers()]
    assert "broken" not in names and "taae_ablation" in names
    assert "report pages 'broken' (no_such_module:pages) not loaded" in capsys.readouterr().err


def test_plugin_module_path_is_not_recorded_absolute(isolated: None, tmp_path: Path) -> None:
    plugin = _outside(tmp_path, "my_codec.py", EXAMPLE.read_text())
    registry.load_plugins([str(plugin)])
    rec = [p for p in plugins.loaded_plugins() if p["origin"] == "file"]
    assert rec and all(str(tmp_path) not in json.dumps(p) for p in rec)
    shutil.rmtree(tmp_path / "elsewhere")


@pytest.mark.slow
def test_bench_score_of_the_plugins_decoded_files_agrees_with_bench_run(
    isolated: None, tmp_path: Path, speech_folder: Path
) -> None:
    """The plugin decoded "elsewhere" to 16-bit files, then scored: same n, PESQ within 0.05."""
    import soundfile as sf
    import torch

    from audiocodecs import get_codec
    from bench.audio import load_audio

    plugin = _outside(tmp_path, "my_codec.py", EXAMPLE.read_text())
    registry.load_plugins([str(plugin)])
    codec = get_codec("mulaw_8khz")
    decoded = tmp_path / "decoded"
    decoded.mkdir()
    for f in sorted(speech_folder.glob("*.wav")):
        x = load_audio(f).wav
        y = codec.roundtrip(torch.from_numpy(x)[None, None], 16000).wav.flatten().numpy()
        sf.write(decoded / f"{f.stem}.wav", y, 16000, subtype="PCM_16")
    common = ["--dataset", str(speech_folder), "--metrics", "sisdr,pesq_wb", "--workers", "0",
              "--no-progress", "--no-leaderboard"]  # fmt: skip
    run_out, score_out = tmp_path / "run", tmp_path / "score"
    argv = ["run", "--codecs", "mulaw_8khz", "--plugin", str(plugin), "--out", str(run_out)]
    assert main(argv + common) == 0
    argv = ["score", "--decoded", str(decoded), "--name", "mulaw_elsewhere", "--bps", "64000",
            "--out", str(score_out)]  # fmt: skip
    assert main(argv + common) == 0
    ran, scored = load_result(find_results(run_out)[0]), load_result(find_results(score_out)[0])
    assert scored["summary"]["pesq_wb"]["n"] == ran["summary"]["pesq_wb"]["n"] == 3
    assert abs(scored["summary"]["pesq_wb"]["mean"] - ran["summary"]["pesq_wb"]["mean"]) <= 0.05
    assert scored["bitrate"]["payload_bps"] == pytest.approx(64000)
