"""Runs of one configuration at several seeds (``NAME-sSEED``), as the benchmark handles
them: a finished run is reused only for the configuration it ran, and two configurations
are compared by a paired bootstrap over the seeds both ran.
"""

from __future__ import annotations

from pathlib import Path

from llmner.report.bootstrap import paired_bootstrap
from llmner.rundir import read_config, read_predictions, split_run_name

__all__ = ["config_differences", "config_names", "pooled_bootstrap"]


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


def pooled_bootstrap(
    runs_a: list, runs_b: list, n_resamples: int = 1000, seed: int = 0
) -> dict | None:
    """Paired bootstrap of two configurations over their pooled (seed, sentence) pairs.

    Run directories are named ``NAME-sSEED``; the seeds both configurations ran are
    paired seed by seed, and the predictions of every pair must be on the same sentences.

    Args:
        runs_a: run directories of configuration A, one per seed.
        runs_b: those of configuration B, with the same seeds.
        n_resamples: bootstrap resamples.
        seed: seed of the resampling.

    Returns:
        ``{"sentences", "seeds", "f1_a", "f1_b", "delta_f1", "ci95", "p_value"}``, or
        ``None`` when the runs cannot be paired (no common seed, or other sentences).
    """

    def by_seed(runs: list) -> dict[str, object]:
        return {split_run_name(Path(p).name)[1]: p for p in runs}

    a_seeds, b_seeds = by_seed(runs_a), by_seed(runs_b)
    seeds = sorted(set(a_seeds) & set(b_seeds), key=lambda s: (len(s), s))
    if not seeds:
        return None
    gold, pred_a, pred_b = [], [], []
    for s in seeds:
        pa = read_predictions(f"{a_seeds[s]}/predictions.conll")
        pb = read_predictions(f"{b_seeds[s]}/predictions.conll")
        if pa.fingerprint() != pb.fingerprint():
            return None
        gold += pa.gold
        pred_a += pa.pred
        pred_b += pb.pred
    r = paired_bootstrap(gold, pred_a, pred_b, n_resamples=n_resamples, seed=seed)
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
