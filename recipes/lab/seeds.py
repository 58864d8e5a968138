"""Runs of one configuration at several seeds (``NAME-sSEED``), as the benchmark handles
them: a finished run is reused only for the configuration it ran, and two configurations
are compared by a paired bootstrap over the seeds both ran.

The bootstrap needs, per test sentence, each run's true positives, predicted and gold
entities (:func:`~llmner.report.bootstrap.sentence_counts`), not the sentences: a run's
``predictions.conll`` gives them, and so does the ``sentence_counts.json`` that
:func:`write_sentence_counts` writes beside a collected run's ``metrics.json``. Those
counts, with a fingerprint of the sentences, hold no dataset text, so they are committed
(CoNLL-2003's predictions may not be), and a run made later pairs with a committed one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from llmner.errors import InputError
from llmner.io import write_text_atomic
from llmner.report.bootstrap import paired_bootstrap_counts, sentence_counts
from llmner.rundir import PREDICTIONS_FILE, read_config, read_predictions, split_run_name

__all__ = [
    "COUNTS_FILE",
    "config_differences",
    "config_names",
    "pooled_bootstrap",
    "write_sentence_counts",
]

COUNTS_FILE = "sentence_counts.json"


def config_names(folder: Path, runs: str) -> tuple[list[str], list[str]]:
    """The configurations a recipe runs: those of the comma list ``runs`` (every
    ``*.yaml`` in ``folder`` when empty), and those of them with no file in ``folder``."""
    names = [n for n in runs.split(",") if n] or sorted(p.stem for p in folder.glob("*.yaml"))
    return names, [n for n in names if not (folder / f"{n}.yaml").is_file()]


def config_differences(
    run_dir: str | Path, config: dict, ignore: tuple[str, ...] = ()
) -> list[str]:
    """The keys of ``config`` (except ``ignore``) whose value the run directory's
    ``config.yaml`` does not hold, format options read as options; sorted. A finished run
    is reused only for the configuration it ran: no difference."""
    recorded = read_config(run_dir)
    recorded = {**(recorded.get("format_options") or {}), **recorded}  # options as options
    return sorted(k for k, v in config.items() if k not in ignore and recorded.get(k) != v)


def write_sentence_counts(run_dir: str | Path, dest: str | Path) -> None:
    """``dest/sentence_counts.json`` from ``run_dir``'s predictions: the fingerprint of its
    sentences and, per sentence, true positives, predicted and gold entities."""
    pred = read_predictions(Path(run_dir) / PREDICTIONS_FILE)
    counts = sentence_counts(pred.gold, pred.pred).tolist()
    data = {"fingerprint": pred.fingerprint(), "sentences": len(counts), "counts": counts}
    write_text_atomic(Path(dest) / COUNTS_FILE, json.dumps(data, separators=(",", ":")) + "\n")


def _read_counts(run_dir: Path) -> tuple[str, np.ndarray]:
    """``(fingerprint, counts)`` of a run: from its predictions, else its counts file."""
    if (run_dir / PREDICTIONS_FILE).is_file():
        pred = read_predictions(run_dir / PREDICTIONS_FILE)
        return pred.fingerprint(), sentence_counts(pred.gold, pred.pred)
    path = run_dir / COUNTS_FILE
    try:
        data = json.loads(path.read_text())
        counts = np.asarray(data["counts"], dtype=np.int64).reshape(-1, 3)
        if len(counts) != data["sentences"]:
            raise ValueError(f"{len(counts)} rows of counts for {data['sentences']} sentences")
        return str(data["fingerprint"]), counts
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise InputError(
            f"{path}: expected {{'fingerprint', 'sentences', 'counts': [[tp, predicted, gold], "
            f"...]}} ({err})"
        ) from err


def pooled_bootstrap(
    runs_a: list, runs_b: list, n_resamples: int = 1000, seed: int = 0
) -> dict | None:
    """Paired bootstrap of two configurations over their pooled (seed, sentence) pairs.

    Run directories are named ``NAME-sSEED``; the seeds both configurations ran are
    paired seed by seed, and the two runs of every pair must be on the same sentences.
    Each run is read from its ``predictions.conll`` or, without it, its
    ``sentence_counts.json``.

    Args:
        runs_a: run directories of configuration A, one per seed.
        runs_b: those of configuration B, with the same seeds.
        n_resamples: bootstrap resamples.
        seed: seed of the resampling.

    Returns:
        ``{"sentences", "seeds", "f1_a", "f1_b", "delta_f1", "ci95", "p_value"}``, or
        ``None`` when the runs cannot be paired (no common seed, or other sentences).
    """

    def by_seed(runs: list) -> dict[str, Path]:
        return {split_run_name(Path(p).name)[1]: Path(p) for p in runs}

    a_seeds, b_seeds = by_seed(runs_a), by_seed(runs_b)
    seeds = sorted(set(a_seeds) & set(b_seeds), key=lambda s: (len(s), s))
    if not seeds:
        return None
    counts_a, counts_b = [], []
    for s in seeds:
        (fa, ca), (fb, cb) = _read_counts(a_seeds[s]), _read_counts(b_seeds[s])
        if fa != fb:
            return None
        counts_a.append(ca)
        counts_b.append(cb)
    r = paired_bootstrap_counts(
        np.concatenate(counts_a), np.concatenate(counts_b), n_resamples=n_resamples, seed=seed
    )
    return {
        "sentences": r.n_sentences,
        "seeds": [int(s) if s.isdigit() else s for s in seeds],
        "f1_a": r.f1_a,
        "f1_b": r.f1_b,
        "delta_f1": r.delta,
        "ci95": [r.low, r.high],
        "p_value": r.p_value,
        "n_resamples": r.n_resamples,
    }
