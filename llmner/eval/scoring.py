"""Entity-level scores with seqeval.

Two modes exist in seqeval and both are reported:

* ``strict`` (``mode="strict", scheme=IOB2``): an entity counts only when its type and its
  exact IOB2 tag sequence match. This is llmner's headline ``f1``.
* ``default`` (seqeval's conlleval-compatible mode): invalid ``I-`` tags start entities, as
  the reference ``conlleval`` script reads them. Reported as ``f1_default``.

Example:
    >>> s = score([["B-PER", "I-PER", "O"]], [["B-PER", "I-PER", "O"]])
    >>> s["f1"], s["per_type"]["PER"]["support"]
    (1.0, 1)
"""

from __future__ import annotations

import warnings

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.scheme import IOB2

__all__ = ["SCORING_MODES", "entity_agreement", "score"]

SCORING_MODES = {
    "f1": "seqeval strict, scheme IOB2",
    "f1_default": "seqeval default (conlleval-compatible)",
}


def score(gold: list[list[str]], pred: list[list[str]]) -> dict:
    """Precision, recall and F1 overall and per type.

    Args:
        gold: gold IOB2 tags, one list per sentence.
        pred: predicted IOB2 tags, aligned with ``gold``.

    Returns:
        ``precision``, ``recall``, ``f1`` (strict), ``f1_default``, ``precision_default``,
        ``recall_default`` and ``per_type`` ({type: {precision, recall, f1, support}},
        strict), plus ``scoring`` naming the modes.
    """
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold sentences but {len(pred)} predicted")
    for i, (g, p) in enumerate(zip(gold, pred)):
        if len(g) != len(p):
            raise ValueError(f"sentence {i}: {len(g)} gold tags but {len(p)} predicted")
    strict = {"mode": "strict", "scheme": IOB2, "zero_division": 0}
    with warnings.catch_warnings():
        # With no entity in gold nor prediction, seqeval's averages over entity types are
        # means of nothing and numpy warns; the per-type table is then rightly empty.
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "invalid value encountered", RuntimeWarning)
        report = classification_report(gold, pred, output_dict=True, **strict)
    per_type = {
        t: {
            "precision": float(v["precision"]),
            "recall": float(v["recall"]),
            "f1": float(v["f1-score"]),
            "support": int(v["support"]),
        }
        for t, v in report.items()
        if not t.endswith(" avg")
    }
    return {
        "precision": float(precision_score(gold, pred, **strict)),
        "recall": float(recall_score(gold, pred, **strict)),
        "f1": float(f1_score(gold, pred, **strict)),
        "precision_default": float(precision_score(gold, pred, zero_division=0)),
        "recall_default": float(recall_score(gold, pred, zero_division=0)),
        "f1_default": float(f1_score(gold, pred, zero_division=0)),
        "per_type": per_type,
        "scoring": dict(SCORING_MODES),
    }


def entity_agreement(a: set, b: set) -> float | None:
    """Entities two predictions share over the entities either found (``None`` when
    neither found any), rounded to 4 places.

    Example:
        >>> entity_agreement({(0, 0, 1, "PER")}, {(0, 0, 1, "PER"), (0, 2, 3, "LOC")})
        0.5
    """
    union = a | b
    return round(len(a & b) / len(union), 4) if union else None
