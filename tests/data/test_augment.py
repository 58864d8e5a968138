"""Augmentation: every operation keeps valid IOB2, the sentence's segment structure and
the mention types; replacements come from the training pool; epochs are seeded."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmner.config import RunConfig
from llmner.data.augment import (
    AUGMENTATIONS,
    Augmenter,
    AugmentPool,
    parse_augment,
    segments,
)
from llmner.data.schemes import invalid_transitions, tags_to_spans
from llmner.data.types import Sentence
from llmner.errors import InputError

TYPES = ["PER", "LOC", "creative-work"]
words = st.lists(st.sampled_from(["a", "b", "c", "d", "Ann", "Rome", ","]), min_size=1, max_size=4)
# A sentence as segments: a run of O, or a mention of a type (adjacent mentions of one
# type included, which only the B- tag separates).
segment = st.tuples(st.sampled_from(["O", *TYPES]), words)


def _sentence(parts: list[tuple[str, list[str]]]) -> Sentence:
    tokens, tags = [], []
    for etype, ws in parts:
        tokens += ws
        tags += ["O"] * len(ws) if etype == "O" else [f"B-{etype}"] + [f"I-{etype}"] * (len(ws) - 1)
    return Sentence(tokens, tags)


sentences = st.lists(segment, min_size=1, max_size=6).map(_sentence)


def _structure(s: Sentence) -> list[str]:
    """The segment types in order, runs of O merged (what no operation may change)."""
    out: list[str] = []
    for etype, _, _ in segments(s.tags):
        if not (etype == "O" and out and out[-1] == "O"):
            out.append(etype)
    return out


@settings(max_examples=300, deadline=None)
@given(
    st.lists(sentences, min_size=1, max_size=5),
    sentences,
    st.sampled_from(sorted(AUGMENTATIONS)),
    st.floats(0.0, 1.0),
    st.integers(0, 2**32 - 1),
)
def test_operations_keep_valid_tags_types_and_structure(train, sentence, name, rate, seed):
    pool = AugmentPool.from_sentences(train)
    out = AUGMENTATIONS[name](sentence, rate, pool, random.Random(seed))
    assert len(out.tokens) == len(out.tags)
    assert not invalid_transitions(out.tags)
    assert _structure(out) == _structure(sentence)
    before = [t for t, _, _ in tags_to_spans(sentence.tags)]
    after = tags_to_spans(out.tags)
    assert [t for t, _, _ in after] == before, "same mentions, same types, same order"
    if name == "mention_replacement":
        for (etype, a, b), (_, c, d) in zip(after, tags_to_spans(sentence.tags)):
            mention = tuple(out.tokens[a:b])
            assert mention == tuple(sentence.tokens[c:d]) or mention in pool.mentions[etype]
    else:
        assert out.tags == sentence.tags
        for _, a, b in segments(sentence.tags):
            if name == "shuffle_within_segments":
                assert sorted(out.tokens[a:b]) == sorted(sentence.tokens[a:b])
            else:
                for i in range(a, b):
                    assert (
                        out.tokens[i] == sentence.tokens[i]
                        or out.tokens[i] in pool.tokens[sentence.tags[i]]
                    )


def test_rate_zero_changes_nothing_and_one_changes_every_mention():
    train = [Sentence(["Bo", "Li", "met", "Rome"], ["B-PER", "I-PER", "O", "B-LOC"])]
    pool = AugmentPool.from_sentences(train)
    s = Sentence(["Ann", "saw", "Paris", "."], ["B-PER", "O", "B-LOC", "O"])
    for name, op in AUGMENTATIONS.items():
        assert op(s, 0.0, pool, random.Random(0)) == s, name
    out = AUGMENTATIONS["mention_replacement"](s, 1.0, pool, random.Random(0))
    assert out.tokens == ["Bo", "Li", "saw", "Rome", "."]
    assert out.tags == ["B-PER", "I-PER", "O", "B-LOC", "O"]


def test_epochs_are_seeded_and_counted():
    train = [
        Sentence(["Ann", "and", "Bo", "saw", "Rome"], ["B-PER", "O", "B-PER", "O", "B-LOC"]),
        Sentence(["Paris", "is", "big", "too"], ["B-LOC", "O", "O", "O"]),
    ] * 10
    ops = tuple(AUGMENTATIONS)
    a, b = Augmenter(ops, 0.5, train, seed=3), Augmenter(ops, 0.5, train, seed=3)
    assert a.epoch(train, 0) == b.epoch(train, 0)
    assert a.epoch(train, 1) != a.epoch(train, 0)
    summary = a.summary()
    assert summary["epochs"] == 3
    assert 0 < summary["sentences_changed"] <= summary["sentences_augmented"] < 3 * len(train)
    assert sum(summary["changed_by_operation"].values()) == summary["sentences_changed"]
    refusing = Augmenter(ops, 1.0, train, seed=3)
    assert refusing.epoch(train, 0, accept=lambda old, new: False) == train
    assert refusing.summary()["sentences_refused"] > 0


@pytest.mark.parametrize(
    "augment, rate, expected",
    [
        ("synonym_replacement", 0.3, "--augment: unknown operation 'synonym_replacement'"),
        ("mention_replacement", 1.5, "--augment_rate 1.5: expected a probability in [0, 1]"),
        ("mention_replacement", -0.1, "--augment_rate -0.1"),
    ],
)
def test_bad_options_are_one_line_errors(augment, rate, expected):
    with pytest.raises(InputError, match=expected.replace("[", r"\[").replace("]", r"\]")) as e:
        RunConfig.of(quantization="none", model_kind="decoder", augment=augment,
                       augment_rate=rate)  # fmt: skip
    assert "\n" not in str(e.value)


def test_list_from_yaml_is_normalised():
    assert parse_augment(["mention_replacement", "shuffle_within_segments"]) == (
        "mention_replacement",
        "shuffle_within_segments",
    )
    cfg = RunConfig.of(quantization="none", model_kind="decoder",
                         augment=["shuffle_within_segments"])  # fmt: skip
    assert cfg.data.augment == "shuffle_within_segments"
