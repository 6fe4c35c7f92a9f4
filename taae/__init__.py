"""TAAE: transformer audio auto-encoder speech codec (model, bottlenecks, losses, trainer).

Layering: the top floor — ``taae`` may import ``bench`` and ``audiocodecs``; neither imports it.
Its codecs (:mod:`taae.codec`) and the ablation report pages (:mod:`taae.study.site`) reach the
harness through the entry points declared in ``pyproject.toml``.
"""
