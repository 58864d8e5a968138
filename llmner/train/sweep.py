"""Hyperparameter search on Optuna: each trial a normal run, scored on validation F1.

A search space is a YAML file naming options of :class:`~llmner.config.RunConfig`::

    learning_rate: {low: 1.0e-4, high: 1.0e-3, log: true}
    lora_r: [8, 16, 32]            # a list is a categorical choice
    num_train_epochs: {low: 1, high: 3, step: 1}
    repeat: [1, 2]

The study lives in Optuna's own storage (``sqlite:///SWEEP/study.db`` by default, any
database URL Optuna accepts for several machines), so an interrupted sweep resumes and
several workers share one study. A worker that dies mid-trial stops sending heartbeats;
the next worker marks that trial stale and Optuna's ``RetryHeartbeatStaleTrialCallback`` queues
the same parameters again, so the half trial is redone, never lost. Trials report
validation F1 at each evaluation and Optuna's median pruner stops bad ones early.

Trial ``N`` writes the run directory ``SWEEP/trial-N``; the sweep writes ``sweep.json``
(every trial: state, parameters, validation and test F1, training time; what a results
page builds its table from, as ``<!-- table: sweep FILE -->``), ``trials.md`` (the same
as a table), ``best.yaml`` (the best trial's config, for ``recipes/finetune.py
--config``) and ``trials.png``.

Example:
    >>> space = parse_space({"learning_rate": {"low": 1e-4, "high": 1e-3, "log": True},
    ...                      "lora_r": [8, 16]})
    >>> [p.name for p in space]
    ['learning_rate', 'lora_r']
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import yaml
from transformers import TrainerCallback

from llmner.config import RunConfig, flatten_options, option_names
from llmner.errors import InputError
from llmner.io import parse_yaml, write_text_atomic
from llmner.markdown import markdown_table
from llmner.train.run import run_finetune

__all__ = ["Param", "load_space", "parse_space", "run_sweep", "trial_records", "trials_table"]

STUDY_FILE = "study.db"
RESULTS_FILE = "sweep.json"
OBJECTIVE = "eval_f1"


@dataclass(frozen=True)
class Param:
    """One searched option: a list of ``choices``, or a ``low``..``high`` range."""

    name: str
    choices: tuple | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    def suggest(self, trial):
        if self.choices is not None:
            return trial.suggest_categorical(self.name, list(self.choices))
        integer = all(isinstance(v, int) for v in (self.low, self.high, self.step or 1))
        if integer:
            return trial.suggest_int(
                self.name, self.low, self.high, step=self.step or 1, log=self.log
            )
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)


def parse_space(data: dict, path: str | None = None, text: str = "") -> list[Param]:
    """Validate a search space: every name an option of a run (not the run's
    folder or data), every range non-empty.

    Raises:
        InputError: naming the file, the line and the option.
    """
    if not isinstance(data, dict) or not data:
        raise InputError("expected a mapping of option names to ranges or lists", path)
    names = option_names()
    fixed = {"output_dir", "dataset", "train_file", "validation_file", "test_file", "format"}
    out = []
    for name, spec in data.items():
        line = next(
            (i for i, s in enumerate(text.splitlines(), 1) if s.startswith(f"{name}:")), None
        )
        if name not in names or name in fixed:
            raise InputError(
                f"{name!r} is not an option a search can vary; expected a training, model "
                "or format option of recipes/finetune.py --help",
                path,
                line,
            )
        if isinstance(spec, list):
            if not spec:
                raise InputError(f"{name}: an empty list; expected at least one value", path, line)
            out.append(Param(name, choices=tuple(spec)))
            continue
        if not isinstance(spec, dict) or not {"low", "high"} <= set(spec):
            raise InputError(f"{name}: expected a list of values or {{low, high}}", path, line)
        unknown = set(spec) - {"low", "high", "log", "step"}
        if unknown:
            raise InputError(f"{name}: unknown keys {sorted(unknown)}", path, line)
        low, high = spec["low"], spec["high"]
        if not all(isinstance(v, (int, float)) for v in (low, high)) or not low < high:
            raise InputError(
                f"{name}: an empty range {low}..{high}; expected low < high", path, line
            )
        if spec.get("log") and low <= 0:
            raise InputError(f"{name}: a log range needs low > 0, got {low}", path, line)
        out.append(Param(name, None, low, high, bool(spec.get("log")), spec.get("step")))
    return out


def load_space(path: str | Path) -> list[Param]:
    """Read and validate a search-space YAML file."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file; expected a search-space YAML", str(path))
    text = path.read_text(encoding="utf-8")
    return parse_space(parse_yaml(text, path), str(path), text)


def _pruning_callback(trial):
    """A ``TrainerCallback`` that reports validation F1 to ``trial`` and stops a trial
    Optuna's pruner judges hopeless."""
    import optuna  # optional: pip install 'llmner[sweep]'

    class ReportToOptuna(TrainerCallback):
        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            if metrics and OBJECTIVE in metrics:
                trial.report(metrics[OBJECTIVE], step=state.global_step)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"validation F1 {metrics[OBJECTIVE]:.4f}")

    return ReportToOptuna()


def run_sweep(
    base: dict,
    space: list[Param],
    output_dir: str | Path,
    trials: int,
    timeout: float | None = None,
    storage: str | None = None,
    study_name: str = "llmner",
    seed: int = 0,
    heartbeat: int = 10,
):
    """Run (or continue) a study until it holds ``trials`` finished trials.

    Args:
        base: the config every trial starts from (a recipe YAML's options).
        space: from :func:`load_space`.
        output_dir: the sweep folder (trial run directories, the default study file).
        trials: finished (complete or pruned) trials the study should hold, counted
            over every worker and every resume.
        timeout: stop starting new trials after this many seconds.
        storage: an Optuna storage URL (default: SQLite in ``output_dir``).
        study_name: the study's name in the storage.
        seed: seeds the sampler (TPE, or the order of a grid: a space of lists only
            runs each combination at most once, ``trials`` capped at their number).
        heartbeat: seconds between a running trial's heartbeats; a trial silent for
            three of them is taken as dead and queued again with the same parameters.

    Returns:
        The ``optuna.Study``.
    """
    import optuna  # optional: pip install 'llmner[sweep]'
    from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    url = storage or f"sqlite:///{(out / STUDY_FILE).resolve()}"
    with warnings.catch_warnings():  # heartbeats are marked experimental in Optuna
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        rdb = RDBStorage(
            url,
            heartbeat_interval=heartbeat,
            grace_period=3 * heartbeat,
            heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=2),
        )
    grid = _grid(space)
    study = optuna.create_study(
        study_name=study_name,
        storage=rdb,
        direction="maximize",
        load_if_exists=True,
        sampler=(
            optuna.samplers.GridSampler(grid, seed=seed)
            if grid
            else optuna.samplers.TPESampler(seed=seed)
        ),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2),
    )
    RunConfig.from_dict(_trial_base(base, {p.name: _example(p) for p in space}))

    def objective(trial) -> float:
        params = {p.name: p.suggest(trial) for p in space}
        cfg = RunConfig.from_dict(
            {**_trial_base(base, params), "output_dir": str(out / f"trial-{trial.number}")}
        )
        metrics = run_finetune(cfg, callbacks=[_pruning_callback(trial)])
        trial.set_user_attr("test_f1", metrics["f1"])
        trial.set_user_attr("train_seconds", metrics["train_seconds"])
        trial.set_user_attr("run", f"trial-{trial.number}")
        value = metrics.get("best_validation_f1")
        if value is None:
            raise InputError("a sweep needs a validation split: set max_eval_samples > 0")
        return value

    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    if grid:  # each point once, no more
        trials = min(trials, math.prod(len(v) for v in grid.values()))
    # MaxTrialsCallback only stops after a trial: a study that already holds enough
    # trials (a finished sweep run again) would otherwise start one more.
    if len(study.get_trials(deepcopy=False, states=finished)) < trials:
        study.optimize(
            objective,
            timeout=timeout,
            callbacks=[MaxTrialsCallback(trials, states=finished)],
            catch=(),
        )
    write_results(study, base, out)
    return study


def _grid(space: list[Param]) -> dict[str, list] | None:
    """A space of lists only (``repeat: [1, 2, 3]``) as Optuna's grid, each point to run
    once; ``None`` for a space with a range in it, which TPE samples. TPE on lists alone
    draws some values twice and leaves others out in a handful of trials."""
    if all(p.choices is not None for p in space):
        return {p.name: list(p.choices) for p in space}
    return None


def _trial_base(base: dict, params: dict) -> dict:
    """The trial's options: the base config with the drawn ones; a drawn ``repeat``
    replaces the base's ``echo`` (its alias for ``repeat: 1``)."""
    merged = {**flatten_options(base), **params}
    if "repeat" in params:
        merged["echo"] = False
    return merged


def _example(p: Param):
    return p.choices[0] if p.choices is not None else p.low


def trial_records(study) -> list[dict]:
    """Every trial of ``study`` as plain data: number, state, parameters, validation F1
    (the final value, or the last reported one of a pruned trial), test F1, training
    seconds and run folder. ``sweep.json`` holds this list."""
    out = []
    for t in study.get_trials(deepcopy=False):
        dev = t.value
        if dev is None and t.intermediate_values:
            dev = t.intermediate_values[max(t.intermediate_values)]
        out.append(
            {
                "trial": t.number,
                "state": t.state.name.lower(),
                "params": dict(t.params),
                "validation_f1": dev,
                "test_f1": t.user_attrs.get("test_f1"),
                "train_seconds": t.user_attrs.get("train_seconds"),
                "run": t.user_attrs.get("run", f"trial-{t.number}"),
            }
        )
    return out


def trials_table(records: list[dict]) -> str:
    """Every trial as a markdown table: state, parameters, validation and test F1.

    Example:
        >>> print(trials_table([{"trial": 0, "state": "complete", "params": {"lora_r": 8},
        ...     "validation_f1": 0.61234, "test_f1": None, "train_seconds": 301.2}]), end="")
        | trial | state | lora_r | dev F1 | test F1 | train s |
        | --- | --- | ---: | ---: | ---: | ---: |
        | 0 | complete | 8 | 0.6123 | – | 301 |
    """
    names = sorted({k for r in records for k in r["params"]})
    head = ["trial", "state", *names, "dev F1", "test F1", "train s"]
    rows = [
        [
            str(r["trial"]),
            r["state"],
            *(_fmt(r["params"].get(n)) for n in names),
            _fmt(r["validation_f1"]),
            _fmt(r["test_f1"]),
            _fmt(r["train_seconds"], 0),
        ]
        for r in records
    ]
    return "\n".join(markdown_table((head, rows))) + "\n"


def _fmt(value, digits: int = 4) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-2 else f"{value:.{digits}f}"
    return str(value)


def write_results(study, base: dict, out: Path) -> None:
    """``sweep.json``, ``trials.md``, ``best.yaml`` and ``trials.png`` in the sweep folder."""
    from optuna.trial import TrialState  # optional: pip install 'llmner[sweep]'

    records = trial_records(study)
    write_text_atomic(out / RESULTS_FILE, json.dumps({"trials": records}, indent=2) + "\n")
    write_text_atomic(out / "trials.md", trials_table(records))
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return
    best = max(complete, key=lambda t: t.value)
    config = {k: v for k, v in _trial_base(base, best.params).items() if k != "output_dir"}
    note = (
        f"# Best of {len(complete)} complete trials (trial {best.number}): validation F1 "
        f"{best.value:.4f}.\n"
    )
    write_text_atomic(out / "best.yaml", note + yaml.safe_dump(config, sort_keys=False))
    _plot(study, out / "trials.png")


def _plot(study, path: Path) -> None:
    import matplotlib  # only to draw: Agg is chosen before pyplot loads

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    trials = [t for t in study.get_trials(deepcopy=False) if t.value is not None]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.plot([t.number for t in trials], [t.value for t in trials], "o")
    best, values = [], []
    for t in trials:
        values.append(t.value)
        best.append(max(values))
    ax.step([t.number for t in trials], best, where="post", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel("validation F1")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
