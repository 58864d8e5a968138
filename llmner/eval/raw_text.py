"""F1 on a test set's own words and on the same text raw.

A model is scored on the words its data gives; users send text, which llmner cuts into
sentences and words again (:mod:`llmner.data.sentences`). :func:`score_raw_text` scores
both on the same characters, so the cost of that second split is a number: each test
sentence's text (its words joined by spaces, or as its ``spaces`` say) is predicted once
as words and once as raw text, and the entities of both, as character spans, are compared
with the gold entities as exact ``(start, end, type)`` matches.

Example:
    >>> from llmner.data.types import Sentence
    >>> gold = [Sentence(["Jean-Luc", "spoke", "."], ["B-PER", "O", "O"])]
    >>> def tag(sentences):  # tags the first word of every sentence as a person
    ...     return [["B-PER"] + ["O"] * (len(s) - 1) for s in sentences]
    >>> r = score_raw_text(tag, gold, splitter="llmner")
    >>> r["word"]["f1"], r["raw"]["f1"], r["sentences_with_other_words"]
    (1.0, 0.0, 1)
    >>> score_raw_text(tag, gold, splitter="edges")["raw"]["f1"]
    1.0
"""

from __future__ import annotations

from collections.abc import Callable

from llmner.data.schemes import tags_to_spans
from llmner.data.sentences import entities_from_tags, sentence_of, text_pieces
from llmner.data.text import DEFAULT_SPLITTER
from llmner.data.types import Sentence

__all__ = ["RAW_TEXT_SCORING", "char_spans", "score_raw_text", "span_scores"]

RAW_TEXT_SCORING = (
    "exact character spans (start, end, type) in each sentence's text, micro-averaged; "
    "entities read from IOB2 tags as llmner.data.schemes.tags_to_spans reads them"
)


def span_scores(gold: set, pred: set) -> dict:
    """Micro precision, recall and F1 of exact matches between two sets of entities.

    Example:
        >>> span_scores({(0, 0, 3, "PER"), (0, 8, 12, "LOC")}, {(0, 0, 3, "PER")})["f1"]
        0.6666666666666666
    """
    tp = len(gold & pred)
    p = tp / len(pred) if pred else 0.0
    r = tp / len(gold) if gold else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": p, "recall": r, "f1": f1, "gold": len(gold), "predicted": len(pred)}


def char_spans(sentences: list[Sentence], tags: list[list[str]] | None = None) -> set:
    """The entities of ``tags`` (default: each sentence's own) as ``(sentence index, start,
    end, type)``, offsets into the sentence's text.

    Example:
        >>> char_spans([Sentence(["Bo", "Li", "ran"], ["B-PER", "I-PER", "O"])])
        {(0, 0, 5, 'PER')}
    """
    tags = [s.tags for s in sentences] if tags is None else tags
    out = set()
    for i, (sentence, t) in enumerate(zip(sentences, tags)):
        offsets = sentence.offsets()
        out |= {(i, offsets[a][0], offsets[b - 1][1], e) for e, a, b in tags_to_spans(t)}
    return out


def score_raw_text(
    tag: Callable[[list[Sentence]], list[list[str]]],
    sentences: list[Sentence],
    splitter: str | None = None,
    max_words: int | None = None,
    word_tags: list[list[str]] | None = None,
) -> dict:
    """Scores of ``tag`` on the words of ``sentences`` and on their text split again.

    Args:
        tag: IOB2 tags for a list of sentences (``NERModel.tag``, or a format's
            ``predict(model, sentences).tags``).
        sentences: gold sentences (a test split).
        splitter: the word splitter for the raw text (default ``llmner``): the run's.
        max_words: cut raw sentences longer than this, as ``NERModel.predict`` does for
            generative models (``None``: never).
        word_tags: ``tag(sentences)`` when already predicted (saves predicting twice).

    Returns:
        ``word`` and ``raw`` (each ``precision``, ``recall``, ``f1``, ``gold``,
        ``predicted``), ``f1_gap`` (raw F1 minus word F1), ``splitter``, ``sentences``,
        ``sentences_cut`` (texts the sentence splitter cut into several pieces),
        ``sentences_with_other_words`` (texts whose raw words differ from the data's),
        ``words``, ``raw_words`` and ``scoring``.
    """
    splitter = splitter or DEFAULT_SPLITTER
    texts = [s.text for s in sentences]
    gold = char_spans(sentences)
    word_tags = tag(sentences) if word_tags is None else word_tags
    if len(word_tags) != len(sentences):
        raise ValueError(f"{len(word_tags)} tag lists for {len(sentences)} sentences")
    word_pred = char_spans(sentences, word_tags)
    pieces = text_pieces(texts, max_words, splitter)
    raw_tags = tag([sentence_of(toks, texts[i]) for i, toks in pieces]) if pieces else []
    raw_pred = {
        (i, e["start"], e["end"], e["label"])
        for (i, toks), t in zip(pieces, raw_tags)
        for e in entities_from_tags(texts[i], toks, t)
    }
    raw_words: dict[int, list] = {}
    cut: dict[int, int] = {}
    for i, toks in pieces:
        raw_words.setdefault(i, []).extend((t.start, t.end) for t in toks)
        cut[i] = cut.get(i, 0) + 1
    word, raw = span_scores(gold, word_pred), span_scores(gold, raw_pred)
    return {
        "splitter": splitter,
        "word": word,
        "raw": raw,
        "f1_gap": raw["f1"] - word["f1"],
        "sentences": len(sentences),
        "sentences_cut": sum(n > 1 for n in cut.values()),
        "sentences_with_other_words": sum(
            raw_words.get(i, []) != s.offsets() for i, s in enumerate(sentences)
        ),
        "words": sum(map(len, sentences)),
        "raw_words": sum(map(len, raw_words.values())),
        "scoring": RAW_TEXT_SCORING,
    }
