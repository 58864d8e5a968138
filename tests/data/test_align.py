"""The alignment modes over one table of cases, for the rule itself and both its callers:
the JSONL reader (annotated offsets) and the generative format (a mention's text)."""

from __future__ import annotations

import pytest

from llmner.data.align import ALIGNMENT_MODES, snap_span
from llmner.data.jsonl import record_to_sentence
from llmner.data.schemes import spans_to_tags
from llmner.data.text import tokenize
from llmner.errors import InputError
from llmner.formats.generative.align import find_spans

TEXT = "Ada Lovelace met Babbage in London."
# Ada 0..3, Lovelace 4..12, met 13..16, Babbage 17..24, in 25..27, London 28..34, . 34..35
TOKENS = tokenize(TEXT)
OFFSETS = [(t.start, t.end) for t in TOKENS]

# id, characters, then the token span (or None) in strict, contract and expand mode
CASES = [
    ("whole-words", (0, 12), (0, 2), (0, 2), (0, 2)),
    ("spaces-around", (3, 13), (1, 2), (1, 2), (1, 2)),
    ("cut-at-the-end", (0, 10), None, (0, 1), (0, 2)),
    ("cut-at-both-ends", (5, 20), None, (2, 3), (1, 4)),
    ("inside-one-word", (18, 22), None, None, (3, 4)),
    ("word-and-punctuation", (28, 35), (5, 7), (5, 7), (5, 7)),
    ("cut-before-punctuation", (29, 35), None, (6, 7), (5, 7)),
    ("only-a-space", (12, 13), None, None, None),
]
TABLE = [
    pytest.param(chars, mode, expected, id=f"{name}-{mode}")
    for name, chars, *spans in CASES
    for mode, expected in zip(ALIGNMENT_MODES, spans)
]


def test_tokens_are_as_the_table_says():
    assert [t.text for t in TOKENS] == ["Ada", "Lovelace", "met", "Babbage", "in", "London", "."]
    assert OFFSETS[1] == (4, 12) and OFFSETS[5] == (28, 34)


@pytest.mark.parametrize(("chars", "mode", "expected"), TABLE)
def test_snap_span(chars, mode, expected):
    assert snap_span(OFFSETS, *chars, mode) == expected


@pytest.mark.parametrize(("chars", "mode", "expected"), TABLE)
def test_jsonl_reader_aligns_annotated_offsets_by_the_table(chars, mode, expected):
    rec = {"text": TEXT, "label": [[*chars, "X"]]}
    if expected is None:
        with pytest.raises(InputError, match="covers no word|splits the word"):
            record_to_sentence(rec, alignment=mode)
    else:
        tags = record_to_sentence(rec, alignment=mode).tags
        assert tags == spans_to_tags([("X", *expected)], len(TOKENS))


@pytest.mark.parametrize(("chars", "mode", "expected"), TABLE)
def test_generative_format_aligns_a_mention_by_the_table(chars, mode, expected):
    found = find_spans([t.text for t in TOKENS], TEXT[slice(*chars)], mode)
    assert [f[:2] for f in found] == ([] if expected is None else [expected])


def test_strict_is_expand_when_no_token_is_cut():
    for start in range(len(TEXT)):
        for end in range(start + 1, len(TEXT) + 1):
            strict = snap_span(OFFSETS, start, end, "strict")
            assert strict is None or strict == snap_span(OFFSETS, start, end, "expand")


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown alignment mode 'loose'"):
        snap_span(OFFSETS, 0, 3, "loose")
