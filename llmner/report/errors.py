"""Error analysis in the SemEval-2013 / nervaluate categories.

Each predicted entity and each gold entity of a sentence ends in exactly one category:

* ``correct``: a prediction with the exact boundaries and type of a gold entity;
* ``wrong_type``: exact boundaries of a gold entity, another type;
* ``wrong_boundary``: overlaps a gold entity of its type, boundaries differ;
* ``wrong_boundary_type``: overlaps gold entities only of other types, boundaries differ;
* ``missed``: a gold entity that no prediction touches;
* ``spurious``: a prediction that touches no gold entity.

Predictions are matched in that order of preference (exact match first). Every
category except ``spurious`` is filed under the gold entity's type; ``spurious`` under the
predicted type. Entities are read as seqeval's strict IOB2 mode reads them (an ``I-`` tag
that does not continue an entity is no entity), so ``correct`` counts the true positives
of the headline strict F1.

Example:
    >>> gold = ["B-PER", "I-PER", "O", "B-LOC", "O", "B-ORG"]
    >>> pred = ["B-PER", "O", "O", "B-ORG", "B-MISC", "O"]
    >>> [(e.category, e.type) for e in classify(gold, pred)]
    [('wrong_boundary', 'PER'), ('wrong_type', 'LOC'), ('spurious', 'MISC'), ('missed', 'ORG')]
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from seqeval.scheme import IOB2, Entities

__all__ = [
    "CATEGORIES",
    "ErrorExample",
    "Outcome",
    "category_table",
    "classify",
    "collect_examples",
    "strict_spans",
]

CATEGORIES = (
    "correct",
    "wrong_type",
    "wrong_boundary",
    "wrong_boundary_type",
    "missed",
    "spurious",
)

Span = tuple[str, int, int]


@dataclass(frozen=True)
class Outcome:
    """One entity's category.

    Attributes:
        category: one of :data:`CATEGORIES`.
        type: the entity type it is filed under.
        gold: the gold span ``(type, start, end)`` concerned, if any.
        pred: the predicted span concerned, if any.
    """

    category: str
    type: str
    gold: Span | None
    pred: Span | None


def strict_spans(tags: list[str]) -> list[Span]:
    """Entities as seqeval strict IOB2 reads them, as ``(type, start, end)``.

    Example:
        >>> strict_spans(["B-PER", "I-PER", "O", "I-LOC"])
        [('PER', 0, 2)]
    """
    return [(e.tag, e.start, e.end) for e in Entities([tags], IOB2, False).entities[0]]


def _overlaps(a: Span, b: Span) -> bool:
    return a[1] < b[2] and b[1] < a[2]


def classify(gold_tags: list[str], pred_tags: list[str]) -> list[Outcome]:
    """The category of every predicted and gold entity of one sentence.

    Outcomes come in the order of the predicted entities, then the missed gold entities.
    """
    gold, pred = strict_spans(gold_tags), strict_spans(pred_tags)
    touched: set[Span] = set()
    decided: dict[int, Outcome] = {}
    for i, p in enumerate(pred):
        if p in gold:
            decided[i] = Outcome("correct", p[0], p, p)
            touched.add(p)
    for i, p in enumerate(pred):
        if i in decided:
            continue
        same = [g for g in gold if g[1:] == p[1:]]
        if same:
            decided[i] = Outcome("wrong_type", same[0][0], same[0], p)
            touched.add(same[0])
    for i, p in enumerate(pred):
        if i in decided:
            continue
        overlap = [g for g in gold if _overlaps(g, p)]
        same_type = [g for g in overlap if g[0] == p[0]]
        if same_type:
            decided[i] = Outcome("wrong_boundary", p[0], same_type[0], p)
        elif overlap:
            decided[i] = Outcome("wrong_boundary_type", overlap[0][0], overlap[0], p)
        else:
            decided[i] = Outcome("spurious", p[0], None, p)
        touched.update(overlap)
    outcomes = [decided[i] for i in range(len(pred))]
    outcomes += [Outcome("missed", g[0], g, None) for g in gold if g not in touched]
    return outcomes


def category_table(gold: list[list[str]], pred: list[list[str]]) -> dict[str, Counter]:
    """Counts of each category, overall (key ``"ALL"``) and per entity type.

    Example:
        >>> t = category_table([["B-PER", "O"]], [["B-PER", "B-LOC"]])
        >>> dict(t["ALL"]), dict(t["PER"])
        ({'correct': 1, 'spurious': 1}, {'correct': 1})
    """
    table: dict[str, Counter] = {"ALL": Counter()}
    for g, p in zip(gold, pred, strict=True):
        for o in classify(g, p):
            table["ALL"][o.category] += 1
            table.setdefault(o.type, Counter())[o.category] += 1
    return table


@dataclass(frozen=True)
class ErrorExample:
    """A sentence that shows a category, with the spans to highlight."""

    sentence: int
    tokens: list[str]
    outcome: Outcome
    gold_spans: list[Span]
    pred_spans: list[Span]


def collect_examples(
    tokens: list[list[str]],
    gold: list[list[str]],
    pred: list[list[str]],
    per_category: int = 3,
) -> dict[str, list[ErrorExample]]:
    """The first ``per_category`` sentences that show each category (one per sentence)."""
    out: dict[str, list[ErrorExample]] = {c: [] for c in CATEGORIES}
    for i, (toks, g, p) in enumerate(zip(tokens, gold, pred)):
        if all(len(v) >= per_category for v in out.values()):
            break
        shown: set[str] = set()
        for o in classify(g, p):
            if o.category in shown or len(out[o.category]) >= per_category:
                continue
            shown.add(o.category)
            out[o.category].append(ErrorExample(i, toks, o, strict_spans(g), strict_spans(p)))
    return out
