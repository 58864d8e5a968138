"""Markdown tables, laid out one way for reports, model cards, search trials and the
results pages' tables of runs, seeds, learning curves, bootstraps and coverage. No heavy
imports.

Example:
    >>> print("\\n".join(markdown_table((["model", "F1"], [["a|b", "0.91"], ["c", "–"]]))))
    | model | F1 |
    | --- | ---: |
    | a\\|b | 0.91 |
    | c | – |
"""

from __future__ import annotations

import re

__all__ = ["Table", "markdown_table"]

Table = tuple[list[str], list[list[str]]]
"""``(headers, rows)``: the cells of a table, as text."""

# A cell that reads as a number: a score, a count, a size, a duration, an interval or ``–``.
_NUMERIC = re.compile(r"^((≤ )?[-+]?[\d.,]+(%| MB|s)?|–|\d+h\d+m|\d+m\d+s|\[.*\])$")


def markdown_table(table: Table) -> list[str]:
    """The lines of a markdown table; columns after the first whose cells all read as
    numbers (or ``–``) are right-aligned, and ``|`` in a cell is escaped."""
    headers, rows = table
    cell = lambda v: str(v).replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    numeric = [i > 0 and all(_NUMERIC.match(str(r[i])) for r in rows) for i in range(len(headers))]
    lines.append("|" + "|".join(" ---: " if n else " --- " for n in numeric) + "|")
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines
