"""Paired bootstrap over sentences: is run B's strict F1 really higher than run A's?

Both runs must be scored on the same sentences. Each resample draws sentences with
replacement (the same draw for both runs), recomputes seqeval's strict IOB2 micro F1 for
each run and records the difference ``F1(B) - F1(A)``. Micro F1 only needs, per
sentence, the number of true positives, predicted entities and gold entities, so those
counts are computed once with seqeval's own entity extraction and each resample is a sum.

The 95% interval is the percentile interval of the resampled differences. The p-value is
two-sided, for the null hypothesis "no difference": the resampled differences are shifted
to be centred on zero and the p-value is the share of them at least as far from zero as
the observed difference, ``(k + 1) / (n + 1)``. Identical runs give a difference of 0 and
p = 1.

Example:
    >>> gold = [["B-PER", "O"], ["B-LOC", "O"], ["O", "B-ORG"]]
    >>> sentence_counts(gold, [["B-PER", "O"], ["O", "O"], ["O", "B-LOC"]]).tolist()
    [[1, 1, 1], [0, 0, 1], [0, 1, 1]]
    >>> r = paired_bootstrap(gold, gold, gold, n_resamples=200)
    >>> r.delta, r.p_value
    (0.0, 1.0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from seqeval.scheme import IOB2, Entities

__all__ = [
    "BootstrapResult",
    "f1_from_counts",
    "paired_bootstrap",
    "paired_bootstrap_counts",
    "sentence_counts",
]


def sentence_counts(gold: list[list[str]], pred: list[list[str]]) -> np.ndarray:
    """Per sentence: true positives, predicted entities, gold entities (strict IOB2).

    Entities are extracted exactly as seqeval's ``mode="strict", scheme=IOB2`` does, so the
    summed counts reproduce :func:`llmner.eval.scoring.score`'s ``f1``.

    Returns:
        An integer array of shape ``(sentences, 3)``.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    gold_ents = Entities(gold, IOB2, False).entities
    pred_ents = Entities(pred, IOB2, False).entities
    counts = np.zeros((len(gold), 3), dtype=np.int64)
    for i, (g, p) in enumerate(zip(gold_ents, pred_ents)):
        gs = {e.to_tuple()[1:] for e in g}
        ps = {e.to_tuple()[1:] for e in p}
        counts[i] = (len(gs & ps), len(ps), len(gs))
    return counts


def f1_from_counts(tp, n_pred, n_gold):
    """Micro F1 from summed counts (arrays allowed); 0 where there is nothing to score.

    Example:
        >>> f1_from_counts(3, 4, 5)
        0.6666666666666666
        >>> f1_from_counts(0, 0, 0)
        0.0
    """
    tp, denom = np.asarray(tp, dtype=float), np.asarray(n_pred + n_gold, dtype=float)
    out = np.divide(2 * tp, denom, out=np.zeros_like(denom), where=denom > 0)
    return float(out) if out.ndim == 0 else out


@dataclass
class BootstrapResult:
    """The outcome of a paired bootstrap of ``F1(B) - F1(A)``.

    Attributes:
        f1_a: strict F1 of run A on all sentences.
        f1_b: strict F1 of run B on all sentences.
        delta: ``f1_b - f1_a``.
        low: lower end of the 95% percentile interval of the difference.
        high: upper end of that interval.
        p_value: two-sided p-value for "no difference".
        n_resamples: how many resamples were drawn.
        n_sentences: how many sentences each resample holds.
    """

    f1_a: float
    f1_b: float
    delta: float
    low: float
    high: float
    p_value: float
    n_resamples: int
    n_sentences: int

    @property
    def p_text(self) -> str:
        """The p-value for display; at the resolution floor ``1/(n+1)`` it reads ``≤``.

        Example:
            >>> BootstrapResult(0, 0, 0, 0, 0, 1 / 1001, 1000, 10).p_text
            'p ≤ 0.001'
        """
        if self.p_value <= 1 / (self.n_resamples + 1) + 1e-12:
            mag = 10 ** math.floor(math.log10(self.p_value))
            return f"p ≤ {math.ceil(self.p_value / mag - 1e-9) * mag:.1g}"
        return f"p = {self.p_value:.3f}"

    @property
    def significant(self) -> bool:
        """Whether the difference is significant at the 5% level."""
        return self.p_value < 0.05


def _bootstrap_counts(counts_a, counts_b, n_resamples, seed):
    n = len(counts_a)
    chunk = max(1, min(256, 2_000_000 // n))  # bounds memory: chunk x n x 6 counts
    rng = np.random.default_rng(seed)
    both = np.concatenate([counts_a, counts_b], axis=1)
    deltas = np.empty(n_resamples)
    for start in range(0, n_resamples, chunk):
        size = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(size, n))
        sums = both[idx].sum(axis=1)
        f1a = f1_from_counts(sums[:, 0], sums[:, 1], sums[:, 2])
        f1b = f1_from_counts(sums[:, 3], sums[:, 4], sums[:, 5])
        deltas[start : start + size] = f1b - f1a
    return deltas


def paired_bootstrap(
    gold: list[list[str]],
    pred_a: list[list[str]],
    pred_b: list[list[str]],
    n_resamples: int = 1000,
    seed: int = 0,
) -> BootstrapResult:
    """Paired bootstrap over sentences of the strict F1 difference ``B - A``.

    Args:
        gold: gold IOB2 tags, one list per sentence (shared by both runs).
        pred_a: run A's predicted tags.
        pred_b: run B's predicted tags.
        n_resamples: number of resamples (1,000 is usual).
        seed: seed of the resampling, for reproducible reports.
    """
    return paired_bootstrap_counts(
        sentence_counts(gold, pred_a), sentence_counts(gold, pred_b), n_resamples, seed
    )


def paired_bootstrap_counts(
    counts_a: np.ndarray, counts_b: np.ndarray, n_resamples: int = 1000, seed: int = 0
) -> BootstrapResult:
    """:func:`paired_bootstrap` from each run's :func:`sentence_counts` on the same
    sentences, in the same order: what a run's predictions come to, without their text.

    Example:
        >>> a, b = np.array([[1, 1, 1], [0, 1, 1]]), np.array([[1, 1, 1], [1, 1, 1]])
        >>> r = paired_bootstrap_counts(a, b, n_resamples=100)
        >>> r.f1_a, r.f1_b, r.n_sentences
        (0.5, 1.0, 2)
    """
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    counts_a, counts_b = np.asarray(counts_a), np.asarray(counts_b)
    if counts_a.shape != counts_b.shape:
        raise ValueError(f"counts of {len(counts_a)} and {len(counts_b)} sentences")
    if len(counts_a) == 0:
        raise ValueError("no sentences to resample")
    f1_a = f1_from_counts(*counts_a.sum(axis=0))
    f1_b = f1_from_counts(*counts_b.sum(axis=0))
    delta = f1_b - f1_a
    deltas = _bootstrap_counts(counts_a, counts_b, n_resamples, seed)
    low, high = np.percentile(deltas, [2.5, 97.5])
    centred = np.abs(deltas - delta)
    extreme = int(np.sum(centred >= abs(delta) - 1e-12))
    return BootstrapResult(
        f1_a=f1_a,
        f1_b=f1_b,
        delta=float(delta),
        low=float(low),
        high=float(high),
        p_value=(extreme + 1) / (n_resamples + 1),
        n_resamples=n_resamples,
        n_sentences=len(counts_a),
    )
