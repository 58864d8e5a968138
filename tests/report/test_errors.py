"""Hand-checked error categories (SemEval-2013 / nervaluate), one case per line."""

from collections import Counter

import pytest

from llmner.report.errors import CATEGORIES, category_table, classify, collect_examples

# (id, gold, pred, expected [(category, type)] in output order)
CASES = [
    ("correct", "B-PER I-PER O", "B-PER I-PER O", [("correct", "PER")]),
    ("wrong-type", "B-PER I-PER O", "B-LOC I-LOC O", [("wrong_type", "PER")]),
    ("wrong-boundary-short", "B-PER I-PER O", "B-PER O O", [("wrong_boundary", "PER")]),
    ("wrong-boundary-long", "B-PER O O", "B-PER I-PER O", [("wrong_boundary", "PER")]),
    ("wrong-boundary-and-type", "B-PER I-PER O", "O B-LOC I-LOC", [("wrong_boundary_type", "PER")]),
    ("missed", "O B-ORG O", "O O O", [("missed", "ORG")]),
    ("spurious", "O O O", "O B-ORG O", [("spurious", "ORG")]),
    (
        "exact-match-wins-over-overlap",
        "B-PER I-PER B-LOC",
        "B-PER I-PER B-LOC",
        [("correct", "PER"), ("correct", "LOC")],
    ),
    (
        "two-predictions-split-one-gold",
        "B-ORG I-ORG I-ORG",
        "B-ORG O B-ORG",
        [("wrong_boundary", "ORG"), ("wrong_boundary", "ORG")],
    ),
    (
        "same-type-overlap-preferred",
        "B-PER B-LOC O",
        "B-LOC I-LOC O",
        [("wrong_boundary", "LOC")],
    ),
    (
        "invalid-I-prediction-is-no-entity",
        "B-PER O",
        "I-PER O",
        [("missed", "PER")],
    ),
    (
        "every-category-at-once",
        "B-PER I-PER O B-LOC O B-ORG O B-MISC I-MISC O O O",
        "B-PER I-PER O B-ORG O O O B-LOC O O B-PER O",
        [
            ("correct", "PER"),
            ("wrong_type", "LOC"),
            ("wrong_boundary_type", "MISC"),
            ("spurious", "PER"),
            ("missed", "ORG"),
        ],
    ),
]


@pytest.mark.parametrize("gold, pred, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_classify(gold, pred, expected):
    got = [(o.category, o.type) for o in classify(gold.split(), pred.split())]
    assert got == expected


def test_cases_cover_every_category():
    seen = {cat for *_, expected in CASES for cat, _ in expected}
    assert seen == set(CATEGORIES)


def test_table_overall_and_per_type():
    gold = [c[1].split() for c in CASES]
    pred = [c[2].split() for c in CASES]
    table = category_table(gold, pred)
    expected = Counter(cat for *_, exp in CASES for cat, _ in exp)
    assert table["ALL"] == expected
    assert table["ORG"] == Counter({"missed": 2, "spurious": 1, "wrong_boundary": 2})
    assert sum(table["ALL"].values()) == sum(
        sum(t.values()) for k, t in table.items() if k != "ALL"
    )


def test_correct_equals_strict_true_positives():
    from llmner.report.bootstrap import sentence_counts

    from .conftest import corrupt, synthetic_gold

    gold = synthetic_gold(80)
    pred = corrupt(gold, 0.4)
    assert category_table(gold, pred)["ALL"]["correct"] == sentence_counts(gold, pred)[:, 0].sum()


def test_examples_highlight_the_concerned_spans():
    gold = [c[1].split() for c in CASES]
    pred = [c[2].split() for c in CASES]
    tokens = [[f"t{i}" for i in range(len(g))] for g in gold]
    examples = collect_examples(tokens, gold, pred, per_category=2)
    assert all(1 <= len(v) <= 2 for v in examples.values())
    ex = examples["wrong_type"][0]
    assert ex.sentence == 1
    assert ex.outcome.gold == ("PER", 0, 2) and ex.outcome.pred == ("LOC", 0, 2)
    assert examples["missed"][0].outcome.pred is None
    assert examples["spurious"][0].outcome.gold is None
