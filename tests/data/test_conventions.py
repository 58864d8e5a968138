"""Which splitter gives a dataset's words back from its text: round trips and the choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmner.data.conll import read_conll
from llmner.data.conventions import (
    choose_splitter,
    natural_spaces,
    round_trip,
    score_splitters,
    splitter_for_run,
)
from llmner.data.text import DEFAULT_SPLITTER, get_splitter
from llmner.data.types import Sentence

TINY_CONLL = Path(__file__).resolve().parents[1] / "assets" / "tiny.conll"


def sentence(words: str) -> Sentence:
    tokens = words.split()
    return Sentence(tokens, ["O"] * len(tokens))


# Written the way CoNLL-2003 splits words: hyphens and dotted abbreviations kept, clitics
# apart, punctuation apart.
NEWSWIRE = [
    sentence("Jean-Luc told the U.S.-based group on 2031-02-14 that it was n't over ."),
    sentence("Oslo 's mayor , Dr. Ng , met ( briefly ) St. Petersburg officials ."),
    sentence('" We won 6-4 , " said M. Ahern of Anglo-Dutch Shell .'),
]
# Written the way BC5CDR splits words: every punctuation mark apart.
BIOMEDICAL = [
    sentence("Selegiline - induced postural hypotension in Parkinson ' s disease ."),
    sentence("Naloxone ( 0 . 4 mg ) reversed the clonidine - induced effect ."),
    sentence("Rats given 5 mg i . v . vs . saline showed less injury ."),
]


@pytest.mark.parametrize(
    "words, text",
    [
        ('He said , " Oslo \'s ( $ 5 ) " .', 'He said, "Oslo\'s ($5)".'),
        ("it was n't 30 % ...", "it wasn't 30%..."),
        ("( a ) [ b ]", "(a) [b]"),
        ("x", "x"),
    ],
)
def test_natural_spaces_write_prose(words, text):
    tokens = words.split()
    assert Sentence(tokens, ["O"] * len(tokens), spaces=natural_spaces(tokens)).text == text
    assert natural_spaces([]) == []


def test_round_trip_counts_sentences_and_words_given_back():
    scores = round_trip(NEWSWIRE, "llmner")
    assert scores["sentences"] == 3 and scores["words"] == sum(map(len, NEWSWIRE))
    assert scores["sentence_accuracy"] == 0.0 and 0.5 < scores["word_accuracy"] < 1
    assert round_trip(NEWSWIRE, "ptb") == {**scores, "sentence_accuracy": 1.0, "word_accuracy": 1.0}
    natural = round_trip(NEWSWIRE, "edges", "natural")
    assert natural["sentence_accuracy"] < 1.0  # "Oslo's" and "wasn't" stay whole in edges
    assert round_trip(NEWSWIRE, "ptb", "natural")["sentence_accuracy"] == 1.0
    with pytest.raises(ValueError, match="join 'tabs'"):
        round_trip(NEWSWIRE, "ptb", "tabs")


def test_scores_cover_each_splitter_and_join():
    scores = score_splitters(BIOMEDICAL, ["llmner", "edges"])
    assert set(scores) == {"llmner", "edges"} and set(scores["edges"]) == {"spaces", "natural"}
    # Spaces alone cannot tell them apart; prose can ("i. v. vs." keep their stops in edges).
    assert scores["llmner"]["spaces"] == scores["edges"]["spaces"]
    assert scores["llmner"]["natural"]["sentence_accuracy"] == 1.0
    assert scores["edges"]["natural"]["sentence_accuracy"] < 1.0


@pytest.mark.parametrize(
    "sentences, expected",
    [(NEWSWIRE, "ptb"), (BIOMEDICAL, "llmner"), ([], DEFAULT_SPLITTER)],
    ids=["newswire", "biomedical", "none"],
)
def test_choose_splitter_finds_the_convention(sentences, expected):
    assert choose_splitter(sentences, names=["llmner", "edges", "ptb"]) == expected


def test_the_chosen_convention_round_trips_the_tiny_conll_file_exactly():
    sentences = read_conll(TINY_CONLL)
    name = choose_splitter(sentences)
    split = get_splitter(name)
    for s in sentences:
        assert [t.text for t in split(s.text)] == s.tokens
        assert [(t.start, t.end) for t in split(s.text)] == s.offsets()


def test_a_run_records_the_splitter_that_made_its_words():
    assert splitter_for_run(NEWSWIRE) == choose_splitter(NEWSWIRE) == "ptb"
    assert splitter_for_run(NEWSWIRE, made_by="llmner") == "llmner"
