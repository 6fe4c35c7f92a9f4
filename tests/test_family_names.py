"""Family names (`dac`, `codec2`, `taae` …) stand for one documented entry each; names that could
mean several entries, or none, are refused with the candidates — never guessed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from audiocodecs import CodecUnavailable, get_codec, get_entry
from audiocodecs import registry as reg
from audiocodecs.registry import FAMILY_DEFAULTS, family_defaults, resolve
from bench.cli import main

REPO = Path(__file__).resolve().parent.parent


def _families() -> dict[str, list[str]]:
    reg._load_families()
    return reg._families()


@pytest.mark.parametrize("family", sorted(FAMILY_DEFAULTS))
def test_a_declared_default_is_a_real_entry_of_its_own_family(family: str) -> None:
    if family not in _families():
        pytest.skip(f"family {family} not registered here")
    default = FAMILY_DEFAULTS[family]
    entry = get_entry(family)
    assert entry.name == default.name == resolve(family)
    assert entry.family == family and not entry.test_only
    assert default.why.strip()


def test_the_brief_s_families_resolve_to_the_low_bitrate_entries() -> None:
    assert {f: n for f, (n, _) in family_defaults().items() if f in FAMILY_DEFAULTS} == {
        "codec2": "codec2@700",
        "dac": "dac_16khz@1kbps",
        "encodec": "encodec_24khz@1.5kbps",
        "lyra": "lyra@3.2kbps",
        "opus": "opus@6kbps",
        "taae": "taae_fsq",
    }


@pytest.mark.parametrize("family", sorted(_families()))
def test_every_family_name_means_one_of_its_entries_or_is_refused(family: str) -> None:
    try:
        name = resolve(family)
    except KeyError as exc:
        assert "ambiguous" in str(exc)
        return
    assert name == family or get_entry(name).family == family


def test_an_exact_name_wins_over_a_family_of_the_same_name() -> None:
    assert resolve("passthrough") == "passthrough"
    assert get_entry("passthrough").family == "passthrough"


def test_a_name_with_several_settings_is_refused_with_every_candidate() -> None:
    with pytest.raises(KeyError, match="ambiguous") as err:
        resolve("dac_24khz")
    msg = str(err.value)
    for name in ("dac_24khz@1.5kbps", "dac_24khz@3kbps", "dac_24khz@6kbps", "dac_24khz@24kbps"):
        assert name in msg
    assert msg.index("@3kbps") < msg.index("@24kbps")  # numbers in numeric order


def test_an_unknown_name_suggests_the_family_and_what_it_means() -> None:
    with pytest.raises(KeyError, match=r"did you mean dac \(= dac_16khz@1kbps\)"):
        resolve("dacc")
    with pytest.raises(KeyError, match="did you mean.*opus@6kbps"):
        resolve("opus@6kbs")


def test_an_unavailable_family_default_is_reported_like_its_exact_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAC_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    exact = get_entry("dac_16khz@1kbps").availability()
    if exact is None or "weights not found" not in exact:
        pytest.skip(f"descript-audio-codec not installed here ({exact})")
    with pytest.raises(CodecUnavailable) as err:
        get_codec("dac")
    msg = str(err.value)
    assert msg.startswith("dac → dac_16khz@1kbps (the dac family's default): ")
    assert exact in msg  # the same reason: the path and the URL
    assert str(tmp_path / "no-weights" / "weights_16khz_8kbps_0.0.5.pth") in msg
    assert "https://github.com/descriptinc/descript-audio-codec/releases/" in msg
    assert "python -m bench weights fetch dac_16khz" in msg


def test_a_family_name_builds_the_entry_under_its_exact_name() -> None:
    codec = get_codec("codec2")
    assert codec.name == "codec2@700"


@pytest.fixture
def speech_dir(tmp_path: Path) -> Path:
    import soundfile as sf

    from tests.conftest import speech

    folder = tmp_path / "speech"
    folder.mkdir()
    sf.write(folder / "a.wav", speech(1.0), 16000, subtype="PCM_16")
    return folder


def test_run_with_an_unavailable_family_runs_the_others_and_exits_1(
    tmp_path: Path,
    speech_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    """The brief's command shape (`--codecs A,B,dac`) on a machine without DAC weights."""
    monkeypatch.setenv("DAC_WEIGHTS_DIR", str(tmp_path / "no-weights"))
    if "weights not found" not in (get_entry("dac").availability() or ""):
        pytest.skip("descript-audio-codec not installed here")
    out = tmp_path / "results"
    rc = main(["run", "--codecs", "passthrough,codec2,dac", "--dataset", str(speech_dir),
               "--out", str(out), "--workers", "0", "--metrics", "sisdr", "--no-progress",
               "--no-leaderboard"])  # fmt: skip
    assert rc == 1
    written = sorted(p.name for p in out.glob("*/*.json"))
    assert written == ["codec2@700.json", "passthrough.json"]  # under the exact names
    result = json.loads(next(out.glob("*/codec2@700.json")).read_text())
    assert result["codec"]["name"] == "codec2@700"
    err = capsys.readouterr().err
    assert "error: dac → dac_16khz@1kbps (the dac family's default): weights not found" in err
    assert str(tmp_path / "no-weights") in err and "releases/download/0.0.5" in err


@pytest.mark.parametrize("name", ["dac_24khz", "no_such_codec"])
def test_run_refuses_ambiguous_and_unknown_names_before_any_work(
    tmp_path: Path, speech_dir: Path, name: str, capsys: pytest.CaptureFixture
) -> None:
    out = tmp_path / "results"
    rc = main(["run", "--codecs", f"passthrough,{name}", "--dataset", str(speech_dir), "--out",
               str(out), "--workers", "0", "--metrics", "sisdr", "--no-progress"])  # fmt: skip
    assert rc == 2 and not out.exists()
    assert ("ambiguous" if name == "dac_24khz" else "unknown codec") in capsys.readouterr().err


def test_bench_list_says_what_each_family_name_means_and_why(
    capsys: pytest.CaptureFixture,
) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for family, (name, why) in family_defaults().items():
        line = next(line for line in out.splitlines() if line.strip().startswith(f"{family} "))
        assert f"→ {name}" in line
        assert why.split()[0] in line  # the reason starts on the same line (wrapped, never cut)
    assert max(len(line) for line in out.split("\n\n")[1].splitlines()) <= 100
    assert main(["list", "--why", "dac"]) in (0, 1)
    why = capsys.readouterr().out
    assert why.startswith("dac → dac_16khz@1kbps") and FAMILY_DEFAULTS["dac"].why in why


# ------------------------------------------------------------------------ plugins' own families
@pytest.fixture
def isolated() -> Iterator[None]:
    """Plugins loaded by a test leave the registries as they were."""
    import os

    from audiocodecs import plugins

    reg._load_families()
    codecs, defaults = dict(reg._REGISTRY), dict(FAMILY_DEFAULTS)
    loaded, env = dict(plugins._PLUGINS), os.environ.get(plugins.ENV_VAR)
    yield
    reg._REGISTRY.clear()
    reg._REGISTRY.update(codecs)
    FAMILY_DEFAULTS.clear()
    FAMILY_DEFAULTS.update(defaults)
    plugins._PLUGINS.clear()
    plugins._PLUGINS.update(loaded)
    if env is None:
        os.environ.pop(plugins.ENV_VAR, None)
    else:
        os.environ[plugins.ENV_VAR] = env


PLUGIN = """
from audiocodecs.passthrough import Passthrough
from audiocodecs.registry import register_codec, set_family_default

for rate in (8000, 24000):
    register_codec(f"fam_x@{rate}", description="x", family="famx")(lambda r=rate: Passthrough(r))
set_family_default("famx", "fam_x@8000", "the narrow-band one")
"""


def test_a_plugin_declares_its_family_default(isolated: None, tmp_path: Path) -> None:
    path = tmp_path / "famx.py"
    path.write_text(PLUGIN)
    (loaded,) = reg.load_plugins([str(path)])
    assert loaded.error is None
    assert loaded.registered == {"codec": ["fam_x@24000", "fam_x@8000"], "family default": ["famx"]}
    assert resolve("famx") == "fam_x@8000"
    assert family_defaults()["famx"] == ("fam_x@8000", "the narrow-band one")


def test_a_refused_plugin_takes_its_family_default_with_it(isolated: None, tmp_path: Path) -> None:
    path = tmp_path / "famx_bad.py"
    path.write_text(PLUGIN + '\nregister_codec("passthrough", description="dup", family="famx")'
                    "(lambda: Passthrough(16000))\n")  # fmt: skip
    (loaded,) = reg.load_plugins([str(path)])
    assert loaded.error and "registered twice" in loaded.error
    assert "famx" not in FAMILY_DEFAULTS
    with pytest.raises(KeyError, match="unknown codec 'famx'"):
        resolve("famx")


def test_a_second_different_default_for_a_family_is_rejected(isolated: None) -> None:
    with pytest.raises(ValueError, match="family default registered twice"):
        reg.set_family_default("dac", "dac_24khz@1.5kbps", "another")
    reg.set_family_default("dac", FAMILY_DEFAULTS["dac"].name, "same entry: accepted")


def test_a_one_entry_plugin_family_resolves_to_its_entry(isolated: None) -> None:
    (loaded,) = reg.load_plugins([str(REPO / "examples" / "mulaw_codec.py")])
    assert loaded.error is None
    assert resolve("mulaw") == "mulaw_8khz"


def test_a_name_stem_holding_its_family_default_means_that_default() -> None:
    """DESIGN.md names ``dac_16khz``: of its settings, the one the dac family stands for."""
    if "dac" not in _families():
        pytest.skip("dac family not registered here")
    assert resolve("dac_16khz") == FAMILY_DEFAULTS["dac"].name == "dac_16khz@1kbps"
    assert resolve("encodec_24khz") == "encodec_24khz@1.5kbps"
    with pytest.raises(KeyError, match="ambiguous"):
        resolve("dac_24khz")  # none of its settings is a family default


def test_taae_declares_its_default_from_its_own_module() -> None:
    import audiocodecs.registry as registry_module

    src = (Path(registry_module.__file__)).read_text()
    assert '"taae_fsq"' not in src  # the generic layer names no model of the project's own
    assert family_defaults()["taae"][0] == "taae_fsq"
