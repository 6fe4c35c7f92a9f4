"""Word error rate of the decoded speech, recognised by pocketsphinx (CMU Sphinx), scored by jiwer.

A weak, bandwidth-sensitive recogniser (≈ 32 % WER on clean LibriSpeech test-clean, where modern
ASR gets low single digits): its absolute WER is not comparable with papers. What it measures is
how many *more* words a codec loses than the reference itself, so every table shows the
reference's own WER (the ``passthrough`` row) on the same utterances beside the codecs'.
"""

from __future__ import annotations

import re

import numpy as np

from bench.metrics import (
    METRIC_SAMPLE_RATE,
    METRICS_EXTRA,
    Metric,
    RequiresModules,
    register_metric,
)

DEFINITION = (
    "Word error rate (%) of pocketsphinx 5.1.1's default US-English model (acoustic model, "
    "language model and dictionary shipped in the wheel; a fresh decoder per utterance, since "
    "its noise estimate and normalisation carry state) on the decoded audio (16-bit PCM), "
    "against the dataset's reference transcript; both sides upper-cased, everything but letters "
    "and apostrophes removed (LibriSpeech style); errors = substitutions + deletions + "
    "insertions (jiwer). Tables show corpus WER = Σ errors / Σ reference words. Utterances "
    "without a transcript are skipped, not failed."
)


def normalise(text: str) -> list[str]:
    """LibriSpeech-style words: upper case, letters and apostrophes only."""
    return re.sub(r"[^A-Z']+", " ", text.upper()).split()


def recognise(audio: np.ndarray) -> str:
    """pocketsphinx's transcript of 16 kHz ``audio`` (a fresh decoder: no state between files)."""
    import pocketsphinx

    decoder = pocketsphinx.Decoder(loglevel="FATAL")
    pcm = (np.clip(np.asarray(audio, dtype=np.float64), -1.0, 1.0) * 32767.0).astype("<i2")
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp is not None else ""


def word_errors(transcript: str, hypothesis: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference words)."""
    import jiwer

    ref, hyp = normalise(transcript), normalise(hypothesis)
    if not ref:
        raise ValueError("empty reference transcript")
    if not hyp:
        return len(ref), len(ref)
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return out.substitutions + out.deletions + out.insertions, len(ref)


def wer(
    reference: np.ndarray, decoded: np.ndarray, device: str = "cpu", *, transcript: str
) -> tuple[float, float]:
    """(per-utterance WER in %, reference word count) of ``decoded``; ``reference`` is unused."""
    errors, words = word_errors(transcript, recognise(decoded))
    return 100.0 * errors / words, float(words)


register_metric(
    Metric(
        name="wer",
        label="WER (pocketsphinx)",
        unit="%",
        higher_is_better=False,
        fn=wer,  # type: ignore[arg-type]
        definition=DEFINITION,
        intrusive=False,
        needs_transcript=True,
        weighted=True,
        sample_rate=METRIC_SAMPLE_RATE,
        default=False,
        unavailable=RequiresModules(("pocketsphinx", "jiwer"), METRICS_EXTRA),
    )
)
