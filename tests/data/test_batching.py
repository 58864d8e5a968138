"""Token-budget batching: every example once, no batch over its budget."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmner.data.batching import (
    TokenBudgetSampler,
    accumulation_steps_for,
    pack_by_tokens,
    padded_tokens,
)

lengths_st = st.lists(st.integers(1, 64), min_size=1, max_size=200)


@given(lengths_st, st.integers(64, 600), st.one_of(st.none(), st.integers(1, 20)))
@settings(max_examples=200, deadline=None)
def test_pack_fits_budget_and_covers_every_example_once(lengths, budget, cap):
    batches = pack_by_tokens(sorted(lengths), budget, max_examples=cap)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    srt = sorted(lengths)
    for b in batches:
        assert b and padded_tokens([srt[i] for i in b]) <= budget
        assert cap is None or len(b) <= cap


def test_pack_refuses_an_example_over_the_budget():
    with pytest.raises(ValueError, match="exceeds the budget of 8"):
        pack_by_tokens([3, 9], max_tokens=8)


@given(lengths_st, st.integers(64, 600), st.integers(0, 3))
@settings(max_examples=100, deadline=None)
def test_sampler_epochs_cover_every_example_once_within_budget(lengths, budget, epoch):
    sampler = TokenBudgetSampler(lengths, sentences_per_step=16, max_tokens=budget, seed=3)
    sampler.set_epoch(epoch)
    batches = list(sampler)
    assert len(batches) == len(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(padded_tokens([lengths[i] for i in b]) <= budget for b in batches)


def test_sampler_shuffles_per_epoch_and_repeats_per_seed():
    lengths = [5 + (i * 7) % 40 for i in range(300)]
    a = TokenBudgetSampler(lengths, 16, 256, seed=1)
    b = TokenBudgetSampler(lengths, 16, 256, seed=1)
    first = list(a)
    assert first == list(b)
    a.set_epoch(1)
    assert list(a) != first
    assert len(list(a)) == len(first)


def test_accumulation_keeps_the_effective_batch_in_tokens():
    # 16 sentences of 64 tokens are 1024 tokens: two budgets of 512
    assert accumulation_steps_for([64] * 10, 16, 512) == 2
    assert accumulation_steps_for([10] * 10, 4, 512) == 1
    sampler = TokenBudgetSampler([64] * 160, sentences_per_step=16, max_tokens=512)
    per_step = sum(len(b) for b in list(sampler)[: sampler.accumulation_steps])
    assert per_step == 16


def test_a_budget_beyond_a_step_does_not_merge_steps():
    """16 sentences of 64 tokens make a step of 1,024 tokens: a budget of 4,096 must not
    put 64 sentences in one step."""
    sampler = TokenBudgetSampler([64] * 160, sentences_per_step=16, max_tokens=4096)
    assert sampler.accumulation_steps == 1
    assert all(len(b) == 16 for b in sampler)
