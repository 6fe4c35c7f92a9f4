"""`bench report`: the site's table, plots and listening clips come from the result files and the
scored roundtrip; a real (headless Chromium) browser renders, sorts and loads every clip."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from bench.cli import main

ARTIFACTS = Path(__file__).resolve().parent.parent / ".pytest_artifacts"
CODECS = ("passthrough", "opus@6kbps")


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


def test_the_site_has_the_table_plot_and_every_clip(site: Path) -> None:
    page = (site / "index.html").read_text()
    assert page.count("<tbody>") == 2  # leaderboard + listening rows
    table = page.split("<tbody>")[1].split("</tbody>")[0]
    assert table.count("<tr>") == len(CODECS)
    assert "http://" not in page and "https://" not in page  # no CDN, nothing fetched
    for src in re.findall(r'src="([^"]+)"', page):
        assert (site / src).is_file(), src
    clips = re.findall(r'<audio[^>]*src="([^"]+)"', page)
    assert len(clips) == 2 * (1 + len(CODECS))
    assert "LibriSpeech" in page and "commit" in page


def test_a_saved_clip_is_the_scored_audio(site: Path, tmp_path: Path) -> None:
    from audiocodecs import get_codec

    page = (site / "index.html").read_text()
    row = page.split("<tbody>")[2].split("</tr>")[0]
    uid = re.search(r"<td>([^<]+)</td>", row).group(1)
    srcs = re.findall(r'src="(media/[^"]+\.flac)"', row)
    ref, _ = sf.read(str(site / srcs[0]), dtype="float32")
    opus_clip, _ = sf.read(str(site / [s for s in srcs if "opus" in s][0]), dtype="float32")
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


def test_a_real_browser_renders_sorts_and_loads_every_clip(site: Path) -> None:
    import time

    browser, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

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
        ARTIFACTS.mkdir(exist_ok=True)
        drv.save_screenshot(str(ARTIFACTS / "report.png"))
    finally:
        drv.quit()


def test_ablation_pages_render_the_study_with_listening_rows(tmp_path: Path) -> None:
    """The committed first ablation study becomes a page: its tables (sortable), plots, and one
    listening row with every variant's seed-0 model (the shipped checkpoints)."""
    repo = Path(__file__).resolve().parent.parent
    results = tmp_path / "results"
    shutil.copytree(repo / "results" / "default", results / "default")
    shutil.copytree(repo / "results" / "ablation", results / "ablation")
    out = tmp_path / "site"
    assert main(["report", "--results", str(results), "--out", str(out), "--examples", "1",
                 "--dataset", "default", "--codecs", "passthrough"]) == 0  # fmt: skip
    assert 'href="ablation/index.html"' in (out / "index.html").read_text()
    page = (out / "ablation" / "index.html").read_text()
    assert page.count('<table class="sortable">') >= 5 and "Verdicts" in page
    for src in re.findall(r'src="([^"]+)"', page):
        assert (out / "ablation" / src).is_file(), src
    study_variants = 5
    clips = re.findall(r'<audio[^>]*src="([^"]+)"', page)
    assert len(clips) == 1 + study_variants, clips
    assert "No listening rows" not in page
