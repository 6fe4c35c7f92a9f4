"""Tests of the data files and tools: download/verify/extract of LibriSpeech test-clean (offline,
against archives built here), the pinned test-clean manifest, and the embedded default set."""

from __future__ import annotations

import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from bench.data import build_default
from bench.data.download import (
    OFFICIAL_MD5,
    OFFICIAL_URL,
    DownloadError,
    download_librispeech_test_clean,
)

DATA_DIR = Path(build_default.__file__).resolve().parent
PS_SOURCE = build_default.DEFAULT_SOURCE


# ------------------------------------------------------------------------------------- fixtures
def _add_file(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def _make_archive(path: Path, extra: Sequence[tarfile.TarInfo | tuple[str, bytes]] = ()) -> str:
    """Write a miniature test-clean archive to ``path``; return its MD5."""
    with tarfile.open(path, "w:gz") as tar:
        for d in ("LibriSpeech", "LibriSpeech/test-clean", "LibriSpeech/test-clean/1089"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        _add_file(tar, "LibriSpeech/README.TXT", b"LibriSpeech fixture\n")
        _add_file(
            tar,
            "LibriSpeech/test-clean/1089/134686/1089-134686.trans.txt",
            b"1089-134686-0000 HE HOPED THERE WOULD BE STEW FOR DINNER\n",
        )
        _add_file(tar, "LibriSpeech/test-clean/1089/134686/1089-134686-0000.flac", b"fLaC" * 64)
        for item in extra:
            if isinstance(item, tarfile.TarInfo):
                tar.addfile(item)
            else:
                _add_file(tar, *item)
    return hashlib.md5(path.read_bytes()).hexdigest()


@pytest.fixture
def good_archive(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "src" / "test-clean.tar.gz"
    path.parent.mkdir()
    return path, _make_archive(path)


# ------------------------------------------------------------------------------------- download
def test_official_constants() -> None:
    assert OFFICIAL_URL == "https://www.openslr.org/resources/12/test-clean.tar.gz"
    assert OFFICIAL_MD5 == "32fa31d27d2e1cad72775fee3f4849a9"


def test_good_archive_from_local_path(tmp_path: Path, good_archive: tuple[Path, str]) -> None:
    archive, md5 = good_archive
    dest = tmp_path / "dest"
    out = download_librispeech_test_clean(dest, url=str(archive), md5=md5, progress=False)
    assert out == dest / "LibriSpeech" / "test-clean"
    flac = out / "1089" / "134686" / "1089-134686-0000.flac"
    assert flac.read_bytes() == b"fLaC" * 64
    assert (dest / "LibriSpeech" / "README.TXT").is_file()
    # idempotent: a second call over the same folder works
    assert download_librispeech_test_clean(dest, str(archive), md5, progress=False) == out


def test_good_archive_from_file_url(tmp_path: Path, good_archive: tuple[Path, str]) -> None:
    archive, md5 = good_archive
    out = download_librispeech_test_clean(
        tmp_path / "d", url=archive.as_uri(), md5=md5.upper(), progress=False
    )
    assert (out / "1089" / "134686" / "1089-134686.trans.txt").is_file()


def test_bad_md5_raises_and_extracts_nothing(
    tmp_path: Path, good_archive: tuple[Path, str]
) -> None:
    archive, _ = good_archive
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError, match="checksum mismatch") as err:
        download_librispeech_test_clean(dest, url=str(archive), md5="0" * 32, progress=False)
    assert "\n" not in str(err.value)
    assert not (dest / "LibriSpeech").exists()
    assert archive.is_file()  # a user's own archive is never deleted


@pytest.mark.parametrize(
    "name",
    [
        "../evil.txt",
        "LibriSpeech/test-clean/../../../evil.txt",
        "/tmp/evil-absolute.txt",
    ],
)
def test_malicious_member_is_rejected(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "bad.tar.gz"
    md5 = _make_archive(archive, [(name, b"pwned")])
    dest = tmp_path / "a" / "dest"
    with pytest.raises(DownloadError, match="unsafe archive member"):
        download_librispeech_test_clean(dest, url=str(archive), md5=md5, progress=False)
    assert not (tmp_path / "a" / "evil.txt").exists()
    assert not (tmp_path / "evil.txt").exists()
    # checked before anything is written: not even the safe members were extracted
    assert not (dest / "LibriSpeech").exists()


def test_link_member_is_rejected(tmp_path: Path) -> None:
    link = tarfile.TarInfo("LibriSpeech/test-clean/escape")
    link.type = tarfile.SYMTYPE
    link.linkname = "../../../../etc"
    archive = tmp_path / "link.tar.gz"
    md5 = _make_archive(archive, [link])
    with pytest.raises(DownloadError, match="link"):
        download_librispeech_test_clean(tmp_path / "dest", str(archive), md5, progress=False)


def test_archive_without_test_clean(tmp_path: Path) -> None:
    archive = tmp_path / "other.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        _add_file(tar, "LibriSpeech/dev-clean/x.flac", b"x")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    with pytest.raises(DownloadError, match="no LibriSpeech/test-clean"):
        download_librispeech_test_clean(tmp_path / "dest", str(archive), md5, progress=False)


def test_broken_archive(tmp_path: Path) -> None:
    archive = tmp_path / "broken.tar.gz"
    archive.write_bytes(b"this is not a tar file")
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    with pytest.raises(DownloadError, match="broken archive"):
        download_librispeech_test_clean(tmp_path / "dest", str(archive), md5, progress=False)


def test_missing_local_file(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="archive not found"):
        download_librispeech_test_clean(tmp_path / "d", str(tmp_path / "nope.tar.gz"))


def test_network_failure_is_one_line(tmp_path: Path) -> None:
    # port 9 (discard) on loopback: nothing listens there, the connection is refused at once
    with pytest.raises(DownloadError, match="network failure") as err:
        download_librispeech_test_clean(
            tmp_path / "d", url="http://127.0.0.1:9/test-clean.tar.gz", progress=False
        )
    assert "\n" not in str(err.value)
    assert not list((tmp_path / "d").glob("*.part"))


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server serving ``tmp_path / "www"``; yields (base URL, folder)."""
    root = tmp_path / "www"
    root.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(root), **kwargs)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", root
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_http_download_verify_extract(tmp_path: Path, http_server: tuple[str, Path]) -> None:
    base, root = http_server
    md5 = _make_archive(root / "test-clean.tar.gz")
    dest = tmp_path / "dest"
    out = download_librispeech_test_clean(
        dest, url=f"{base}/test-clean.tar.gz", md5=md5, progress=True
    )
    assert (out / "1089" / "134686" / "1089-134686-0000.flac").is_file()
    assert (dest / "test-clean.tar.gz").is_file()
    assert not (dest / "test-clean.tar.gz.part").exists()


def test_http_bad_md5_removes_download(tmp_path: Path, http_server: tuple[str, Path]) -> None:
    base, root = http_server
    _make_archive(root / "test-clean.tar.gz")
    dest = tmp_path / "dest"
    with pytest.raises(DownloadError, match="checksum mismatch"):
        download_librispeech_test_clean(
            dest, url=f"{base}/test-clean.tar.gz", md5="f" * 32, progress=False
        )
    assert not list(dest.glob("test-clean.tar.gz*"))
    assert not (dest / "LibriSpeech").exists()


def test_http_404(tmp_path: Path, http_server: tuple[str, Path]) -> None:
    base, _ = http_server
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_librispeech_test_clean(tmp_path / "d", url=f"{base}/missing.tar.gz")


# --------------------------------------------------------------------- pinned test-clean manifest
def test_librispeech_manifest_is_complete_and_sorted() -> None:
    rows = build_default.read_manifest(DATA_DIR / "manifests" / "librispeech-test-clean.tsv")
    ids = [r["id"] for r in rows]
    assert len(rows) == 2620
    assert len(set(ids)) == 2620
    assert ids == sorted(ids)
    assert len({r["speaker"] for r in rows}) == 40
    assert len({(r["speaker"], r["chapter"]) for r in rows}) == 87
    for r in rows:
        spk, chap, utt = r["id"].split("-")
        assert (spk, chap) == (r["speaker"], r["chapter"]) and len(utt) == 4
    assert sum(int(r["num_samples"]) for r in rows) == 311_239_690
    assert not {"1089", "1221", "1995"} - {r["speaker"] for r in rows}
    hashed = {r["id"] for r in rows if r["sha256_pcm"]}
    assert hashed == {"1089-134686-0002", "1221-135766-0001", "1221-135766-0002", "1995-1837-0001"}


# -------------------------------------------------------------------------- embedded default set
def test_default_set_matches_its_manifest() -> None:
    assert build_default.check(DATA_DIR / "default") == []
    rows = build_default.read_manifest(DATA_DIR / "default" / "manifest.tsv")
    seconds = sum(int(r["num_samples"]) for r in rows) / 16000
    assert len(rows) == len(build_default.UTTERANCES) and 30 < seconds < 100
    assert all(2.0 <= int(r["num_samples"]) / 16000 <= 15.0 for r in rows)
    assert (DATA_DIR / "default" / "ATTRIBUTION.md").is_file()
    total = sum(p.stat().st_size for p in (DATA_DIR / "default").iterdir())
    assert total < 3 * 1024 * 1024


@pytest.mark.skipif(
    not PS_SOURCE.is_dir(), reason=f"{PS_SOURCE} absent (apt-get install pocketsphinx-testdata)"
)
def test_default_set_rebuilds_from_package(tmp_path: Path) -> None:
    rows = build_default.build(PS_SOURCE, tmp_path)
    shipped = build_default.read_manifest(DATA_DIR / "default" / "manifest.tsv")
    assert rows == shipped
    assert build_default.check(DATA_DIR / "default", PS_SOURCE) == []
