"""A side-by-side table of runs: P, R, F1 per type and overall, and training time.

Example:
    >>> m = {"precision": 0.5, "recall": 1.0, "f1": 0.667, "train_seconds": 12.0,
    ...      "per_type": {"PER": {"precision": 0.5, "recall": 1.0, "f1": 0.667, "support": 1}}}
    >>> print(side_by_side({"run": m}))
    | type    | run P | run R | run F1 |
    | ------- | ----- | ----- | ------ |
    | PER     | 0.500 | 1.000 | 0.667  |
    | overall | 0.500 | 1.000 | 0.667  |
    | train s | 12    |       |        |
"""

from __future__ import annotations

__all__ = ["side_by_side"]


def _row(cells: list[str], widths: list[int]) -> str:
    return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"


def side_by_side(runs: dict[str, dict]) -> str:
    """A markdown table comparing ``runs`` ({name: metrics.json contents})."""
    types = sorted({t for m in runs.values() for t in m.get("per_type", {})})
    header = ["type"] + [f"{name} {k}" for name in runs for k in ("P", "R", "F1")]
    rows = []
    for t in types:
        cells = [t]
        for m in runs.values():
            v = m.get("per_type", {}).get(t)
            cells += (
                ["–"] * 3 if v is None else [f"{v[k]:.3f}" for k in ("precision", "recall", "f1")]
            )
        rows.append(cells)
    rows.append(
        ["overall"] + [f"{m[k]:.3f}" for m in runs.values() for k in ("precision", "recall", "f1")]
    )
    rows.append(
        ["train s"]
        + [c for m in runs.values() for c in (f"{m.get('train_seconds', 0):.0f}", "", "")]
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [_row(header, widths), _row(["-" * w for w in widths], widths)]
    lines += [_row(r, widths) for r in rows]
    return "\n".join(lines)
