"""`bench weights`: every pretrained file listed with place and URL; install verifies checksums
and never copies a file that fails one."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiocodecs.weights import identify, install, specs
from bench.cli import main


def test_every_pretrained_family_lists_its_file_place_and_url() -> None:
    labels = {s.label for s in specs()}
    assert {"encodec_24khz", "dac_16khz", "dac_24khz", "dac_44khz"} <= labels
    assert all(s.url.startswith("https://") for s in specs())


def test_a_file_failing_its_published_checksum_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENCODEC_WEIGHTS_DIR", str(tmp_path / "enc"))
    fake = tmp_path / "encodec_24khz-d7cc33bc.th"
    fake.write_bytes(b"not the checkpoint")
    with pytest.raises(ValueError, match="does not start with the published d7cc33bc"):
        install(fake, "encodec_24khz")
    assert not (tmp_path / "enc").exists()
    assert main(["weights", "install", str(fake), "--as", "encodec_24khz"]) == 2


def test_an_unverifiable_file_is_installed_by_name_with_its_hash_stated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DAC_WEIGHTS_DIR", str(tmp_path / "dac"))
    src = tmp_path / "weights_16khz.pth"  # the release's own file name
    src.write_bytes(b"\x00" * 64)
    assert identify(src).label == "dac_16khz"
    spec, status = install(src)
    assert spec.path.read_bytes() == src.read_bytes() and "no published checksum" in status
    assert spec.check()[0]


def test_lyra_models_verify_by_checksum_alone(tmp_path: Path) -> None:
    lyra = [s for s in specs() if s.label.startswith("lyra/")]
    if not all(s.path.is_file() for s in lyra):
        pytest.skip("shared Lyra models absent")
    for s in lyra:
        renamed = tmp_path / "downloaded.bin"
        renamed.write_bytes(s.path.read_bytes())
        assert identify(renamed).label == s.label
