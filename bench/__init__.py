"""The harness: datasets, metrics, runner, result files, statistics, leaderboard, report, CLI.

Layering (tested in ``tests/test_plugins.py``): ``audiocodecs`` ← ``bench`` ← ``taae``. ``bench``
may import ``audiocodecs``, never ``taae``: TAAE's codecs, and its report pages, enter through entry
points (``bench.codecs``, ``bench.report_pages``) like any third-party plugin. Every statistical
procedure lives in :mod:`bench.stats`.
"""
