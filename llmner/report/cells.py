"""One cell of a results table, as a string: a score, a count, a duration, a range
over seeds. A value a run did not record is shown as ``–``.

Example:
    >>> fmt(0.87654, "score"), fmt(None, "score"), fmt(1234567, "int"), fmt(75.2, "seconds")
    ('0.8765', '–', '1,234,567', '1m15s')
    >>> span([12.35, 14.9], "{:.3g}"), mean_sd([0.52, 0.56])
    ('12.3–14.9', '0.5400 ± 0.0283')
"""

from __future__ import annotations

import statistics

__all__ = ["MISSING", "fmt", "mean_sd", "span"]

MISSING = "–"


def fmt(value, kind: str = "text") -> str:
    """One table cell: ``score`` (4 decimals), ``rate`` (percent), ``int``, ``float``,
    ``seconds``, ``mb`` or ``text``; ``–`` for a missing or unusable value."""
    if value is None or value == "":
        return MISSING
    if kind == "text":
        return str(value)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return MISSING
    if kind == "score":
        return f"{value:.4f}"
    if kind == "rate":
        return f"{100 * value:.1f}%"
    if kind == "int":
        return f"{int(value):,}"
    if kind == "float":
        return f"{value:,.1f}"
    if kind == "mb":
        return f"{value:,.0f} MB"
    if kind == "seconds":
        minutes, seconds = divmod(float(value), 60)
        if minutes < 1:
            return f"{seconds:.1f}s"
        hours, minutes = divmod(int(minutes), 60)
        return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02.0f}s"
    raise ValueError(f"unknown cell kind {kind!r}")


def span(values: list, form: str) -> str | None:
    """One value, or the lowest and highest (``12.3–14.9``) where they differ; ``None``
    when a value is missing."""
    if not values or not all(isinstance(v, (int, float)) for v in values):
        return None
    low, high = form.format(min(values)), form.format(max(values))
    return low if low == high else f"{low}–{high}"


def mean_sd(values: list) -> str:
    """``0.5409 ± 0.0219`` over seeds, one value as it is, ``–`` when one is missing."""
    if not values or not all(isinstance(v, (int, float)) for v in values):
        return MISSING
    spread = f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else ""
    return f"{statistics.fmean(values):.4f}{spread}"
