"""Which word splitter reproduces a dataset's own words from its text.

A model tags words; on raw text the words come from a splitter (:mod:`llmner.data.text`),
and a model does best on words split the way its training data split them. Each splitter
is scored by a round trip: join a sentence's words into text, split that text, and compare
the tokens with the words (same characters, same boundaries). Two joins are scored:

* ``spaces``: the words joined by single spaces (what a CoNLL file gives back as text);
* ``natural``: joined as English prose is written (:func:`natural_spaces`: no space before
  ``,``, ``.``, ``)`` or ``'s``, none after ``(`` or ``$``), the text users send.

:func:`choose_splitter` picks the splitter with the most sentences reproduced exactly over
both joins; a run records its name as ``splitter`` in ``config.yaml``.

Example:
    >>> from llmner.data.types import Sentence
    >>> s = [Sentence(["Jean-Luc", "visited", "the", "U.S.", "."], ["B-PER"] + ["O"] * 4)]
    >>> round_trip(s, "llmner")["sentence_accuracy"], round_trip(s, "edges")["sentence_accuracy"]
    (0.0, 1.0)
    >>> choose_splitter(s, names=["llmner", "edges", "ptb"])
    'edges'
"""

from __future__ import annotations

from llmner.data.text import DEFAULT_SPLITTER, available_splitters, get_splitter
from llmner.data.types import Sentence

__all__ = [
    "JOINS",
    "choose_splitter",
    "natural_spaces",
    "round_trip",
    "score_splitters",
    "splitter_for_run",
]

JOINS = ("spaces", "natural")
_NO_SPACE_BEFORE = set(",.;:!?%)]}»”’") | {"...", "'s", "'S", "n't", "N'T", "'re", "'ve", "'ll",
                                           "'m", "'d", "'RE", "'VE", "'LL", "'M", "'D"}  # fmt: skip
_NO_SPACE_AFTER = set("([{«“‘$£€¥#")


def natural_spaces(words: list[str]) -> list[bool]:
    """Whether each word is followed by a space when the words are written as prose.

    A word of closing punctuation or an English clitic takes no space before it; an
    opening bracket, opening quote or currency sign none after it; straight double quotes
    open and close in turn. The last word gets ``False``.

    Example:
        >>> w = ["He", "said", '"', "John", "'s", "(", "$", "5", ")", '"', "."]
        >>> Sentence(w, ["O"] * len(w), spaces=natural_spaces(w)).text
        'He said "John\\'s ($5)".'
    """
    spaces = [True] * len(words)
    open_quote = False
    for i, w in enumerate(words):
        glue_before = w in _NO_SPACE_BEFORE or (w == '"' and open_quote)
        if w == '"':
            open_quote = not open_quote
        if i and glue_before:
            spaces[i - 1] = False
        if w in _NO_SPACE_AFTER or (w == '"' and open_quote):
            spaces[i] = False
    return spaces[:-1] + [False] if spaces else []


def _joined(sentence: Sentence, join: str) -> Sentence:
    if join == "spaces":
        return Sentence(sentence.tokens, sentence.tags)
    if join == "natural":
        return Sentence(sentence.tokens, sentence.tags, spaces=natural_spaces(sentence.tokens))
    raise ValueError(f"join {join!r}: expected one of {', '.join(JOINS)}")


def round_trip(sentences: list[Sentence], splitter: str, join: str = "spaces") -> dict:
    """How well ``splitter`` gives back the words of ``sentences`` from their text.

    Returns:
        ``sentences``, ``words``, ``sentence_accuracy`` (sentences whose tokens are exactly
        their words) and ``word_accuracy`` (words found as a token with the same offsets).
    """
    split = get_splitter(splitter)
    exact = found = words = 0
    for s in sentences:
        joined = _joined(s, join)
        gold = joined.offsets()
        pred = [(t.start, t.end) for t in split(joined.text)]
        exact += pred == gold
        found += len(set(gold) & set(pred))
        words += len(gold)
    n = len(sentences)
    return {
        "sentences": n,
        "words": words,
        "sentence_accuracy": round(exact / n, 4) if n else None,
        "word_accuracy": round(found / words, 4) if words else None,
    }


def score_splitters(
    sentences: list[Sentence], names: list[str] | None = None, joins: tuple = JOINS
) -> dict[str, dict[str, dict]]:
    """:func:`round_trip` of each splitter (default: every installed one) for each join:
    ``{splitter: {join: scores}}``."""
    names = available_splitters() if names is None else names
    return {name: {j: round_trip(sentences, name, j) for j in joins} for name in names}


def choose_splitter(
    sentences: list[Sentence], names: list[str] | None = None, limit: int | None = 5000
) -> str:
    """The splitter that reproduces most of ``sentences`` exactly, over both joins.

    Ties go to the splitter listed first (:data:`~llmner.data.text.SPLITTERS` order, so
    ``llmner`` before the others); with no sentence, :data:`DEFAULT_SPLITTER`.

    Args:
        sentences: the training sentences (their words as the data split them).
        names: the candidates (default: every installed splitter).
        limit: score only the first ``limit`` sentences (``None``: all).
    """
    sample = sentences[:limit] if limit else sentences
    if not sample:
        return DEFAULT_SPLITTER
    scores = score_splitters(sample, names)
    return max(scores, key=lambda n: sum(scores[n][j]["sentence_accuracy"] for j in JOINS))


def splitter_for_run(sentences: list[Sentence], made_by: str | None = None) -> str:
    """The ``splitter`` a training run records in ``config.yaml``.

    Args:
        sentences: the run's training sentences.
        made_by: the splitter that made their words from text, when it did (JSONL
            character spans are split by ``llmner``); ``None`` for words given by the data
            (CoNLL, Hugging Face datasets), whose convention :func:`choose_splitter`
            finds.
    """
    return made_by if made_by is not None else choose_splitter(sentences)
