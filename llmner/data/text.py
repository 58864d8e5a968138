"""Raw text to words and sentences, keeping the character offset of every piece.

Used wherever llmner meets text that is not already tokenised: prediction on raw text and
the JSONL readers. The one promise, kept by every splitter: each token is
``text[token.start:token.end]``, never empty, never holding whitespace.

Word splitters (:data:`SPLITTERS`, by name), because datasets split words differently:

* ``llmner`` (:func:`tokenize`, the default): words (letters, digits, marks), numbers
  (``3.5``, ``1,000``) and each punctuation mark apart (``Jean - Luc``); a run of one
  mark (``...``) is one token. Built from grapheme clusters (``regex``'s ``\\X``), so a
  combining accent stays on its letter and an emoji ZWJ sequence stays whole.
* ``edges`` (:func:`split_edges`): whitespace, then punctuation peeled off each word's
  edges only, so ``Jean-Luc``, ``2031-02-14`` and ``I'm`` stay whole; abbreviations
  (``U.S.``, ``M.``, ``vs.``) keep their full stop, a chunk of punctuation alone (``:)``,
  ``?!``) stays whole, and ``@user``, ``#tag``, URLs and ``&amp;`` are never cut.
* ``ptb`` (:func:`split_ptb`): ``edges`` plus the Penn Treebank's English clitics
  (``John 's``, ``do n't``) and a currency sign before a number (``$ 3``).
* ``spacy`` (:func:`split_spacy`): spaCy's English tokenizer (``spacy.blank("en")``, no
  model download), when spaCy is installed.

Whitespace, zero-width spaces, the BOM and bidi marks separate tokens and are never part of
one, whichever the splitter.

Example:
    >>> [t.text for t in tokenize("Café-goers paid $3.50 for 2 cups... 👍🏽!")]
    ['Café', '-', 'goers', 'paid', '$', '3.50', 'for', '2', 'cups', '...', '👍🏽', '!']
    >>> [t.text for t in split_ptb("Jean-Luc's U.S. visit (2031-02-14).")]
    ['Jean-Luc', "'s", 'U.S.', 'visit', '(', '2031-02-14', ')', '.']
"""

from __future__ import annotations

import functools
import importlib.util
import unicodedata
from collections.abc import Callable
from typing import NamedTuple

import regex

from llmner.errors import InputError

__all__ = [
    "DEFAULT_SPLITTER",
    "SPLITTERS",
    "Splitter",
    "Token",
    "available_splitters",
    "gaps_to_spaces",
    "get_splitter",
    "is_abbreviation",
    "is_separator",
    "split_edges",
    "split_ptb",
    "split_spacy",
    "tokenize",
]

_CLUSTER = regex.compile(r"\X")
# Format characters that are joined into words rather than separating them.
_WORD_FORMAT = {"\u00ad", "\u200c", "\u200d"}
_NUMBER_INFIX = {".", ","}
_ABBREVIATIONS = {
    "dr", "mr", "mrs", "ms", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "no",
    "fig", "inc", "ltd", "co", "corp", "mt", "approx", "dept", "gen", "gov", "sen", "rep",
    "lt", "col", "capt", "sgt", "rev", "vol", "messrs", "jan", "feb", "mar", "apr", "jun",
    "jul", "aug", "sep", "sept", "oct", "nov", "dec", "calif", "fla", "ariz", "colo", "conn",
    "ill", "mich", "minn", "okla", "tenn", "tex", "wis",
}  # fmt: skip
# A dotted abbreviation's letters (``U.S``, ``a.m``), also after a hyphen (``then-U.S``).
_DOTTED = regex.compile(r"(?:^|[-/])(?:\p{L}\.)+\p{L}$")
# Kept whole by ``edges`` and ``ptb``: URLs, @mentions, #hashtags, HTML entities, emoticons.
_WHOLE = regex.compile(
    r"(?:https?://|www\.)\S+|[@#]\w+|&#?\w+;|[:;=][-'^o]?[()\[\]dDpPoO/\\|*3]+|<3"
)
_CLITIC = regex.compile(r"(?i)(?:['’](?:s|re|ve|ll|m|d)|n['’]t)$")


class Token(NamedTuple):
    """A token and where it lies: ``source[start:end] == text``."""

    text: str
    start: int
    end: int


Splitter = Callable[..., list[Token]]
"""``splitter(text, offset=0) -> tokens``, each with ``text[start - offset:end - offset]``."""


def is_separator(ch: str) -> bool:
    """Whether ``ch`` separates tokens and is never part of one: whitespace, controls,
    zero-width spaces, the BOM and bidi marks (not the joiners and the soft hyphen).

    Example:
        >>> [is_separator(c) for c in " \u200b\u200da"]
        [True, True, False, False]
    """
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
        while start < end and is_separator(text[start]):
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


def split_edges(text: str, offset: int = 0) -> list[Token]:
    """Whitespace-separated chunks with punctuation peeled off their edges only.

    Example:
        >>> [t.text for t in split_edges('"Jean-Luc, I\\'m here" (2031-02-14) U.S.')]
        ['"', 'Jean-Luc', ',', "I'm", 'here', '"', '(', '2031-02-14', ')', 'U.S.']
        >>> [t.text for t in split_edges("1. Oslo won 3-1 :) @ana &amp; co")]
        ['1.', 'Oslo', 'won', '3-1', ':)', '@ana', '&amp;', 'co']
    """
    return _split_chunks(text, offset, ptb=False)


def split_ptb(text: str, offset: int = 0) -> list[Token]:
    """:func:`split_edges`, with English clitics and a leading currency sign split off.

    Example:
        >>> [t.text for t in split_ptb("Don't pay John's $3.50.")]
        ['Do', "n't", 'pay', 'John', "'s", '$', '3.50', '.']
    """
    return _split_chunks(text, offset, ptb=True)


def _chunks(clusters: list[tuple[str, int, int]]) -> list[list[tuple[str, int, int]]]:
    """Runs of adjacent clusters: the text's whitespace-separated chunks."""
    out: list[list] = []
    for c in clusters:
        if out and out[-1][-1][2] == c[1]:
            out[-1].append(c)
        else:
            out.append([c])
    return out


def _split_chunks(text: str, offset: int, ptb: bool) -> list[Token]:
    spans: list[tuple[int, int]] = []
    for n, chunk in enumerate(_chunks(_clusters(text))):
        spans.extend(_peel(text, chunk, first=n == 0, ptb=ptb))
    return [Token(text[s:e], s + offset, e + offset) for s, e in spans]


def _run(text: str, chunk: list, i: int, step: int) -> int:
    """How many clusters from ``i`` (going ``step``) repeat the one at ``i``."""
    n, same = 0, text[chunk[i][1] : chunk[i][2]]
    while 0 <= i + n * step < len(chunk):
        c = chunk[i + n * step]
        if text[c[1] : c[2]] != same:
            break
        n += 1
    return n


def _peel(text: str, chunk: list, first: bool, ptb: bool) -> list[tuple[int, int]]:
    """One chunk's tokens: leading marks, the core (split at a clitic), trailing marks."""
    start, end = chunk[0][1], chunk[-1][2]
    word = text[start:end]
    if (
        all(k in ("punct", "symbol") for k, _, _ in chunk)
        or _WHOLE.fullmatch(word)
        or _CLITIC.fullmatch(word)
    ):
        return [(start, end)]
    lead: list[tuple[int, int]] = []
    i, j = 0, len(chunk)
    while i < j and _peels_leading(text, chunk, i, ptb):
        n = 1 if chunk[i][0] == "symbol" else _run(text, chunk, i, 1)
        lead.append((chunk[i][1], chunk[i + n - 1][2]))
        i += n
    trail: list[tuple[int, int]] = []
    while j > i + 1 and chunk[j - 1][0] == "punct":
        core = text[chunk[i][1] : chunk[j - 1][2]]
        if _WHOLE.fullmatch(core) or (ptb and _CLITIC.fullmatch(core)):
            break
        n = _run(text, chunk, j - 1, -1)
        stop = n == 1 and text[chunk[j - 1][1] : chunk[j - 1][2]] == "."
        if stop and _keeps_full_stop(text[chunk[i][1] : chunk[j - 2][2]], first and not lead):
            break
        trail.insert(0, (chunk[j - n][1], chunk[j - 1][2]))
        j -= n
    core = (chunk[i][1], chunk[j - 1][2]) if i < j else None
    middle = [core] if core else []
    clitic = _CLITIC.search(text, core[0], core[1]) if ptb and core else None
    if clitic and clitic.start() > core[0] and text[clitic.start() - 1].isalpha():
        middle = [(core[0], clitic.start()), (clitic.start(), core[1])]
    return lead + middle + trail


def _peels_leading(text: str, chunk: list, i: int, ptb: bool) -> bool:
    kind, start, end = chunk[i]
    if i + 1 >= len(chunk) or _WHOLE.match(text, start, chunk[-1][2]):
        return False
    nxt = chunk[i + 1]
    if kind == "symbol":  # a currency sign before a number, for ``ptb``
        return ptb and unicodedata.category(text[start]) == "Sc" and nxt[0] == "digit"
    if kind != "punct" or _CLITIC.fullmatch(text, start, chunk[-1][2]):
        return False
    return not (text[start:end] == "." and nxt[0] == "digit")  # ``.5`` is a number


def _keeps_full_stop(core: str, first: bool) -> bool:
    """Whether a word keeps its final full stop: an abbreviation, an initial, or a list
    number that opens the text (``1. Smith``)."""
    if is_abbreviation(core) or (len(core) == 1 and core.isalpha()):
        return True
    return first and core.isdigit() and len(core) <= 3


def is_abbreviation(word: str) -> bool:
    """Whether ``word`` (its full stop left off) is a common abbreviation (``Dr``,
    ``Jan``, ``Calif``) or a dotted one (``U.S``, ``a.m``, ``then-U.S``).

    Example:
        >>> [is_abbreviation(w) for w in ["U.S", "vs", "Corp", "Oslo", "3.5"]]
        [True, True, True, False, False]
    """
    return bool(_DOTTED.search(word)) or word.lower() in _ABBREVIATIONS


def split_spacy(text: str, offset: int = 0) -> list[Token]:
    """spaCy's English tokenizer (``spacy.blank("en")``), whitespace tokens dropped.

    Example:
        >>> [t.text for t in split_spacy("Jean-Luc's U.S. visit.")]  # doctest: +SKIP
        ['Jean', '-', 'Luc', "'s", 'U.S.', 'visit', '.']
    """
    spans = [(t.idx, t.idx + len(t.text)) for t in _spacy_english().make_doc(text)]
    return [
        Token(text[s:e], s + offset, e + offset) for a, b in spans for s, e in _unspaced(text, a, b)
    ]


@functools.lru_cache(maxsize=1)
def _spacy_english():
    import spacy  # optional: pip install 'llmner[spacy]'

    return spacy.blank("en")


def _unspaced(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """``text[start:end]`` cut at separators, which are dropped."""
    out, s = [], None
    for k in range(start, end + 1):
        if k == end or is_separator(text[k]):
            if s is not None:
                out.append((s, k))
            s = None
        elif s is None:
            s = k
    return out


SPLITTERS: dict[str, Splitter] = {
    "llmner": tokenize,
    "edges": split_edges,
    "ptb": split_ptb,
    "spacy": split_spacy,
}
DEFAULT_SPLITTER = "llmner"
_NEEDS = {"spacy": "spacy"}  # splitter: the package it needs


def available_splitters() -> list[str]:
    """The splitters whose packages are installed, in :data:`SPLITTERS` order."""
    return [n for n in SPLITTERS if n not in _NEEDS or importlib.util.find_spec(_NEEDS[n])]


def get_splitter(name: str | None = None) -> Splitter:
    """The splitter called ``name`` (``None``: :data:`DEFAULT_SPLITTER`).

    Raises:
        InputError: an unknown name, or the splitter's package is not installed.

    Example:
        >>> [t.text for t in get_splitter("edges")("U.S.-based firms.")]
        ['U.S.-based', 'firms', '.']
    """
    name = name or DEFAULT_SPLITTER
    if name not in SPLITTERS:
        raise InputError(f"splitter {name!r}: expected one of {', '.join(SPLITTERS)}")
    need = _NEEDS.get(name)
    if need and not importlib.util.find_spec(need):
        raise InputError(f"splitter {name!r} needs {need}: pip install {need}")
    return SPLITTERS[name]


def gaps_to_spaces(text: str, tokens: list[Token]) -> list[bool]:
    """For each token, whether anything (a space, a newline, ...) separates it from the next.

    The last token gets ``False``, as :class:`~llmner.data.types.Sentence` expects.

    Example:
        >>> gaps_to_spaces("Hi, you", tokenize("Hi, you"))
        [False, True, False]
    """
    return [a.end != b.start for a, b in zip(tokens, tokens[1:])] + ([False] if tokens else [])
