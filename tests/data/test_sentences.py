"""Raw text to sentences of words: sentence boundaries, pieces, entities back to characters."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from llmner.data.sentences import (
    entities_from_tags,
    sentence_of,
    sentences_from_text,
    split_sentences,
)
from llmner.data.text import available_splitters, get_splitter, tokenize

from .test_text import texts


@given(texts)
@settings(max_examples=500)
def test_sentences_cover_every_token(text):
    spans = split_sentences(text)
    for (s, e), (s2, _) in zip(spans, spans[1:]):
        assert s < e <= s2
    inside = [t for s, e in spans for t in tokenize(text[s:e], s)]
    assert inside == tokenize(text)


DOTTED = "The U.S. Army and F.A. Cup at 7 a.m. EST."
MONTHS = "Seen by then-U.S. envoys on Jan. 10 in Fla. Today."
QUOTED = 'He said " it is over . " Then it rained .'
DECIMALS = "less than 0 . 05 ) ; P < . 001 , 8 vs . 30"


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
        (DOTTED, [DOTTED]),
        (MONTHS, [MONTHS]),
        (QUOTED, ['He said " it is over . "', "Then it rained ."]),
        ('" We won . " They left .', ['" We won . "', "They left ."]),
        ("won . \"", ['won . "']),
        ("1. Mara Olsen ( Norway ) 25.76", ["1. Mara Olsen ( Norway ) 25.76"]),
        ("2. Oslo won. 3. Rome lost.", ["2. Oslo won.", "3. Rome lost."]),
        (DECIMALS, [DECIMALS]),
        ("It fell . 2 more fell", ["It fell . 2 more fell"]),
        ("It fell. Oslo won.\n\n\" Next", ["It fell.", "Oslo won.", '" Next']),
    ],
    ids=[
        "abbreviation", "initials", "quote", "paragraph", "no-stop", "cjk", "empty", "dotted",
        "hyphen-dotted-month-state", "spaced-closing-quote", "quote-pair", "lone-quote",
        "list-number", "list-numbers", "spaced-decimals", "spaced-stop-before-number",
        "blank-line-stays",
    ],
)  # fmt: skip
def test_split_sentences_examples(text, sentences):
    assert [text[s:e] for s, e in split_sentences(text)] == sentences


@pytest.mark.parametrize("name", available_splitters())
@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "!!! ... ???", "\u200b\ufeff", "word " * 20_000, "x" * 100_000],
    ids=["empty", "whitespace", "no-letters", "zero-width", "100k-no-end", "one-long-word"],
)
def test_bad_input_gives_words_or_none(name, text):
    sentences = sentences_from_text(text, max_words=64, splitter=name)
    words = [t for s in sentences for t in s]
    assert all(0 < len(s) <= 64 for s in sentences)
    assert all(text[t.start : t.end] == t.text for t in words)
    assert bool(words) == any(ch.isalnum() or ch in "!.?" for ch in text)


@pytest.mark.parametrize("name", available_splitters())
def test_pieces_use_the_named_splitter_with_offsets_into_the_text(name):
    text = "Intro.  Jean-Luc's U.S. visit (2031-02-14). Done!"
    sentences = sentences_from_text(text, splitter=name)
    start = text.index("Jean")
    assert sentences[1] == get_splitter(name)(text[start : text.index(" Done")], start)


def test_entities_map_back_to_the_characters_of_the_text():
    text = "Ada  met Bo Li."
    tokens = [t for s in sentences_from_text(text) for t in s]
    sentence = sentence_of(tokens, text)
    assert sentence.tokens == ["Ada", "met", "Bo", "Li", "."]
    assert sentence.spaces == [True, True, True, False, False]
    ents = entities_from_tags(text, tokens, ["B-PER", "O", "B-PER", "I-PER", "O"], {(2, 4): 0.5})
    assert [(e["text"], e.get("score")) for e in ents] == [("Ada", None), ("Bo Li", 0.5)]
    assert all(text[e["start"] : e["end"]] == e["text"] for e in ents)
