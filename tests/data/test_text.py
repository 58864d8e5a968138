"""The raw-text tokenizer and sentence splitter: offsets always slice back to tokens."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmner.data.text import gaps_to_spaces, split_sentences, tokenize

ODD = [
    "\u200b",
    "\ufeff",
    "\u00a0",
    "\u0301",
    "\u0308",
    "\u200d",
    "\u200c",
    "\u200f",
    "\u202e",
    "👍",
    "🏽",
    "👩\u200d💻",
    "🇫🇷",
    "ש",
    "ل",
    "\u3000",
    "\t",
    "\n",
    "\r",
    "\u00ad",
    "\u2060",
    ".",
    ",",
    "-",
    "'",
    "1",
    "A",
    "é",
    "\U0001d49c",
]
texts = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(ODD + [" ", "word", "3.5"]), max_size=30).map("".join),
)


@given(texts)
@settings(max_examples=300)
def test_offsets_slice_back_to_tokens(text):
    tokens = tokenize(text)
    prev_end = 0
    for tok in tokens:
        assert text[tok.start : tok.end] == tok.text
        assert tok.text and tok.start >= prev_end
        assert not tok.text[0].isspace() and not tok.text[-1].isspace()
        assert "\u200b" not in tok.text and "\ufeff" not in tok.text
        prev_end = tok.end
    assert len(gaps_to_spaces(text, tokens)) == len(tokens)


@given(texts, st.integers(0, 1000))
def test_offset_argument_shifts(text, offset):
    assert [(t.start - offset, t.end - offset) for t in tokenize(text, offset)] == [
        (t.start, t.end) for t in tokenize(text)
    ]


@given(texts)
@settings(max_examples=500)
def test_sentences_cover_every_token(text):
    spans = split_sentences(text)
    for (s, e), (s2, _) in zip(spans, spans[1:]):
        assert s < e <= s2
    inside = [t for s, e in spans for t in tokenize(text[s:e], s)]
    assert inside == tokenize(text)


@pytest.mark.parametrize(
    "text, tokens",
    [
        ("Zoë's café", ["Zoë", "'", "s", "café"]),
        ("e\u0301te\u0301", ["e\u0301te\u0301"]),
        ("a\u200bb\ufeffc", ["a", "b", "c"]),
        ("👩\u200d💻 rocks🇫🇷!", ["👩\u200d💻", "rocks", "🇫🇷", "!"]),
        ("שלום, עולם", ["שלום", ",", "עולם"]),
        ("£1,200.50 or 3.5%", ["£", "1,200.50", "or", "3.5", "%"]),
        ("Wait... what?!", ["Wait", "...", "what", "?", "!"]),
        ("co\u00adoperate", ["co\u00adoperate"]),
        ("می\u200cخواهم", ["می\u200cخواهم"]),
    ],
    ids=[
        "apostrophe",
        "combining",
        "zero-width",
        "emoji",
        "rtl",
        "numbers",
        "punct-runs",
        "soft-hyphen",
        "zwnj-in-word",
    ],
)
def test_tokenize_examples(text, tokens):
    assert [t.text for t in tokenize(text)] == tokens


@pytest.mark.parametrize(
    "text, sentences",
    [
        ("Mr. Lee left. He came back!", ["Mr. Lee left.", "He came back!"]),
        ("J. R. Smith won. Then 3 more.", ["J. R. Smith won.", "Then 3 more."]),
        ('He said "Stop." Then he left.', ['He said "Stop."', "Then he left."]),
        ("one\n\ntwo", ["one", "two"]),
        ("no end", ["no end"]),
        ("你好。再见", ["你好。", "再见"]),
        ("", []),
    ],
    ids=["abbreviation", "initials", "quote", "paragraph", "no-stop", "cjk", "empty"],
)
def test_split_sentences_examples(text, sentences):
    assert [text[s:e] for s, e in split_sentences(text)] == sentences
