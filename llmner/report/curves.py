"""Learning curves: strict F1 against the number of training sentences.

``recipes/learning_curve.py`` trains each configuration at each size and seed into
``ROOT/nSIZE/NAME-sSEED`` (``SIZE`` a number or ``all``); this module reads them back.
The number of sentences of a point is the one its run trained on (``num_train_sentences``
in ``metrics.json``), so ``all``, or a size above the training split, lands where it
belongs.

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> root = Path(tempfile.mkdtemp())
    >>> for size, seed, f1 in [(50, 1, 0.4), (50, 2, 0.5), (100, 1, 0.6)]:
    ...     run = root / f"n{size}" / f"echo-s{seed}"
    ...     run.mkdir(parents=True)
    ...     _ = (run / "metrics.json").write_text(json.dumps(
    ...         {"f1": f1, "num_train_sentences": size, "seed": seed}))
    >>> [(r.label, r.sentences) for r in curve_runs(root)]
    [('echo-n50-s1', 50), ('echo-n50-s2', 50), ('echo-n100-s1', 100)]
    >>> curve_points(curve_runs(root))
    [('echo', 50, 0.4), ('echo', 50, 0.5), ('echo', 100, 0.6)]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

from llmner.errors import InputError
from llmner.report.tables import seed_rows
from llmner.rundir import METRICS_FILE, read_config, split_run_name

__all__ = ["CurveRun", "curve_points", "curve_rows", "curve_runs"]


class CurveRun(NamedTuple):
    """One finished run of a curve: ``label`` is ``NAME-nSIZE-sSEED``."""

    label: str
    configuration: str
    sentences: int
    metrics: dict
    folder: Path


def curve_runs(root: str | Path) -> list[CurveRun]:
    """Every finished run under ``root/nSIZE/`` (or ``root/nSIZE/runs/``, as collected),
    by configuration, then sentences, then seed."""
    found = []
    for size_dir in Path(root).glob("n*"):
        folders = [size_dir, size_dir / "runs"]
        for run in [r for f in folders if f.is_dir() for r in f.iterdir()]:
            name, seed = split_run_name(run.name)
            if not (run / METRICS_FILE).is_file() or not seed:
                continue
            metrics = json.loads((run / METRICS_FILE).read_text(encoding="utf-8"))
            label = f"{name}-{size_dir.name}-s{seed}"
            found.append(CurveRun(label, name, int(metrics["num_train_sentences"]), metrics, run))
    found.sort(key=lambda r: (r.configuration, r.sentences, r.metrics.get("seed") or 0))
    return found


def curve_points(runs: list[CurveRun]) -> list[tuple[str, int, float]]:
    """``(configuration, sentences, strict F1)`` per run, for the plot."""
    return [(r.configuration, r.sentences, float(r.metrics["f1"])) for r in runs]


def curve_rows(root: str | Path, runs: list[CurveRun] | None = None):
    """The table (headers, rows): one row per configuration and size, F1 as mean ± sd
    over the seeds (the ``seeds`` table of results pages, rows named ``NAME-nSIZE``)."""
    runs = curve_runs(root) if runs is None else runs
    if not runs:
        raise InputError("no finished run here; expected nSIZE/NAME-sSEED folders", str(root))
    return seed_rows([(r.label, read_config(r.folder), r.metrics) for r in runs])
