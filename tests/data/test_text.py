"""The raw-text word splitters: offsets always slice back to tokens, whichever splitter."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmner.data.text import (
    SPLITTERS,
    available_splitters,
    gaps_to_spaces,
    get_splitter,
    is_separator,
    tokenize,
)
from llmner.errors import InputError

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


@pytest.mark.parametrize("name", available_splitters())
@given(text=texts)
@settings(max_examples=300, deadline=None)
def test_offsets_slice_back_to_tokens(name, text):
    tokens = get_splitter(name)(text)
    prev_end = 0
    for tok in tokens:
        assert text[tok.start : tok.end] == tok.text
        assert tok.text and tok.start >= prev_end
        assert not any(is_separator(ch) for ch in tok.text), tok
        prev_end = tok.end
    assert len(gaps_to_spaces(text, tokens)) == len(tokens)


@pytest.mark.parametrize("name", available_splitters())
@given(text=texts, offset=st.integers(0, 1000))
@settings(max_examples=50, deadline=None)
def test_every_splitter_shifts_by_its_offset(name, text, offset):
    split = get_splitter(name)
    assert [(t.start - offset, t.end - offset) for t in split(text, offset)] == [
        (t.start, t.end) for t in split(text)
    ]


@given(texts, st.integers(0, 1000))
def test_offset_argument_shifts(text, offset):
    assert [(t.start - offset, t.end - offset) for t in tokenize(text, offset)] == [
        (t.start, t.end) for t in tokenize(text)
    ]


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


SPLIT = {
    # text: {splitter: words}
    "Jean-Luc's U.S.-based aides (2031-02-14).": {
        "llmner": ["Jean", "-", "Luc", "'", "s", "U", ".", "S", ".", "-", "based", "aides",
                   "(", "2031", "-", "02", "-", "14", ")", "."],
        "edges": ["Jean-Luc's", "U.S.-based", "aides", "(", "2031-02-14", ")", "."],
        "ptb": ["Jean-Luc", "'s", "U.S.-based", "aides", "(", "2031-02-14", ")", "."],
    },
    "I'm at @ana's &amp; #NER :) w/ Dr. M. Ng": {
        "edges": ["I'm", "at", "@ana's", "&amp;", "#NER", ":)", "w", "/", "Dr.", "M.", "Ng"],
        "ptb": ["I", "'m", "at", "@ana", "'s", "&amp;", "#NER", ":)", "w", "/", "Dr.", "M.",
                "Ng"],
    },
    "1. Oslo won $3.50 , .5% more 'Rome' don't": {
        "edges": ["1.", "Oslo", "won", "$3.50", ",", ".5", "%", "more", "'", "Rome", "'",
                  "don't"],
        "ptb": ["1.", "Oslo", "won", "$", "3.50", ",", ".5", "%", "more", "'", "Rome", "'", "do",
                "n't"],
    },
    "Oslo won 1. Then 's and ?! ... \"Rome.\"": {
        "edges": ["Oslo", "won", "1", ".", "Then", "'s", "and", "?!", "...", '"', "Rome", ".",
                  '"'],
    },
}  # fmt: skip


@pytest.mark.parametrize(
    "text, name, words",
    [(t, n, w) for t, by in SPLIT.items() for n, w in by.items()],
    ids=[f"{n}-{i}" for i, by in enumerate(SPLIT.values()) for n in by],
)
def test_splitter_examples(text, name, words):
    assert [t.text for t in get_splitter(name)(text)] == words


def test_spacy_splits_as_spacy_does():
    spacy = pytest.importorskip("spacy")
    text = "Jean-Luc's\u200bU.S. visit  \n(2031-02-14)."
    doc = spacy.blank("en")(text)
    expected = [t.text for t in doc if not t.is_space]
    expected = [w for t in expected for w in t.split("\u200b")]  # a separator cuts a token
    assert [t.text for t in get_splitter("spacy")(text)] == expected
    assert "spacy" in available_splitters()


def test_the_registry_names_its_choices():
    assert list(SPLITTERS)[0] == "llmner" and get_splitter(None) is tokenize
    with pytest.raises(InputError, match="splitter 'moses': expected one of llmner, edges"):
        get_splitter("moses")


def test_a_splitter_whose_package_is_missing_is_one_line(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "spacy" else real(name, *a)
    )
    assert "spacy" not in available_splitters()
    with pytest.raises(InputError, match="splitter 'spacy' needs spacy: pip install spacy"):
        get_splitter("spacy")
