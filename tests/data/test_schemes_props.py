"""Tag schemes: golden conversions and round trips on arbitrary tag sequences."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2, Entities

from llmner.data.schemes import (
    bioes_to_iob2,
    iob1_to_iob2,
    iob2_to_bioes,
    repair_iob2,
    spans_to_tags,
    tags_to_spans,
    to_iob2,
)

TYPES = ["PER", "LOC", "B", "creative-work"]
raw_tags = st.lists(
    st.one_of(
        st.just("O"),
        st.builds(lambda p, t: f"{p}-{t}", st.sampled_from("BI"), st.sampled_from(TYPES)),
    ),
    max_size=30,
)
iob2_tags = raw_tags.map(repair_iob2)

GOLDEN = {
    "iob1-adjacent-same-type": (
        "iob1",
        ["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-LOC"],
        ["B-PER", "I-PER", "B-PER", "O", "B-LOC", "I-LOC"],
    ),
    "iob1-type-change": ("iob1", ["I-PER", "I-LOC"], ["B-PER", "B-LOC"]),
    "bioes-all-prefixes": (
        "bioes",
        ["S-PER", "B-LOC", "I-LOC", "E-LOC", "O", "S-LOC"],
        ["B-PER", "B-LOC", "I-LOC", "I-LOC", "O", "B-LOC"],
    ),
    "bilou": ("bioes", ["U-ORG", "B-X", "L-X"], ["B-ORG", "B-X", "I-X"]),
    "iob2-unchanged": ("iob2", ["B-PER", "I-PER", "O"], ["B-PER", "I-PER", "O"]),
    "empty": ("iob2", [], []),
}


@pytest.mark.parametrize("name", list(GOLDEN))
def test_golden_to_iob2(name):
    scheme, tags, expected = GOLDEN[name]
    assert to_iob2(tags, scheme) == expected


@pytest.mark.parametrize(
    "iob2, bioes",
    [
        (["B-PER"], ["S-PER"]),
        (["B-PER", "I-PER", "I-PER"], ["B-PER", "I-PER", "E-PER"]),
        (["B-PER", "B-PER", "O", "B-LOC", "I-LOC"], ["S-PER", "S-PER", "O", "B-LOC", "E-LOC"]),
    ],
    ids=["single", "three-tokens", "adjacent-and-pair"],
)
def test_golden_iob2_to_bioes(iob2, bioes):
    assert iob2_to_bioes(iob2) == bioes
    assert bioes_to_iob2(bioes) == iob2


def test_unknown_scheme():
    with pytest.raises(ValueError, match="unknown tag scheme"):
        to_iob2(["O"], "bilou2")


@given(iob2_tags)
def test_iob2_spans_iob2_round_trip(tags):
    assert spans_to_tags(tags_to_spans(tags), len(tags)) == tags


@given(iob2_tags)
def test_bioes_round_trip(tags):
    bioes = iob2_to_bioes(tags)
    assert bioes_to_iob2(bioes) == tags
    assert iob2_to_bioes(bioes_to_iob2(bioes)) == bioes
    assert tags_to_spans(bioes_to_iob2(bioes)) == tags_to_spans(tags)


def conlleval_spans(tags: list[str]) -> list[tuple[str, int, int]]:
    """An independent reader: seqeval's default mode reads tags as conlleval does (an
    ``I-`` after ``O`` or another type starts an entity, ``B-`` always does)."""
    return [(t, start, end + 1) for t, start, end in get_entities(list(tags))]


def strict_iob2_spans(tags: list[str]) -> list[tuple[str, int, int]]:
    """seqeval's strict IOB2 reader: an entity without its ``B-`` is no entity."""
    return [(e.tag, e.start, e.end) for e in Entities([list(tags)], IOB2).entities[0]]


@given(raw_tags)
def test_repair_gives_strict_iob2_with_the_spans_conlleval_reads(tags):
    repaired = repair_iob2(tags)
    assert strict_iob2_spans(repaired) == conlleval_spans(tags)
    assert tags_to_spans(tags) == conlleval_spans(tags)
    assert repair_iob2(repaired) == repaired


@given(raw_tags)
def test_iob1_converts_to_the_entities_conlleval_reads_in_iob1(tags):
    """Any tag sequence is valid IOB1 (``B-`` only separates adjacent entities of one
    type): its entities, read by conlleval, are the strict IOB2 entities of the result."""
    assert strict_iob2_spans(iob1_to_iob2(tags)) == conlleval_spans(tags)
