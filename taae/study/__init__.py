"""The TAAE ablation study as pages: ``ABLATION.md`` and its plots, from committed result files.

Data → claims → words → pages, one module each (imports only run down this list):

- :mod:`taae.study.data`: result files into per-variant, per-seed, per-utterance values.
- :mod:`taae.study.claims`: the paper's claims, the paired tests and verdicts (every statistical
  procedure itself lives in :mod:`bench.stats`).
- :mod:`taae.study.words`: number formatting and the plain-language verdict lines.
- :mod:`taae.study.tables` / :mod:`taae.study.plots`: markdown tables and matplotlib figures.
- :mod:`taae.study.report`: the document (:func:`write_report`).

Inputs (under the results folder of :mod:`taae.ablate`): ``study.json`` (what was run),
``gaps.json`` (quantization gap per run), ``seed<S>/<dataset>/<codec>.json`` (harness result files),
``training.json`` (training time and validation curves). Reference codecs (Codec 2, Opus, EnCodec,
DAC, the residual-FSQ ladder) are read from the main ``results/<dataset>/`` folders.
"""

from __future__ import annotations

from taae.study.report import write_report

__all__ = ["write_report"]
