import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmner.eval.scoring import score
from llmner.report.bootstrap import f1_from_counts, paired_bootstrap, sentence_counts

from .conftest import corrupt, synthetic_gold

TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.integers(1, 6).flatmap(
            lambda n: st.tuples(
                st.lists(st.sampled_from(TAGS), min_size=n, max_size=n),
                st.lists(st.sampled_from(TAGS), min_size=n, max_size=n),
            )
        ),
        min_size=1,
        max_size=6,
    )
)
def test_counts_reproduce_seqeval_strict_f1(pairs):
    """Summed per-sentence counts give exactly llmner's headline (seqeval strict) F1,
    invalid I- tags included."""
    gold = [g for g, _ in pairs]
    pred = [p for _, p in pairs]
    f1 = f1_from_counts(*sentence_counts(gold, pred).sum(axis=0))
    assert f1 == pytest.approx(score(gold, pred)["f1"], abs=1e-12)


def test_identical_runs_differ_by_zero_with_p_one():
    gold = synthetic_gold(200)
    pred = corrupt(gold, 0.3)
    r = paired_bootstrap(gold, pred, pred, n_resamples=500)
    assert r.delta == 0.0 and r.low == 0.0 and r.high == 0.0
    assert r.p_value == pytest.approx(1.0)
    assert not r.significant


def test_clearly_better_run_is_significant():
    gold = synthetic_gold(300)
    worse, better = corrupt(gold, 0.5, seed=1), corrupt(gold, 0.1, seed=2)
    r = paired_bootstrap(gold, worse, better, n_resamples=1000)
    assert r.delta > 0.2
    assert r.p_value < 0.05 and r.significant
    assert 0 < r.low < r.delta < r.high


def test_swapping_runs_negates_the_difference():
    gold = synthetic_gold(150)
    a, b = corrupt(gold, 0.4, seed=1), corrupt(gold, 0.2, seed=2)
    ab = paired_bootstrap(gold, a, b, n_resamples=300, seed=5)
    ba = paired_bootstrap(gold, b, a, n_resamples=300, seed=5)
    assert ab.delta == pytest.approx(-ba.delta)
    assert ab.p_value == pytest.approx(ba.p_value)
    assert ab.low == pytest.approx(-ba.high)


def test_small_difference_on_few_sentences_is_not_significant():
    gold = synthetic_gold(30)
    a = corrupt(gold, 0.3, seed=1)
    b = [list(t) for t in a]
    b[0] = list(gold[0])  # one sentence fixed
    r = paired_bootstrap(gold, a, b, n_resamples=1000)
    assert r.delta >= 0 and r.p_value > 0.05


def test_seed_makes_it_reproducible():
    gold = synthetic_gold(100)
    a, b = corrupt(gold, 0.4, seed=1), corrupt(gold, 0.3, seed=2)
    r1 = paired_bootstrap(gold, a, b, n_resamples=200, seed=3)
    r2 = paired_bootstrap(gold, a, b, n_resamples=200, seed=3)
    assert r1 == r2


def test_f1_from_counts_vectorised():
    out = f1_from_counts(np.array([1, 0]), np.array([2, 0]), np.array([2, 0]))
    assert out.tolist() == [0.5, 0.0]


def test_bad_arguments():
    with pytest.raises(ValueError, match="n_resamples"):
        paired_bootstrap([["O"]], [["O"]], [["O"]], n_resamples=0)
    with pytest.raises(ValueError, match="sentences"):
        sentence_counts([["O"]], [])
