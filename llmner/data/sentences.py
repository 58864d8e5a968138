"""Raw text to sentences of words, and entities on those words back to characters.

A text is cut into sentences (:func:`split_sentences`), each sentence into words by a
splitter of :mod:`llmner.data.text`; every word keeps its offsets into the text, so an
entity found on words maps back to ``text[start:end]`` exactly.

Example:
    >>> t = "Ada met Bo Li in the U.S. Army. Then they left!"
    >>> [[w.text for w in s] for s in sentences_from_text(t)]
    [['Ada', 'met', 'Bo', 'Li', 'in', 'the', 'U', '.', 'S', '.', 'Army', '.'], ['Then', 'they', 'left', '!']]
    >>> [[w.text for w in s] for s in sentences_from_text(t, splitter="edges")][0][5:]
    ['the', 'U.S.', 'Army', '.']
"""  # noqa: E501

from __future__ import annotations

import regex

from llmner.data.schemes import tags_to_spans
from llmner.data.text import Token, gaps_to_spaces, get_splitter, is_abbreviation, is_separator
from llmner.data.types import Sentence

__all__ = [
    "cut_words",
    "entities_from_tags",
    "sentence_of",
    "sentences_from_text",
    "split_sentences",
    "text_pieces",
]

_SENTENCE_END = regex.compile(r"[.!?。！？]+[\"'”’)\]]*")
_BLANK_LINE = regex.compile(r"\n[^\S\n]*\n\s*")
_HAS_WORD = regex.compile(r"[\p{L}\p{N}]")
_LIST_NUMBER = regex.compile(r"\d{1,3}\.")
# Digits after a spaced full stop that are not a list number (``1.``) themselves.
_SPACED_DECIMAL = regex.compile(r"\s+\d+(?!\d|\.(?:\s|$))")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence boundaries as ``(start, end)`` offsets, whitespace trimmed from each.

    A sentence ends at ``.``, ``!`` or ``?`` (with closing quotes or brackets) followed by
    whitespace and a capital letter, digit or opening quote, unless the word before the
    full stop is an abbreviation (``Dr.``, ``Jan.``, ``U.S.``, ``a.m.``, see
    :func:`~llmner.data.text.is_abbreviation`; ``vs .`` too, as tokenised text has it) or an
    initial (``J.``), and a full stop before a number with a space or digit before it
    (``0 . 05``, ``P < . 01`` in tokenised text) ends none. A piece with no
    letter or digit (a closing quote after a space) stays with the sentence before it, and
    a list number (``1.``) with the one after it; a ``"`` after a space closes the sentence
    before it when that sentence left one open. A blank line always ends a sentence; CJK
    full stops end a sentence with no space after them.

    Example:
        >>> t = "Dr. Ng arrived in the U.S. Army. It rained !\\n\\nnew paragraph"
        >>> [t[s:e] for s, e in split_sentences(t)]
        ['Dr. Ng arrived in the U.S. Army.', 'It rained !', 'new paragraph']
        >>> t = '" We won . " They left . 1. Oslo 2:05 . 2. Rome'
        >>> [t[s:e] for s, e in split_sentences(t)]
        ['" We won . "', 'They left .', '1. Oslo 2:05 .', '2. Rome']
    """
    hard = {m.end() for m in _BLANK_LINE.finditer(text)}
    cuts = hard | {m.end() for m in _SENTENCE_END.finditer(text) if _ends_sentence(text, m)}
    pieces: list[list] = []  # [start, end, whether a blank line ends it]
    start = 0
    for cut in sorted(cuts) + [len(text)]:
        s, e = start, cut
        while s < e and is_separator(text[s]):
            s += 1
        while e > s and is_separator(text[e - 1]):
            e -= 1
        if s < e:
            pieces.append([s, e, cut in hard])
        start = max(start, cut)
    out: list[list] = []
    for piece in pieces:
        prev = out[-1] if out and not out[-1][2] else None
        if prev and _closes_quote(text, prev, piece):
            prev[1] = piece[0] + 1
            piece[0] += 1
            while piece[0] < piece[1] and is_separator(text[piece[0]]):
                piece[0] += 1
        if piece[0] == piece[1]:
            continue
        if prev and not _HAS_WORD.search(text, piece[0], piece[1]):
            prev[1:] = piece[1:]  # a closing quote or bracket after a space
        elif prev and _LIST_NUMBER.fullmatch(text, prev[0], prev[1]):
            prev[1:] = piece[1:]  # a list number opens the next sentence
        else:
            out.append(piece)
    return [(s, e) for s, e, _ in out]


def _closes_quote(text: str, prev: list, piece: list) -> bool:
    """Whether ``piece`` opens with a lone ``"`` that closes one left open in ``prev``."""
    lone = piece[0] + 1 == piece[1] or is_separator(text[piece[0] + 1])
    return text[piece[0]] == '"' and lone and text.count('"', prev[0], prev[1]) % 2 == 1


# The word, and a digit or space, just before a full stop: searched backwards from it, so a
# long text costs one short search per full stop, not a pass over all that precedes it.
_WORD_BEFORE = regex.compile(r"(?r)(\w[\w.-]*) ?$")
_DIGIT_OR_SPACE_BEFORE = regex.compile(r"(?r)(?:\d|\s)\s*$")


def _ends_sentence(text: str, m: regex.Match) -> bool:
    if m.group()[0] in "。！？":
        return True
    rest = text[m.end() : m.end() + 3]
    if not rest or not rest[0].isspace():
        return False
    nxt = rest.lstrip()[:1]
    if not nxt or not (nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘(["):
        return False
    if m.group().startswith("."):
        word = _WORD_BEFORE.search(text, 0, m.start())
        if word and (is_abbreviation(word.group(1)) or _is_initial(word.group(1))):
            return False
        decimal = _SPACED_DECIMAL.match(text, m.end())
        if m.group() == "." and decimal and _DIGIT_OR_SPACE_BEFORE.search(text, 0, m.start()):
            return False  # a decimal point in tokenised text: ``0 . 05``, ``P < . 01``
    return True


def _is_initial(word: str) -> bool:
    return len(word) == 1 and word.isupper()


def sentences_from_text(
    text: str, max_words: int | None = None, splitter: str | None = None
) -> list[list[Token]]:
    """The words of each sentence of ``text``, with offsets into ``text``.

    Args:
        text: any string.
        max_words: cut sentences longer than this into consecutive pieces.
        splitter: the word splitter's name (default: ``llmner``).

    Example:
        >>> [[t.text for t in s] for s in sentences_from_text("Hi Bo. Go now!")]
        [['Hi', 'Bo', '.'], ['Go', 'now', '!']]
        >>> [len(s) for s in sentences_from_text("a b c d e", max_words=2)]
        [2, 2, 1]
    """
    split = get_splitter(splitter)
    out = []
    for start, end in split_sentences(text):
        out.extend(cut_words(split(text[start:end], offset=start), max_words))
    return out


def cut_words(tokens: list[Token], max_words: int | None = None) -> list[list[Token]]:
    """``tokens`` in consecutive pieces of at most ``max_words`` (``None``: one piece);
    no piece is empty.

    Example:
        >>> [len(p) for p in cut_words([Token("a", 0, 1)] * 5, 2)], cut_words([])
        ([2, 2, 1], [])
    """
    step = max_words or len(tokens) or 1
    return [tokens[i : i + step] for i in range(0, len(tokens), step)]


def text_pieces(
    texts: list[str], max_words: int | None = None, splitter: str | None = None
) -> list[tuple[int, list[Token]]]:
    """Every sentence piece of ``texts`` as ``(text index, words)``: what a model is given
    when it predicts on raw text (:func:`sentences_from_text` of each text)."""
    return [
        (i, toks)
        for i, text in enumerate(texts)
        for toks in sentences_from_text(text, max_words, splitter)
    ]


def sentence_of(tokens: list[Token], source: str) -> Sentence:
    """A :class:`~llmner.data.types.Sentence` of ``tokens`` (every tag ``O``), spaced as
    in ``source``."""
    return Sentence(
        [t.text for t in tokens], ["O"] * len(tokens), spaces=gaps_to_spaces(source, tokens)
    )


def entities_from_tags(
    text: str, tokens: list[Token], tags: list[str], scores: dict | None = None
) -> list[dict]:
    """Entities with character offsets into ``text`` from one tag per token; with
    ``scores`` (``{(first token, end token): confidence}``), each entity found there gets
    a ``score``.

    Example:
        >>> from llmner.data.text import tokenize
        >>> t = "Ada met Bo Li."
        >>> entities_from_tags(t, tokenize(t), ["B-PER", "O", "B-PER", "I-PER", "O"])
        [{'start': 0, 'end': 3, 'label': 'PER', 'text': 'Ada'}, {'start': 8, 'end': 13, 'label': 'PER', 'text': 'Bo Li'}]
    """  # noqa: E501
    out = []
    for label, first, last in tags_to_spans(tags):
        start, end = tokens[first].start, tokens[last - 1].end
        entity = {"start": start, "end": end, "label": label, "text": text[start:end]}
        if scores and (first, last) in scores:
            entity["score"] = round(float(scores[(first, last)]), 4)
        out.append(entity)
    return out
