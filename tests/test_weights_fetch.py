"""`bench weights fetch`: download, resume, verify and place a weight file — end to end through the
CLI, against an HTTP server this test starts on 127.0.0.1 (no other address is ever contacted)."""

from __future__ import annotations

import hashlib
import http.server
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from audiocodecs import weights
from audiocodecs.weights import WeightSpec
from bench.cli import main
from bench.data.download import RESUME_ATTEMPTS

#: The server stops by itself after this long even if a test hangs.
SERVER_LIFETIME_S = 120.0
PAYLOAD = bytes(range(256)) * 800  # 204,800 bytes: several reads, small enough to be instant


@dataclass
class Site:
    """What the loopback server serves and how it misbehaves."""

    base: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    #: per file, for successive requests: cut the body after this many bytes, then hang up
    cuts: dict[str, list[int]] = field(default_factory=dict)
    #: files served whole (200) whatever the Range header asks, like a server without Range
    ignore_range: set[str] = field(default_factory=set)
    #: (file, Range header or None) of every request, in order
    requests: list[tuple[str, str | None]] = field(default_factory=list)


class _Handler(http.server.BaseHTTPRequestHandler):
    timeout = 10  # a stuck client cannot hold a server thread for longer

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        site: Site = self.server.site  # type: ignore[attr-defined]
        name = self.path.lstrip("/")
        wanted = self.headers.get("Range")
        site.requests.append((name, wanted))
        data = site.files.get(name)
        if data is None:
            self.send_error(404)
            return
        start = 0
        m = re.fullmatch(r"bytes=(\d+)-", wanted or "")
        if m and name not in site.ignore_range:
            start = int(m.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))  # the whole rest, even when cut
        self.end_headers()
        cuts = site.cuts.get(name)
        if cuts:  # a dropped connection: part of the promised body, then the socket closes
            self.wfile.write(body[: cuts.pop(0)])
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A threaded HTTP/1.0 server on 127.0.0.1 (a free port) serving ``site.files``; every
    outgoing connection of the test is checked to go to 127.0.0.1."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):  # fmt: skip
        monkeypatch.delenv(var, raising=False)
    real = socket.create_connection

    def loopback_only(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        assert address[0] == "127.0.0.1", f"the test tried to reach {address}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", loopback_only)
    state = Site()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.site = state  # type: ignore[attr-defined]
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    watchdog = threading.Timer(SERVER_LIFETIME_S, server.shutdown)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield state
    finally:
        watchdog.cancel()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _spec(monkeypatch: pytest.MonkeyPatch, dest: Path, url: str, sha256: str | None) -> WeightSpec:
    """Make ``bench weights`` know one file, ``w.bin``, fetched from ``url`` into ``dest``."""
    spec = WeightSpec("testw", "test_codec@*", dest / "w.bin", url, sha256=sha256)
    monkeypatch.setattr(weights, "specs", lambda: [spec])
    return spec


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _fetch(*extra: str) -> int:
    return main(["weights", "fetch", "testw", "--no-progress", *extra])


def test_a_good_file_is_verified_and_placed(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    site.files["w.bin"] = PAYLOAD
    spec = _spec(monkeypatch, tmp_path / "dest", f"{site.base}/w.bin", _sha(PAYLOAD))
    assert _fetch() == 0
    assert spec.path.read_bytes() == PAYLOAD
    assert sorted(p.name for p in spec.path.parent.iterdir()) == ["w.bin"]  # no .part left
    assert "matches the published checksum" in capsys.readouterr().out
    # a second fetch finds it in place and does not download again
    assert _fetch() == 0
    assert len(site.requests) == 1 and "already in place" in capsys.readouterr().out


def test_the_progress_bar_shows_the_bytes(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    site.files["w.bin"] = PAYLOAD
    _spec(monkeypatch, tmp_path / "dest", f"{site.base}/w.bin", _sha(PAYLOAD))
    assert main(["weights", "fetch", "testw"]) == 0
    err = capsys.readouterr().err
    assert "w.bin" in err and "200k" in err, err  # tqdm's byte counter: 200 KiB of 200 KiB


def test_a_wrong_checksum_is_refused_and_nothing_is_left(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    site.files["w.bin"] = PAYLOAD
    dest = tmp_path / "dest"
    _spec(monkeypatch, dest, f"{site.base}/w.bin", _sha(b"the published file"))
    assert _fetch() == 1
    err = capsys.readouterr().err
    assert "checksum mismatch" in err and f"{site.base}/w.bin" in err
    assert err.count("\n") == 1  # one line
    assert not dest.exists() or not list(dest.iterdir())  # neither w.bin nor w.bin.part


def test_a_wrong_checksum_never_replaces_a_present_file(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.files["w.bin"] = PAYLOAD
    spec = _spec(monkeypatch, tmp_path / "dest", f"{site.base}/w.bin", _sha(b"published"))
    spec.path.parent.mkdir()
    spec.path.write_bytes(b"an older copy")  # fails its checksum too, so fetch tries again
    assert _fetch() == 1
    assert spec.path.read_bytes() == b"an older copy"
    assert sorted(p.name for p in spec.path.parent.iterdir()) == ["w.bin"]


def test_a_dropped_connection_is_resumed_with_a_range_request(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.files["w.bin"] = PAYLOAD
    site.cuts["w.bin"] = [70_000]  # the first response hangs up after 70,000 bytes
    spec = _spec(monkeypatch, tmp_path / "dest", f"{site.base}/w.bin", _sha(PAYLOAD))
    assert _fetch() == 0
    assert site.requests == [("w.bin", None), ("w.bin", "bytes=70000-")]
    assert spec.path.read_bytes() == PAYLOAD


def test_an_interrupted_fetch_keeps_its_bytes_and_the_next_one_resumes(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    site.files["w.bin"] = PAYLOAD
    # more drops in a row than one call resumes: it gives up, keeping what arrived
    site.cuts["w.bin"] = [1_000] * (RESUME_ATTEMPTS + 1) + [5_000]
    spec = _spec(monkeypatch, tmp_path / "dest", f"{site.base}/w.bin", _sha(PAYLOAD))
    assert _fetch() == 1
    err = capsys.readouterr().err
    assert "rerun to resume" in err and f"{site.base}/w.bin" in err and err.count("\n") == 1
    part = spec.path.with_name("w.bin.part")
    assert not spec.path.exists() and part.stat().st_size == 1_000 * (RESUME_ATTEMPTS + 1)
    assert part.read_bytes() == PAYLOAD[: part.stat().st_size]
    # the next call starts where the last one stopped (one more drop, then the rest)
    site.requests.clear()
    assert _fetch() == 0
    kept = 1_000 * (RESUME_ATTEMPTS + 1)
    assert site.requests == [("w.bin", f"bytes={kept}-"), ("w.bin", f"bytes={kept + 5_000}-")]
    assert spec.path.read_bytes() == PAYLOAD and not part.exists()


def test_a_stale_part_fails_the_checksum_and_the_next_fetch_starts_clean(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.files["w.bin"] = PAYLOAD
    spec = _spec(monkeypatch, tmp_path / "dest", f"{site.base}/w.bin", _sha(PAYLOAD))
    spec.path.parent.mkdir()
    part = spec.path.with_name("w.bin.part")
    part.write_bytes(b"\xff" * 4_096)  # from another version of the file
    assert _fetch() == 1  # resumed onto the wrong prefix: refused, part removed
    assert not part.exists() and not spec.path.exists()
    assert _fetch() == 0
    assert site.requests[-1] == ("w.bin", None) and spec.path.read_bytes() == PAYLOAD


def test_a_server_without_range_support_restarts_from_zero(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.files["w.bin"] = PAYLOAD
    site.ignore_range.add("w.bin")
    site.cuts["w.bin"] = [50_000]
    spec = _spec(monkeypatch, tmp_path / "dest", f"{site.base}/w.bin", _sha(PAYLOAD))
    assert _fetch() == 0  # asked for bytes=50000-, got the whole file (200): rewritten, not spliced
    assert site.requests == [("w.bin", None), ("w.bin", "bytes=50000-")]
    assert spec.path.read_bytes() == PAYLOAD


def test_a_part_longer_than_the_file_restarts_cleanly(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.files["w.bin"] = PAYLOAD
    spec = _spec(monkeypatch, tmp_path / "dest", f"{site.base}/w.bin", _sha(PAYLOAD))
    spec.path.parent.mkdir()
    spec.path.with_name("w.bin.part").write_bytes(b"\0" * (len(PAYLOAD) + 10))
    assert _fetch() == 0  # 416 for the range past the end: the part is dropped, fetched anew
    assert site.requests == [("w.bin", f"bytes={len(PAYLOAD) + 10}-"), ("w.bin", None)]
    assert spec.path.read_bytes() == PAYLOAD


def test_a_404_fails_in_one_line_with_the_url(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    dest = tmp_path / "dest"
    _spec(monkeypatch, dest, f"{site.base}/missing.bin", _sha(PAYLOAD))
    assert _fetch() == 1
    err = capsys.readouterr().err
    assert "HTTP 404" in err and f"{site.base}/missing.bin" in err and err.count("\n") == 1
    assert "weights install FILE" in err  # the way round: fetch it elsewhere
    assert not dest.exists() or not list(dest.iterdir())


def test_offline_fails_in_one_line_with_the_url(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    # port 9 (discard) on loopback: nothing listens there, the connection is refused at once
    url = "http://127.0.0.1:9/w.bin"
    dest = tmp_path / "dest"
    _spec(monkeypatch, dest, url, _sha(PAYLOAD))
    assert _fetch() == 1
    err = capsys.readouterr().err
    assert err.startswith("error: testw: network failure downloading " + url)
    assert err.count("\n") == 1 and "weights install FILE" in err
    assert not dest.exists() or not list(dest.iterdir())


def test_a_file_without_published_checksum_is_placed_with_its_sha256_stated(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    site.files["w.bin"] = PAYLOAD
    site.cuts["w.bin"] = [10_000]
    spec = _spec(monkeypatch, tmp_path / "dest", f"{site.base}/w.bin", None)
    assert _fetch() == 0  # the byte count still catches the drop: resumed, not truncated
    assert spec.path.read_bytes() == PAYLOAD
    out = capsys.readouterr().out
    assert "no published checksum" in out and _sha(PAYLOAD)[:12] in out


def test_the_real_lyra_files_are_verified_against_their_published_checksums(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real specs, their real SHA-256 values; only the host is the local mirror."""
    lyra = [s for s in weights.specs() if s.label.startswith("lyra/")]
    if not all(s.path.is_file() for s in lyra):
        pytest.skip("shared Lyra models absent")
    for s in lyra:
        site.files[s.path.name] = s.path.read_bytes()
    monkeypatch.setenv("LYRA_MODELS_DIR", str(tmp_path / "lyra"))
    assert main(["weights", "fetch", "lyra", "--mirror", site.base, "--no-progress"]) == 0
    for s in lyra:
        assert (tmp_path / "lyra" / s.path.name).read_bytes() == s.path.read_bytes()
    assert sorted(r[0] for r in site.requests) == sorted(s.path.name for s in lyra)


def test_fetch_takes_codec_and_family_names(monkeypatch: pytest.MonkeyPatch) -> None:
    assert [s.label for s in weights.select("dac")] == ["dac_16khz"]  # the family's default
    assert [s.label for s in weights.select("dac_24khz@3kbps")] == ["dac_24khz"]
    assert [s.label for s in weights.select("encodec")] == ["encodec_24khz"]
    assert len(weights.select("lyra")) == 3
    with pytest.raises(KeyError, match="loads no published weight file"):
        weights.select("opus")
    assert main(["weights", "fetch", "no_such_thing"]) == 2
