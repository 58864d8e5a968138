"""llmner.report.cells: one table cell."""

import pytest

from llmner.report.cells import MISSING, fmt


@pytest.mark.parametrize(
    "value, kind, expected",
    [
        (None, "score", MISSING),
        ("n/a", "score", MISSING),
        (True, "int", MISSING),
        (0.5, "rate", "50.0%"),
        (3725.0, "seconds", "1h02m"),
        (59.94, "seconds", "59.9s"),
        (1536.4, "mb", "1,536 MB"),
        ("smol", "text", "smol"),
    ],
    ids=["none", "string-as-number", "bool", "rate", "hours", "seconds", "mb", "text"],
)
def test_fmt(value, kind, expected):
    assert fmt(value, kind) == expected
