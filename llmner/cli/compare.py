"""``llmner compare RUN_DIR... --output DIR``: the comparison report of several runs."""

from __future__ import annotations

import argparse
from pathlib import Path

from llmner.cli.common import check_output_folder
from llmner.errors import InputError

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``compare`` subcommand."""
    p = subparsers.add_parser(
        "compare",
        help="compare run directories: tables, plots, paired bootstrap, error analysis",
        description=(
            "Write report.md, a self-contained report.html and PNG plots comparing run "
            "directories (each with metrics.json, predictions.conll and config.yaml). Runs "
            "scored on the same sentences get a paired bootstrap of their strict F1 difference."
        ),
    )
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories to compare")
    p.add_argument("--output", "-o", required=True, help="folder to write the report into")
    p.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap resamples per pair of runs; 0 turns it off (default: 1000)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: 0)")
    p.add_argument(
        "--curve",
        action="append",
        default=[],
        metavar="DIR",
        help="a learning-curve folder (recipes/learning_curve.py's --output_dir, or its "
        "collected runs): add its table of F1 per size and its plot (repeatable)",
    )
    p.add_argument(
        "--examples",
        type=int,
        default=3,
        metavar="K",
        help="example sentences per error category and run (default: 3)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Build the report; returns the exit status."""
    if args.bootstrap < 0:
        raise InputError(f"--bootstrap must be 0 or more, got {args.bootstrap}")
    for run_dir in args.run_dirs:
        if not Path(run_dir).is_dir():
            raise InputError("no such folder; expected a run directory", run_dir)
    check_output_folder(args.output, empty=False)
    # keeps llmner --help free of matplotlib
    from llmner.report.build import build_report

    written = build_report(
        args.run_dirs,
        args.output,
        n_resamples=args.bootstrap,
        seed=args.seed,
        examples=args.examples,
        curves=args.curve,
    )
    for path in written.values():
        print(path)
    return 0
