"""`bench report`: the site's table, plots and listening clips come from the result files and the
scored roundtrip; media names never collide; the A/B picker opens on the pair the board is about;
a real (headless Chromium) browser renders, sorts, switches the A/B listening columns and loads
every displayed clip."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from bench.cli import build_parser, main
from bench.report import DEFAULT_PAIR, examples_html, media_stem, opening_pair

ARTIFACTS = Path(__file__).resolve().parent.parent / ".pytest_artifacts"
# the default pair plus two others, so A/B can pick one not shown first
CODECS = ("passthrough", "opus@6kbps", "codec2@700", "taae_fsq")
SHOWN = 3  # players per listening row: the reference, A and B


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import speech

    root = tmp_path_factory.mktemp("report")
    folder = root / "speech"
    folder.mkdir()
    for i in range(3):
        sf.write(folder / f"clip{i}.wav", speech(1.5, index=i), 16000, subtype="PCM_16")
    results = root / "results"
    assert main(["run", "--codecs", ",".join(CODECS), "--dataset", str(folder), "--out",
                 str(results), "--workers", "0", "--metrics", "sisdr,stoi",
                 "--no-progress"]) == 0  # fmt: skip
    out = root / "site"
    assert main(["report", "--results", str(results), "--out", str(out), "--examples", "2"]) == 0
    return out


def _row_clips(page: str) -> list[dict[str, list[str]]]:
    """Each listening row's ``data-clips``: every codec's ``[flac, png]`` the A/B picker offers."""
    return [json.loads(html.unescape(d)) for d in re.findall(r'<tr data-clips="([^"]*)"', page)]


def test_the_site_has_the_table_plot_and_every_clip(site: Path) -> None:
    page = (site / "index.html").read_text()
    assert page.count("<tbody>") == 2  # leaderboard + listening rows
    table = page.split("<tbody>")[1].split("</tbody>")[0]
    assert table.count("<tr>") == len(CODECS)
    assert "http://" not in page and "https://" not in page  # no CDN, nothing fetched
    for src in re.findall(r'src="([^"]+)"', page):
        assert (site / src).is_file(), src
    clips = re.findall(r'<audio[^>]*src="([^"]+)"', page)
    assert len(clips) == 2 * SHOWN  # only the displayed players have a source
    rows = _row_clips(page)
    assert len(rows) == 2 and all(set(r) == set(CODECS) for r in rows)
    for row in rows:  # every codec's clips are in the site, for switching offline
        for codec, files in row.items():
            assert all((site / f).is_file() and media_stem(codec) in f for f in files), files
    assert len({f for r in rows for fs in r.values() for f in fs}) == 2 * 2 * len(CODECS)
    for side in "ab":
        assert len(re.findall(rf'<select class="ab-pick" data-side="{side}"', page)) == 1
    assert "LibriSpeech" in page and "commit" in page


def _selected(page: str) -> dict[str, str]:
    """The option each A/B ``<select>`` of ``page`` renders as selected."""
    out = {}
    for side in "ab":
        select = page.split(f'data-side="{side}"')[1].split("</select>")[0]
        out[side] = html.unescape(re.search(r'<option value="([^"]+)" selected>', select)[1])
    return out


def test_the_picker_opens_on_the_pair_the_board_is_about(site: Path) -> None:
    assert DEFAULT_PAIR == ("taae_fsq", "codec2@700")
    page = (site / "index.html").read_text()
    assert _selected(page) == {"a": "taae_fsq", "b": "codec2@700"}
    head = page.split('<table class="ex">')[1].split("</thead>")[0]
    assert "A: taae_fsq" in head and "B: codec2@700" in head


def _clips(names: list[str]) -> dict[str, dict[str, tuple[str, str]]]:
    row = {n: (f"{n}.flac", f"{n}.png") for n in ["reference", *names]}
    return {"u1": row}


@pytest.mark.parametrize(
    "names, pair, opened",
    [
        (["passthrough", "codec2@700", "opus@6kbps", "taae_fsq"], DEFAULT_PAIR, DEFAULT_PAIR),
        (["passthrough", "opus@6kbps", "opus@12kbps"], ("opus@12kbps", "passthrough"),
         ("opus@12kbps", "passthrough")),  # any pair asked for, identity paths too
        (["passthrough", "opus@6kbps", "opus@12kbps"], DEFAULT_PAIR,
         ("opus@6kbps", "opus@12kbps")),  # neither here: the first two lossy codecs
        (["passthrough", "codec2@700", "opus@6kbps"], DEFAULT_PAIR,
         ("codec2@700", "opus@6kbps")),  # one of them here: it, then the first lossy other
        (["passthrough", "opus@6kbps"], None, ("opus@6kbps", "passthrough")),
    ],
)  # fmt: skip
def test_the_opening_pair_and_its_fallbacks(
    names: list[str], pair: tuple[str, str] | None, opened: tuple[str, str]
) -> None:
    assert opening_pair(names, pair) == opened
    assert _selected(examples_html(_clips(names), names, pair)) == dict(zip("ab", opened))


def test_the_pair_flag_is_documented_and_checked(tmp_path: Path) -> None:
    report = build_parser()._subparsers._group_actions[0].choices["report"]  # type: ignore[union-attr]
    assert ",".join(DEFAULT_PAIR) in report.format_help().replace("\n", "").replace(" ", "")
    for bad in ("taae_fsq", "taae_fsq,taae_fsq", "a,b,c"):
        assert main(["report", "--results", str(tmp_path), "--pair", bad]) == 2


def _old_stem(label: str) -> str:
    """The media name before names were made injective (kept to show what used to collide)."""
    return Path(label.replace("@", "_at_").replace("/", "_").replace(" ", "_")).with_suffix("").name


@pytest.mark.parametrize(
    "a, b",
    [
        ("lyra@3.2kbps", "lyra@3kbps"),
        ("lyra@3.2kbps", "lyra@3.6kbps"),  # the old `with_suffix` cut both to `lyra_at_3`
        ("dac_24khz@1.5kbps", "dac_24khz@1.7kbps"),
        ("lyra@3.2kbps", "lyra@3p2kbps"),  # differ only where the slug maps `.` → `p`
        ("a b", "a_b"),  # differ only in characters the slug drops or folds
        ("a/b", "a b"),
        ("x@1", "x_at_1"),
        ("v (seed 0)", "v_seed_0"),
        ("Opus", "opus"),  # case-insensitive file systems
    ],
)
def test_media_names_never_collide(a: str, b: str) -> None:
    assert media_stem(a).lower() != media_stem(b).lower()
    for stem in (media_stem(a), media_stem(b)):  # file-safe, no dot a suffix could eat
        assert re.fullmatch(r"[A-Za-z0-9_-]+-[0-9a-f]{8}", stem), stem
    assert media_stem(a) == media_stem(a)  # deterministic: the page and the files agree
    assert "reference" not in {media_stem(a), media_stem(b)}


def test_the_old_names_did_collide() -> None:
    assert _old_stem("lyra@3.2kbps") == _old_stem("lyra@3.6kbps") == "lyra_at_3"
    assert _old_stem("a b") == _old_stem("a_b")


def test_every_registered_codec_gets_its_own_media_name() -> None:
    from audiocodecs import codec_names

    names = codec_names()
    stems = [media_stem(n) for n in names]
    assert len(names) > 1
    assert len({s.lower() for s in stems}) == len(names), stems
    assert all(re.fullmatch(r"[A-Za-z0-9_-]+-[0-9a-f]{8}", s) for s in stems), stems


def test_a_saved_clip_is_the_scored_audio(site: Path, tmp_path: Path) -> None:
    from audiocodecs import get_codec

    page = (site / "index.html").read_text()
    row = page.split("<tbody>")[2].split("</tr>")[0]
    uid = re.search(r"<td>([^<]+)</td>", row).group(1)
    srcs = re.findall(r'src="(media/[^"]+\.flac)"', row)
    ref, _ = sf.read(str(site / srcs[0]), dtype="float32")
    opus_flac = _row_clips(page)[0]["opus@6kbps"][0]
    opus_clip, _ = sf.read(str(site / opus_flac), dtype="float32")
    scored = get_codec("opus@6kbps").roundtrip(torch.from_numpy(ref)[None, None], 16000).wav
    # the clip was decoded from the original float reference; the reference clip is its 16-bit
    # copy, so compare within one 16-bit step plus the codec's response to that step
    assert uid
    assert np.abs(opus_clip - scored[0, 0].numpy()).max() < 0.02
    assert np.corrcoef(opus_clip, scored[0, 0].numpy())[0, 1] > 0.999


def _chromium() -> tuple[str, str]:
    pytest.importorskip("selenium")
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.skip("Chromium/chromedriver absent (apt-get install chromium chromium-driver)")
    return browser, driver


def test_a_real_browser_renders_sorts_switches_and_loads_every_clip(site: Path) -> None:
    import time

    browser, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    flags = ("--headless=new", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files")
    for flag in flags:
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(driver_path), options=opts)
    try:
        drv.set_window_size(1400, 1900)
        drv.get((site / "index.html").as_uri())
        rows = drv.find_elements(By.CSS_SELECTOR, "table.leaderboard tbody tr")
        assert len(rows) == len(CODECS)
        first = [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows]
        header = drv.find_elements(By.CSS_SELECTOR, "table.leaderboard th")[0]
        header.click()
        header.click()  # descending by name
        after = [r.find_elements(By.TAG_NAME, "td")[0].text for r in
                 drv.find_elements(By.CSS_SELECTOR, "table.leaderboard tbody tr")]  # fmt: skip
        assert after == sorted(first, reverse=True) and after != sorted(first)

        box = drv.find_element(By.CSS_SELECTOR, "div.listen")
        pick = {
            s: Select(box.find_element(By.CSS_SELECTOR, f"select[data-side={s}]")) for s in "ab"
        }

        def shown(side: str) -> tuple[str, list[list[str]]]:
            """The side's header and, per row, [codec, audio src, spectrogram src]."""
            return drv.execute_script(
                "var b=arguments[0], s=arguments[1];"
                "return [b.querySelector('thead th.ab-'+s).textContent,"
                " Array.from(b.querySelectorAll('tbody td.ab-'+s)).map(td => [td.dataset.codec,"
                " td.querySelector('audio').getAttribute('src'),"
                " td.querySelector('img').getAttribute('src')])];",
                box,
                side,
            )

        def assert_shows(side: str, codec: str) -> None:
            head, cells = shown(side)
            assert head == f"{side.upper()}: {codec}" and len(cells) == 2, (head, cells)
            for name, flac, png in cells:
                stem = media_stem(codec)
                assert name == codec and flac.endswith(f"-{stem}.flac"), (name, flac)
                assert png.endswith(f"-{stem}.png"), png

        before = {s: p.first_selected_option.get_attribute("value") for s, p in pick.items()}
        assert before == {"a": "taae_fsq", "b": "codec2@700"}  # the page's own comparison
        for side, codec in before.items():
            assert_shows(side, codec)
        ARTIFACTS.mkdir(exist_ok=True)
        drv.execute_script("arguments[0].scrollIntoView()", box)
        drv.save_screenshot(str(ARTIFACTS / "report.png"))  # as the page opens
        drv.execute_script("window.scrollTo(0, 0)")
        chosen = {"a": next(c for c in CODECS if c not in before.values()), "b": before["a"]}
        for side, codec in chosen.items():
            pick[side].select_by_value(codec)
        for side, codec in chosen.items():
            assert codec != before[side]
            assert_shows(side, codec)
        assert len(drv.find_elements(By.CSS_SELECTOR, "div.listen audio")) == 2 * SHOWN

        deadline = time.time() + 20
        states: list = []
        while time.time() < deadline:
            states = drv.execute_script(
                "return Array.from(document.querySelectorAll('audio')).map(a => "
                "[a.currentSrc, a.readyState, a.duration, a.error && a.error.code]);"
            )
            if all(s[1] >= 1 for s in states):
                break
            time.sleep(0.5)
        assert states and all(s[1] >= 1 and s[2] > 0 and s[3] is None for s in states), states
        severe = [e for e in drv.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe
        drv.save_screenshot(str(ARTIFACTS / "report_switched.png"))
    finally:
        drv.quit()


def test_ablation_pages_render_the_study_with_listening_rows(tmp_path: Path) -> None:
    """The committed ablation study (6 seeds at 348 bps) becomes a page: its tables (sortable),
    plots, and one listening row with every variant's seed-0 model (the shipped checkpoints)."""
    repo = Path(__file__).resolve().parent.parent
    results = tmp_path / "results"
    shutil.copytree(repo / "results" / "default", results / "default")
    shutil.copytree(repo / "results" / "ablation_tinyspec", results / "ablation_tinyspec")
    out = tmp_path / "site"
    assert main(["report", "--results", str(results), "--out", str(out), "--examples", "1",
                 "--dataset", "default", "--codecs", "passthrough"]) == 0  # fmt: skip
    assert 'href="ablation_tinyspec/index.html"' in (out / "index.html").read_text()
    page = (out / "ablation_tinyspec" / "index.html").read_text()
    assert page.count('<table class="sortable">') >= 5 and "Verdicts" in page
    for src in re.findall(r'src="([^"]+)"', page):
        assert (out / "ablation_tinyspec" / src).is_file(), src
    study_variants = 5
    clips = re.findall(r'<audio[^>]*src="([^"]+)"', page)
    assert len(clips) == SHOWN, clips  # the reference plus the A and B picks
    (row,) = _row_clips(page)
    assert len(row) == study_variants, row
    assert all((out / "ablation_tinyspec" / f).is_file() for fs in row.values() for f in fs), row
    assert "No listening rows" not in page
