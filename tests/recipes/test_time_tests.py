"""recipes/time_tests.py: pytest's summary read back, and the table built from a record."""

from __future__ import annotations

from time_tests import summary_counts, timings_table


def test_summary_counts_read_the_last_summary_line():
    out = "tests/a.py ....\n3 failed, 1315 passed, 6 skipped, 2 errors in 328.12s (0:05:28)\n"
    assert summary_counts(out) == {"failed": 3, "passed": 1315, "skipped": 6, "errors": 2}
    assert summary_counts("no summary here\n") == {}


def test_table_shows_counts_time_load_and_provenance():
    record = {
        "command": 'python -m pytest -m "not slow"',
        "seconds": 328.1,
        "passed": 1315,
        "skipped": 6,
        "load_average_before": [0.04, 0.5, 0.7],
        "provenance": {"commit": "abcdef0123", "device": {"cpu": "AMD EPYC", "cores": 2}},
    }
    lines = timings_table([record]).splitlines()
    assert lines[0].startswith("| command | passed | skipped | failed | wall time")
    assert lines[2].split(" | ")[1:] == [
        "1,315",
        "6",
        "0",
        "5m28s",
        "0.04",
        "abcdef0",
        lines[2].split(" | ")[-1],
    ]
    assert "AMD EPYC" in lines[2]
