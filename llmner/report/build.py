"""Build the comparison report from run directories: load, compare, plot, render, write.

Example:
    >>> import tempfile, os
    >>> from llmner.rundir import write_run
    >>> root = tempfile.mkdtemp()
    >>> gold = [["B-PER", "O"], ["O", "B-LOC"]]
    >>> a = write_run(os.path.join(root, "a"), gold, gold)
    >>> b = write_run(os.path.join(root, "b"), gold, [["B-PER", "O"], ["O", "O"]])
    >>> paths = build_report([a, b], os.path.join(root, "out"), n_resamples=100)
    >>> sorted(paths)
    ['per_type_f1.png', 'report.html', 'report.md']
"""

from __future__ import annotations

from pathlib import Path

from llmner.report import plots
from llmner.report.curves import curve_points, curve_rows, curve_runs
from llmner.report.errors import collect_examples
from llmner.report.render import ReportData, RunErrors, to_html, to_markdown
from llmner.report.tables import (
    compare_runs,
    error_rows,
    per_type_rows,
    score_check,
    summary_rows,
)
from llmner.rundir import Run, load_runs

__all__ = ["build_report", "collect_report"]

_PLOTS = [
    ("per_type_f1.png", "F1 per entity type", plots.plot_per_type_f1),
    ("f1_vs_time.png", "F1 against training time", plots.plot_f1_vs_time),
    ("throughput.png", "Throughput", plots.plot_throughput),
]


def collect_report(
    runs: list[Run], n_resamples: int = 1000, seed: int = 0, examples: int = 3
) -> ReportData:
    """Everything the report shows except the plots, from loaded runs."""
    comparisons = compare_runs(runs, n_resamples=n_resamples, seed=seed)
    notes = [n for n in (score_check(r) for r in runs) if n]
    refused = [c for c in comparisons if c.refused]
    if refused:
        notes.append(
            f"{len(refused)} of {len(comparisons)} pairs were scored on different data and "
            "get no bootstrap: their F1 scores are not directly comparable."
        )
    errors = []
    for r in runs:
        p = r.predictions
        ex = collect_examples(p.tokens, p.gold, p.pred, per_category=examples) if p else {}
        errors.append(RunErrors(r.name, error_rows(r), ex))
    return ReportData(
        summary=summary_rows(runs),
        per_type=per_type_rows(runs),
        comparisons=comparisons,
        errors=errors,
        notes=notes,
        runs=[(r.name, str(r.path)) for r in runs],
        n_resamples=n_resamples,
        seed=seed,
    )


def build_report(
    run_dirs: list[str | Path],
    output: str | Path,
    n_resamples: int = 1000,
    seed: int = 0,
    examples: int = 3,
    curves: list[str | Path] = (),
) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and the PNG plots into ``output``.

    Args:
        run_dirs: the run directories to compare.
        curves: learning-curve folders (``recipes/learning_curve.py``'s ``nSIZE/NAME-sSEED``
            runs): each gets a table of F1 per configuration and size, and a plot.
        output: the folder to write (created if needed).
        n_resamples: bootstrap resamples per pair of runs; 0 turns the bootstrap off.
        seed: seed of the bootstrap.
        examples: example sentences shown per error category and run.

    Returns:
        The written files by name.

    Raises:
        InputError: naming a missing or malformed file of a run directory.
    """
    runs = load_runs(run_dirs)
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    data = collect_report(runs, n_resamples=n_resamples, seed=seed, examples=examples)
    written: dict[str, Path] = {}
    for file, title, draw in _PLOTS:
        if draw(runs, output / file) is not None:
            data.plots.append((title, file))
            written[file] = output / file
    for i, root in enumerate(curves):
        found = curve_runs(root)
        file = f"learning_curve_{i + 1}.png"
        drawn = plots.plot_learning_curve(curve_points(found), output / file)
        data.curves.append((str(root), curve_rows(root, found), file if drawn else None))
        if drawn:
            written[file] = output / file
    (output / "report.md").write_text(to_markdown(data), encoding="utf-8")
    (output / "report.html").write_text(to_html(data, output), encoding="utf-8")
    written["report.md"] = output / "report.md"
    written["report.html"] = output / "report.html"
    return written
