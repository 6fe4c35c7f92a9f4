"""Training data: audio file lists, in-memory 16 kHz corpora and seeded random crops.

Any folder of audio works (``.wav``, ``.flac``, ``.ogg``; read with ``soundfile``, mixed to mono,
resampled to 16 kHz with the project's one resampler). Paths inside a ``test-clean`` folder are
refused: those are the evaluation speakers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")
FORBIDDEN_PARTS = ("test-clean",)


def list_audio(dirs: list[str | Path]) -> list[Path]:
    """Sorted audio files under ``dirs`` (files may be given directly); refuses ``test-clean``."""
    files: list[Path] = []
    for d in dirs:
        p = Path(d)
        if any(part in FORBIDDEN_PARTS for part in p.resolve().parts):
            raise ValueError(f"refusing to train on {p}: test-clean holds the evaluation speakers")
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files.extend(f for f in sorted(p.rglob("*")) if f.suffix.lower() in AUDIO_EXTENSIONS)
        else:
            raise FileNotFoundError(f"no such audio file or folder: {p}")
    files = [f for f in files if not any(part in FORBIDDEN_PARTS for part in f.resolve().parts)]
    if not files:
        raise FileNotFoundError(f"no audio files ({', '.join(AUDIO_EXTENSIONS)}) under {dirs}")
    return files


def load_audio(path: str | Path, sample_rate: int = 16000) -> torch.Tensor:
    """Mono float32 waveform ``[T]`` at ``sample_rate``."""
    import soundfile as sf

    from audiocodecs.resample import resample

    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    wav = torch.from_numpy(data).mean(dim=1)
    return resample(wav[None], int(sr), sample_rate)[0].contiguous()


def files_digest(files: list[Path]) -> str:
    """Short hash of the file list (names and sizes) for provenance."""
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.resolve()}:{f.stat().st_size}\n".encode())
    return h.hexdigest()[:16]


class Corpus:
    """All files of a training set held in memory as int16 at 16 kHz."""

    def __init__(self, files: list[Path], sample_rate: int = 16000) -> None:
        self.files = files
        self.sample_rate = sample_rate
        self.waves: list[torch.Tensor] = []
        for f in files:
            wav = load_audio(f, sample_rate)
            self.waves.append((wav.clamp(-1, 1) * 32767).round().to(torch.int16))
        self.lengths = torch.tensor([w.numel() for w in self.waves], dtype=torch.float64)

    @property
    def seconds(self) -> float:
        """Total duration."""
        return float(self.lengths.sum()) / self.sample_rate

    def crop(self, index: int, start: int, length: int) -> torch.Tensor:
        """``[length]`` float32 samples of file ``index`` from ``start`` (zero-padded)."""
        w = self.waves[index][start : start + length].float() / 32767.0
        if w.numel() < length:
            w = torch.nn.functional.pad(w, (0, length - w.numel()))
        return w


class CropSampler:
    """Seeded random crops: a file drawn with probability ∝ its length, then a uniform offset.

    Its whole state is one ``torch.Generator`` (saved in checkpoints for exact resume).
    """

    def __init__(self, corpus: Corpus, crop_samples: int, seed: int) -> None:
        self.corpus = corpus
        self.crop_samples = crop_samples
        self.generator = torch.Generator().manual_seed(seed)

    def sample(self, batch_size: int) -> torch.Tensor:
        """A batch ``[B, 1, crop_samples]`` float32."""
        idx = torch.multinomial(
            self.corpus.lengths, batch_size, replacement=True, generator=self.generator
        )
        out = []
        for i in idx.tolist():
            span = max(1, int(self.corpus.lengths[i]) - self.crop_samples + 1)
            start = int(torch.randint(0, span, (1,), generator=self.generator))
            out.append(self.corpus.crop(i, start, self.crop_samples))
        return torch.stack(out)[:, None, :]

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.generator.set_state(state["generator"])


def fixed_segments(corpus: Corpus, count: int, samples: int, seed: int) -> torch.Tensor:
    """``count`` deterministic crops ``[N, 1, samples]`` (validation), independent of training."""
    sampler = CropSampler(corpus, samples, seed)
    return sampler.sample(count)


# --------------------------------------------------------------------------------- data prep
ASTERISK_LANGUAGES = ("en", "es", "fr", "it", "ru")
ASTERISK_ROOT = Path("/usr/share/asterisk/sounds")
ASTERISK_ATTRIBUTION = (
    "Asterisk core sound prompts (Digium / Sangoma, asterisk-core-sounds-*-g722 Debian packages), "
    "licensed CC BY-SA 3.0; decoded from G.722 64 kbit/s to 16 kHz PCM16 WAV."
)


def prepare_asterisk(
    out_dir: str | Path,
    root: str | Path = ASTERISK_ROOT,
    min_seconds: float = 0.5,
) -> list[Path]:
    """Decode every ``*.g722`` prompt under ``root`` to 16 kHz WAV files in ``out_dir``.

    Needs the Debian packages ``asterisk-core-sounds-{en,es,fr,it,ru}-g722`` (apt-get install) and
    PyPI ``g722``. Each file gets a fresh decoder (G.722 is stateful). Files shorter than
    ``min_seconds`` are skipped. Writes ``ATTRIBUTION.txt`` beside the audio.
    """
    import numpy as np
    import soundfile as sf

    try:
        import G722
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError("PyPI package `g722` is needed: pip install g722") from exc

    root, out = Path(root), Path(out_dir)
    sources = sorted(root.rglob("*.g722")) if root.is_dir() else []
    if not sources:
        pkgs = " ".join(f"asterisk-core-sounds-{lang}-g722" for lang in ASTERISK_LANGUAGES)
        raise FileNotFoundError(
            f"no .g722 files under {root}; install them: apt-get install {pkgs}"
        )
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for src in sources:
        rel = src.relative_to(root).with_suffix(".wav")
        dst = out / rel
        pcm = np.asarray(G722.G722(16000, 64000).decode(src.read_bytes()), dtype=np.int16)
        if pcm.size < min_seconds * 16000:
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        sf.write(str(dst), pcm, 16000, subtype="PCM_16")
        written.append(dst)
    (out / "ATTRIBUTION.txt").write_text(ASTERISK_ATTRIBUTION + "\n")
    return written
