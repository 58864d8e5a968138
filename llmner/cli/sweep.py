"""``llmner sweep``: a hyperparameter search on Optuna, each trial a normal run.

    llmner sweep --config recipes/configs/quickstart/decoder.yaml \
        --space recipes/configs/sweeps/decoder.yaml --trials 8 --output runs/sweep

Options of ``recipes/finetune.py`` given after the sweep's own (``--dataset PATH
--max_train_samples 1000``) override the config's for every trial, so one config can be
searched on another dataset without a copy of it.

Several workers (on one machine or many) share a study by pointing at the same
``--storage`` (and ``--study``); an interrupted sweep continues where it stopped.
"""

from __future__ import annotations

import argparse
import importlib.util

from llmner.cli.common import check_output_folder
from llmner.errors import InputError

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``sweep`` subcommand."""
    p = subparsers.add_parser(
        "sweep",
        help="search hyperparameters with Optuna on validation F1",
        description=(
            "Run trials of recipes/finetune.py with options drawn from a search space, "
            "prune those whose validation F1 lags, and write trials.md, trials.png and the "
            "best trial's config as best.yaml (usable with recipes/finetune.py --config). "
            "Any option of recipes/finetune.py given as well (--dataset PATH "
            "--max_train_samples N ...) overrides the config's for every trial."
        ),
    )
    p.add_argument("--config", required=True, help="the YAML config every trial starts from")
    p.add_argument("--space", required=True, help="a YAML search space (see llmner.train.sweep)")
    p.add_argument("--trials", type=int, default=8, help="finished trials the study should hold")
    p.add_argument("--timeout", type=float, default=None, help="stop starting trials after S s")
    p.add_argument("--output", default="runs/sweep", help="the sweep folder")
    p.add_argument("--storage", default=None, help="Optuna storage URL (default: SQLite there)")
    p.add_argument("--study", default="llmner", help="the study's name in the storage")
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the sampler (trials keep the config's seed)"
    )
    p.set_defaults(func=run, accepts_overrides=True)


def config_overrides(argv: list[str]) -> dict:
    """The run options given as flags in ``argv`` (``["--dataset", "wnut17",
    "--max_train_samples", "500"]``), parsed to their types; a flag that is not one of
    them is an :class:`~llmner.errors.InputError` naming the closest option."""
    # keeps llmner --help free of torch
    from llmner.config import parse_overrides

    return parse_overrides(argv)


def run(args: argparse.Namespace) -> int:
    # keeps llmner --help free of torch
    from llmner.config import load_config
    from llmner.train.sweep import load_space, run_sweep

    if importlib.util.find_spec("optuna") is None:
        raise InputError("llmner sweep needs Optuna: pip install 'llmner[sweep]'")

    if args.trials < 1:
        raise InputError(f"--trials must be at least 1, got {args.trials}")
    config = {**load_config(args.config), **config_overrides(getattr(args, "overrides", []))}
    space = load_space(args.space)
    check_output_folder(args.output, empty=False)  # a sweep continues in its own folder
    study = run_sweep(
        config,
        space,
        args.output,
        args.trials,
        timeout=args.timeout,
        storage=args.storage,
        study_name=args.study,
        seed=args.seed,
    )
    best = study.best_trial if any(t.value is not None for t in study.trials) else None
    if best is not None:
        print(f"best: trial {best.number}, validation F1 {best.value:.4f}: {best.params}")
        print(f"config: {args.output}/best.yaml")
    return 0
