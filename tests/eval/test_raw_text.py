"""F1 on a test set's words against F1 on the same text split again (raw text)."""

from __future__ import annotations

import pytest

from llmner.data.types import Sentence
from llmner.eval.raw_text import char_spans, score_raw_text, span_scores

NAMES = {"Jean-Luc": "PER", "U.S.": "LOC", "Oslo": "LOC", "Rome": "LOC"}


def gold(words: str) -> Sentence:
    tokens = words.split()
    return Sentence(tokens, [f"B-{NAMES[w]}" if w in NAMES else "O" for w in tokens])


SENTENCES = [
    gold("Jean-Luc flew to the U.S. on Monday ."),
    gold("Oslo won . Rome lost ."),  # one sentence in the data, two to the raw-text splitter
    gold("It rained"),
]


class Tagger:
    """Tags a word it knows as a one-word entity, as a model trained on these words would."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, sentences: list[Sentence]) -> list[list[str]]:
        self.calls.append(len(sentences))
        return [[f"B-{NAMES[w]}" if w in NAMES else "O" for w in s.tokens] for s in sentences]


def test_words_split_like_the_data_score_as_the_words_do():
    result = score_raw_text(Tagger(), SENTENCES, splitter="ptb")
    assert result["word"]["f1"] == result["raw"]["f1"] == 1.0 and result["f1_gap"] == 0.0
    assert result["word"]["gold"] == 4 and result["splitter"] == "ptb"
    assert result["sentences"] == 3 and result["sentences_cut"] == 1
    assert result["sentences_with_other_words"] == 0
    assert result["words"] == result["raw_words"] == sum(map(len, SENTENCES))


def test_words_split_finer_than_the_data_lose_their_entities():
    result = score_raw_text(Tagger(), SENTENCES)  # llmner: Jean - Luc, U . S .
    assert result["splitter"] == "llmner" and result["word"]["f1"] == 1.0
    assert result["raw"]["recall"] == 0.5 and result["raw"]["precision"] == 1.0
    assert result["f1_gap"] == pytest.approx(2 / 3 - 1)
    assert result["sentences_with_other_words"] == 1 and result["raw_words"] > result["words"]
    assert "character spans" in result["scoring"]


def test_given_word_tags_are_not_predicted_again_and_must_match():
    tagger = Tagger()
    word_tags = Tagger()(SENTENCES)
    score_raw_text(tagger, SENTENCES, "ptb", word_tags=word_tags)
    assert tagger.calls == [4]  # the raw pieces only: 3 texts, one cut in two
    with pytest.raises(ValueError, match="2 tag lists for 3 sentences"):
        score_raw_text(tagger, SENTENCES, word_tags=word_tags[:2])


def test_max_words_cuts_raw_pieces():
    tagger = Tagger()
    result = score_raw_text(tagger, SENTENCES[:1], "ptb", max_words=3)
    assert tagger.calls == [1, 3] and result["sentences_cut"] == 1
    assert result["raw"]["f1"] == 1.0


def test_spans_and_scores():
    assert char_spans(SENTENCES[:2]) == {
        (0, 0, 8, "PER"), (0, 21, 25, "LOC"), (1, 0, 4, "LOC"), (1, 11, 15, "LOC"),
    }  # fmt: skip
    assert span_scores(set(), set())["f1"] == 0.0
    s = span_scores({1, 2}, {2, 3, 4})
    assert (s["precision"], s["recall"], s["predicted"]) == (1 / 3, 0.5, 3)
