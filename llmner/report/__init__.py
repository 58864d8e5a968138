"""The comparison report: load run directories, test differences, plot, render.

``llmner compare RUN_DIR... --output DIR`` is a thin call into :func:`build_report`.
"""

from llmner.report.bootstrap import BootstrapResult, paired_bootstrap
from llmner.report.build import build_report
from llmner.report.errors import CATEGORIES, category_table, classify
from llmner.rundir import Run, load_run, load_runs, write_run

__all__ = [
    "CATEGORIES",
    "BootstrapResult",
    "Run",
    "build_report",
    "category_table",
    "classify",
    "load_run",
    "load_runs",
    "paired_bootstrap",
    "write_run",
]
