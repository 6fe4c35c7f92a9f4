"""The project's one downloader, and its two users: LibriSpeech test-clean and weight files.

:func:`download_file` streams a URL into a ``.part`` file with a progress bar, resumes a dropped
or interrupted transfer with an HTTP ``Range`` request (restarting from byte 0 where the server
will not resume), checks the published checksum and only then renames the file into place.

``python -m bench data download --dest DIR`` calls :func:`download_librispeech_test_clean`. The
archive is checked against the MD5 that OpenSLR publishes for it (see
``bench/data/manifests/README.md`` for where the pinned value comes from) before anything is
extracted, and extraction refuses any member that would land outside ``dest``.
``python -m bench weights fetch NAME`` calls :func:`fetch_weights` (the places, URLs and
published checksums are :mod:`audiocodecs.weights`'s).

``url`` may also be a ``file://`` URL or a plain local path, so an archive fetched by other means
(or a test fixture) goes through the same checks without a network.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import shutil
import tarfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from bench.data import DatasetError

if TYPE_CHECKING:
    from audiocodecs.weights import WeightSpec

OFFICIAL_URL = "https://www.openslr.org/resources/12/test-clean.tar.gz"
#: MD5 of the official ``test-clean.tar.gz`` (OpenSLR resource 12).
OFFICIAL_MD5 = "32fa31d27d2e1cad72775fee3f4849a9"
#: Size in bytes of the official archive (used for the progress bar when the server sends none).
OFFICIAL_SIZE = 346_663_984
ARCHIVE_NAME = "test-clean.tar.gz"
#: Where the utterances are inside the archive.
SUBDIR = Path("LibriSpeech") / "test-clean"
CHUNK = 1 << 20
TIMEOUT_S = 60.0
#: Dropped connections resumed in a row within one call (each after bytes arrived) before giving
#: up; the ``.part`` file is kept, so running the command again resumes further.
RESUME_ATTEMPTS = 5


class DownloadError(DatasetError):
    """Downloading, verifying or extracting the archive failed; the message is one line.

    A :class:`bench.data.DatasetError` (so the CLI reports it as ``error: …``, exit 2)."""


class NetworkError(DownloadError):
    """The server could not be reached or answered with an error: fetching the same URL by
    other means (another machine) is the way round it."""


def download_librispeech_test_clean(
    dest: Path,
    url: str = OFFICIAL_URL,
    md5: str | None = OFFICIAL_MD5,
    progress: bool = True,
) -> Path:
    """Fetch LibriSpeech test-clean into ``dest`` and return ``dest/LibriSpeech/test-clean``.

    Args:
        dest: folder to extract into (created if needed). A downloaded archive is kept there as
            ``test-clean.tar.gz`` and reused on the next call if its checksum still matches.
        url: ``http(s)://`` or ``file://`` URL, or a local path to the archive.
        md5: expected MD5 (hex) of the archive; ``None`` skips the check (not recommended).
        progress: show a progress bar (``tqdm``, when installed) while downloading.

    Returns:
        The extracted ``LibriSpeech/test-clean`` folder.

    Raises:
        DownloadError: network failure, missing file, checksum mismatch, unsafe or broken archive.
    """
    dest = Path(dest)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create {dest}: {exc.strerror or exc}") from None
    local = _local_path(url)
    if local is not None:
        if not local.is_file():
            raise DownloadError(f"archive not found: {local}")
        archive = local
        if md5 is not None:
            _check_md5(archive, _md5_of_file(archive), md5)
    else:
        archive = dest / ARCHIVE_NAME
        if not (archive.is_file() and md5 is not None and _md5_of_file(archive) == md5.lower()):
            size = OFFICIAL_SIZE if url == OFFICIAL_URL else None
            download_file(url, archive, Expected("md5", md5) if md5 else None, progress, size)
    _safe_extract(archive, dest)
    out = dest / SUBDIR
    if not out.is_dir():
        raise DownloadError(f"{archive.name} has no {SUBDIR.as_posix()}/ folder; not test-clean?")
    return out


def _local_path(url: str) -> Path | None:
    """The local file ``url`` names (plain path or ``file://``), or ``None`` for a remote URL."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return Path(urllib.request.url2pathname(parsed.path))
    if parsed.scheme in ("http", "https", "ftp"):
        return None
    if parsed.scheme and len(parsed.scheme) > 1:  # e.g. "s3://" — one letter is a Windows drive
        raise DownloadError(f"unsupported URL scheme {parsed.scheme!r} in {url}")
    return Path(url)


def _md5_of_file(path: Path) -> str:
    """MD5 (hex) of a file, read in chunks."""
    return file_digest(path, "md5")


def _check_md5(path: Path, got: str, expected: str) -> None:
    """Raise :class:`DownloadError` unless ``got`` equals ``expected`` (case-insensitive)."""
    if got != expected.lower():
        raise DownloadError(
            f"checksum mismatch for {path.name}: expected md5 {expected.lower()}, got {got}"
        )


def _progress_bar(total: int | None, enabled: bool, desc: str, initial: int = 0) -> Any:
    """A ``tqdm`` byte counter (on stderr), or ``None`` when disabled or ``tqdm`` is absent."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(
        total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024, desc=desc
    )


@dataclass(frozen=True)
class Expected:
    """A published checksum a download must match before it is placed.

    Attributes:
        algorithm: a :mod:`hashlib` name (``"md5"``, ``"sha256"``).
        hexdigest: the published digest, or its leading digits when ``prefix``.
        prefix: only leading digits are published (EnCodec names its files by 8 of them).
    """

    algorithm: str
    hexdigest: str
    prefix: bool = False

    def matches(self, got: str) -> bool:
        want = self.hexdigest.lower()
        return got.startswith(want) if self.prefix else got == want

    def describe(self) -> str:
        return f"{self.algorithm} {self.hexdigest.lower()}{'…' if self.prefix else ''}"


class _Dropped(Exception):
    """The transfer stopped before the whole file arrived; ``progressed``: bytes arrived first
    (so the server is reachable and resuming is worth a try)."""

    def __init__(self, reason: str, progressed: bool) -> None:
        super().__init__(reason)
        self.progressed = progressed


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file, read in chunks."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def download_file(
    url: str,
    target: Path,
    expected: Expected | None = None,
    progress: bool = True,
    size_hint: int | None = None,
    timeout: float = TIMEOUT_S,
) -> str:
    """Download ``url`` to ``target``, all or nothing; returns the file's hex digest.

    The bytes go to ``target`` + ``.part`` beside it; only a complete file that matches
    ``expected`` is renamed onto ``target`` (``os.replace``: readers see the old file or the
    new one, never half of one). A dropped connection is resumed with an HTTP ``Range`` request,
    up to :data:`RESUME_ATTEMPTS` times in a row; a part left by an interrupted earlier call is
    resumed the same way; a server that ignores ``Range`` (200) or refuses it (416) makes the
    download restart from byte 0. A wrong checksum or a 4xx answer removes the ``.part``; a
    transfer cut off after bytes arrived keeps it, to resume (an empty one is removed). A part
    that already holds the whole, matching file is placed without a request.

    Args:
        url: ``http(s)://`` URL.
        target: final path (its folder is created).
        expected: the published checksum; ``None`` accepts any complete file (the digest
            returned is then SHA-256, for the record).
        progress: a ``tqdm`` progress bar on stderr.
        size_hint: total size in bytes for the progress bar when the server sends none.
        timeout: seconds without data before a connection counts as dropped.

    Raises:
        DownloadError: one line naming the URL — unreachable, HTTP error, dropped too often,
            checksum mismatch, or the target's folder cannot be written.
    """
    target = Path(target)
    part = target.with_name(target.name + ".part")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DownloadError(f"cannot create {target.parent}: {exc.strerror or exc}") from None
    drops = 0
    done = (
        part.is_file()
        and expected is not None
        and expected.matches(file_digest(part, expected.algorithm))
    )  # an earlier call got every byte but stopped before the rename
    while not done:
        try:
            _transfer(url, part, progress, size_hint, timeout, target.name)
            done = True
        except _Dropped as exc:
            drops += 1
            if exc.progressed and drops <= RESUME_ATTEMPTS:
                continue  # the server answered a moment ago: resume from the part at once
            kept = part.stat().st_size if part.is_file() else 0
            if not kept:
                part.unlink(missing_ok=True)
            tail = f" ({kept:,} bytes kept in {part}; rerun to resume)" if kept else ""
            raise NetworkError(f"network failure downloading {url}: {exc}{tail}") from None
    algorithm = expected.algorithm if expected else "sha256"
    got = file_digest(part, algorithm)
    if expected is not None and not expected.matches(got):
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"checksum mismatch for {url}: expected {expected.describe()}, got {got} "
            "(corrupt or different file; download removed, nothing placed)"
        )
    os.replace(part, target)
    return got


def _transfer(
    url: str, part: Path, progress: bool, size_hint: int | None, timeout: float, desc: str
) -> None:
    """One HTTP request: append to ``part`` from its current size (``Range``), or rewrite it
    from byte 0 when the server sends the whole file. Raises :class:`_Dropped` when the
    transfer stops early, :class:`DownloadError` for answers that retrying cannot fix."""
    offset = part.stat().st_size if part.is_file() else 0
    headers = {"User-Agent": "taae-codec-bench"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the part is no prefix of this file: start over
            part.unlink(missing_ok=True)
            raise _Dropped("the server refused to resume (HTTP 416)", progressed=True) from None
        if 400 <= exc.code < 500:  # gone or forbidden: a partial copy of it is worth nothing
            part.unlink(missing_ok=True)
        raise NetworkError(
            f"network failure downloading {url}: HTTP {exc.code} {exc.reason}"
        ) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        raise _Dropped(str(getattr(exc, "reason", None) or exc), progressed=False) from None
    with resp:
        length = resp.headers.get("Content-Length")
        length_n = int(length) if length and length.isdigit() else None
        if offset and resp.status == 206:
            start, total = _content_range(resp.headers.get("Content-Range", ""))
            if start != offset:  # not the bytes asked for: start over rather than splice
                part.unlink(missing_ok=True)
                raise _Dropped("the server resumed at the wrong offset", progressed=True)
            if total is None and length_n is not None:
                total = offset + length_n
            mode = "ab"
        else:  # a whole file (also the answer of a server that ignores Range)
            offset, total, mode = 0, length_n or size_hint, "wb"
        bar = _progress_bar(total, progress, desc, initial=offset)
        received = 0
        try:
            with open(part, mode) as out:
                while True:
                    try:
                        block = resp.read(CHUNK)
                    except (OSError, http.client.HTTPException) as exc:
                        raise _Dropped(
                            f"connection lost after {offset + received:,} bytes "
                            f"({type(exc).__name__})",
                            progressed=received > 0,
                        ) from None
                    if not block:
                        break
                    out.write(block)
                    received += len(block)
                    if bar is not None:
                        bar.update(len(block))
                out.flush()
                os.fsync(out.fileno())  # what is kept for resuming is on disk
        finally:
            if bar is not None:
                bar.close()
    if total is not None and offset + received < total:
        raise _Dropped(
            f"connection closed after {offset + received:,} of {total:,} bytes",
            progressed=received > 0,
        )


def _content_range(value: str) -> tuple[int | None, int | None]:
    """(first byte, total size) of a ``Content-Range: bytes FIRST-LAST/TOTAL`` header."""
    m = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", value)
    if not m:
        return None, None
    return int(m.group(1)), (int(m.group(2)) if m.group(2) != "*" else None)


def mirror_url(base: str, url: str) -> str:
    """``url``'s file name under the base URL ``base`` (``--mirror``)."""
    return f"{base.rstrip('/')}/{PurePosixPath(urllib.parse.urlparse(url).path).name}"


def fetch_weights(spec: WeightSpec, url: str | None = None, progress: bool = True) -> str:
    """Put ``spec``'s pretrained file where its adapter looks, downloaded from its recorded URL
    (or ``url``, e.g. a mirror) and checked against its published checksum; a present file that
    checks out is kept. Returns the status line; :class:`DownloadError` when it fails."""
    ok, status = spec.check()
    if ok:
        return f"already in place: {status}"
    if spec.sha256:
        expected: Expected | None = Expected("sha256", spec.sha256)
    elif spec.sha256_prefix:
        expected = Expected("sha256", spec.sha256_prefix, prefix=True)
    else:
        expected = None  # the publisher states none: the SHA-256 is reported and recorded
    download_file(url or spec.url, spec.path, expected, progress)
    return spec.check()[1]


def _check_member(member: tarfile.TarInfo, root: Path) -> None:
    """Raise :class:`DownloadError` for a member that could write outside ``root``."""
    name = member.name
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise DownloadError(f"unsafe archive member (absolute path): {name!r}")
    if ".." in pure.parts:
        raise DownloadError(f"unsafe archive member (parent-directory path): {name!r}")
    target = (root / pure).resolve()
    if target != root and root not in target.parents:
        raise DownloadError(f"unsafe archive member (leaves the destination): {name!r}")
    if member.issym() or member.islnk():
        raise DownloadError(f"unsafe archive member (link): {name!r} -> {member.linkname!r}")
    if not (member.isfile() or member.isdir()):
        raise DownloadError(f"unsafe archive member (device, fifo or other special file): {name!r}")


def _safe_extract(archive: Path, dest: Path) -> None:
    """Extract ``archive`` into ``dest`` after checking every member; nothing is written if any
    member is unsafe."""
    root = dest.resolve()
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                _check_member(m, root)
            for m in members:
                if m.isdir():
                    (root / m.name).mkdir(parents=True, exist_ok=True)
                    continue
                target = root / m.name
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(m)
                if src is None:
                    raise DownloadError(f"cannot read archive member {m.name!r}")
                with src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
    except (tarfile.TarError, EOFError) as exc:
        raise DownloadError(f"broken archive {archive.name}: {exc}") from None
    except OSError as exc:
        raise DownloadError(f"cannot extract {archive.name} into {dest}: {exc}") from None
