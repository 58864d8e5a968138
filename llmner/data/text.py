"""Raw text to words and sentences, keeping the character offset of every piece.

Used wherever llmner meets text that is not already tokenised: prediction on raw text and
the JSONL readers. The one promise: every token is ``text[token.start:token.end]``.

Tokens are built from grapheme clusters (``regex``'s ``\\X``), so a combining accent stays on
its base letter and an emoji ZWJ sequence or flag stays whole. Words (letters, digits,
marks), numbers (``3.5``, ``1,000``) and punctuation are separate tokens; a run of one
punctuation mark (``...``) is one token. Whitespace, zero-width spaces, the BOM and bidi
marks separate tokens and are never part of one.

Example:
    >>> [t.text for t in tokenize("Café-goers paid $3.50 for 2 cups... 👍🏽!")]
    ['Café', '-', 'goers', 'paid', '$', '3.50', 'for', '2', 'cups', '...', '👍🏽', '!']
"""

from __future__ import annotations

import unicodedata
from typing import NamedTuple

import regex

__all__ = ["Token", "gaps_to_spaces", "split_sentences", "tokenize"]

_CLUSTER = regex.compile(r"\X")
# Format characters that are joined into words rather than separating them.
_WORD_FORMAT = {"\u00ad", "\u200c", "\u200d"}
_NUMBER_INFIX = {".", ","}
_ABBREVIATIONS = {
    "dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no",
    "fig", "inc", "ltd", "co", "corp", "mt", "approx", "dept", "gen", "gov", "sen", "rep",
}  # fmt: skip
_SENTENCE_END = regex.compile(r"[.!?。！？]+[\"'”’)\]]*")


class Token(NamedTuple):
    """A token and where it lies: ``source[start:end] == text``."""

    text: str
    start: int
    end: int


def _is_separator(ch: str) -> bool:
    if ch.isspace():
        return True
    cat = unicodedata.category(ch)
    return cat in ("Cc", "Zs", "Zl", "Zp") or (cat == "Cf" and ch not in _WORD_FORMAT)


def _kind(cluster: str) -> str:
    """``word``, ``digit``, ``punct`` or ``symbol`` for a cluster with no leading separator."""
    ch = cluster[0]
    cat = unicodedata.category(ch)
    if cat == "Nd":
        return "digit"
    if cat[0] in "LMN" or ch == "_" or ch in _WORD_FORMAT:
        return "word"
    if cat[0] == "P":
        return "punct"
    return "symbol"


def _clusters(text: str) -> list[tuple[str, int, int]]:
    """Grapheme clusters as ``(kind, start, end)``, separators dropped from their edges."""
    out = []
    for m in _CLUSTER.finditer(text):
        start, end = m.start(), m.end()
        while start < end and _is_separator(text[start]):
            start += 1
        if start < end:
            out.append((_kind(text[start:end]), start, end))
    return out


def tokenize(text: str, offset: int = 0) -> list[Token]:
    """Split ``text`` into words, numbers and punctuation, with character offsets.

    Args:
        text: any string.
        offset: added to every offset (for a piece cut out of a longer text).

    Returns:
        The tokens, each with ``text[start - offset:end - offset] == token.text``.

    Example:
        >>> tokenize("Hi, Zoë!")
        [Token(text='Hi', start=0, end=2), Token(text=',', start=2, end=3), Token(text='Zoë', start=4, end=7), Token(text='!', start=7, end=8)]
        >>> [t.text for t in tokenize("a\\u200bb 1,000.5 ...!!")]
        ['a', 'b', '1,000.5', '...', '!!']
        >>> [(t.start, t.end) for t in tokenize("e\\u0301te")]  # the accent stays on its e
        [(0, 4)]
    """  # noqa: E501
    clusters = _clusters(text)
    tokens: list[list] = []  # [kind, start, end, last_kind]
    for i, (kind, start, end) in enumerate(clusters):
        prev = tokens[-1] if tokens else None
        adjacent = prev is not None and prev[2] == start
        if adjacent and kind in ("word", "digit") and prev[0] == "word":
            prev[2], prev[3] = end, kind
            continue
        if adjacent and kind == "punct" and prev[0] == "punct" and _repeats(text, prev, start, end):
            prev[2] = end
            continue
        if (
            adjacent
            and text[start:end] in _NUMBER_INFIX
            and prev[3] == "digit"
            and i + 1 < len(clusters)
            and clusters[i + 1][0] == "digit"
            and clusters[i + 1][1] == end
        ):
            prev[2] = end
            continue
        tokens.append(["word" if kind == "digit" else kind, start, end, kind])
    return [Token(text[s:e], s + offset, e + offset) for _, s, e, _ in tokens]


def _repeats(text: str, prev: list, start: int, end: int) -> bool:
    """Whether the one-character cluster ``text[start:end]`` repeats the run ``prev``."""
    return end - start == 1 and set(text[prev[1] : prev[2]]) == {text[start]}


def gaps_to_spaces(text: str, tokens: list[Token]) -> list[bool]:
    """For each token, whether anything (a space, a newline, ...) separates it from the next.

    The last token gets ``False``, as :class:`~llmner.data.types.Sentence` expects.

    Example:
        >>> gaps_to_spaces("Hi, you", tokenize("Hi, you"))
        [False, True, False]
    """
    return [a.end != b.start for a, b in zip(tokens, tokens[1:])] + ([False] if tokens else [])


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence boundaries as ``(start, end)`` offsets, whitespace trimmed from each.

    A sentence ends at ``.``, ``!`` or ``?`` (with closing quotes or brackets) followed by
    whitespace and a capital letter, digit or opening quote, unless the word before the
    full stop is a common abbreviation or a single capital letter; a blank line always
    ends a sentence; CJK full stops end a sentence with no space after them.

    Example:
        >>> t = "Dr. Ng arrived. It rained!\\n\\nnew paragraph"
        >>> [t[s:e] for s, e in split_sentences(t)]
        ['Dr. Ng arrived.', 'It rained!', 'new paragraph']
    """
    cuts = [m.end() for m in regex.finditer(r"\n[^\S\n]*\n\s*", text)]
    for m in _SENTENCE_END.finditer(text):
        if _ends_sentence(text, m):
            cuts.append(m.end())
    spans, start = [], 0
    for cut in sorted(set(cuts)) + [len(text)]:
        s, e = start, cut
        while s < e and _is_separator(text[s]):
            s += 1
        while e > s and _is_separator(text[e - 1]):
            e -= 1
        if s < e:
            spans.append((s, e))
        start = max(start, cut)
    return spans


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
        word = regex.search(r"(\w[\w.]*)$", text[: m.start()])
        if word and (word.group().lower() in _ABBREVIATIONS or _is_initial(word.group())):
            return False
    return True


def _is_initial(word: str) -> bool:
    return len(word) == 1 and word.isupper()
