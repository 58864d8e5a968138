"""The three answer formats: how a gold sentence is written as the model's answer.

Every answer copies sentence text, escaped so that the text can never be mistaken for the
format's own markup:

* ``inline``: the sentence with each entity wrapped as ``<TYPE>words</TYPE>``; ``&``,
  ``<`` and ``>`` in the text are written ``&amp;``, ``&lt;``, ``&gt;``.
* ``list``: ``TYPE: words | TYPE: words`` in sentence order, ``none`` when empty; the text
  is not escaped (the parser splits only before ``TYPE: ``).
* ``json``: ``[{"type": "TYPE", "text": "words"}]`` as :func:`json.dumps` writes it.

The list-like formats share one shape (``prefix``, per-type ``header``, the words,
``after``, then ``sep`` and the next item or ``end``), described by :class:`ListSyntax`;
the constrained decoder reads the same description.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from llmner.data.schemes import tags_to_spans
from llmner.data.types import Sentence

__all__ = [
    "ANSWER_FORMATS",
    "LIST_SYNTAX",
    "ListSyntax",
    "escape",
    "render_answer",
    "unescape_inline",
]

ANSWER_FORMATS = ("inline", "list", "json")


@dataclass(frozen=True)
class ListSyntax:
    """The literal pieces of a list-like answer."""

    prefix: str
    header: str  # with ``{type}``
    after: str
    sep: str
    end: str
    empty: str


LIST_SYNTAX = {
    "list": ListSyntax("", "{type}: ", "", " | ", "", "none"),
    "json": ListSyntax("[", '{{"type": "{type}", "text": "', '"}', ", ", "]", "[]"),
}

_INLINE_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(text: str, answer_format: str) -> str:
    """``text`` as it appears inside an answer of ``answer_format``.

    Escaping works character by character, so token boundaries map one to one.

    Example:
        >>> escape('a<b & "c"', "inline")
        'a&lt;b &amp; "c"'
        >>> escape('a "b"\\\\', "json")
        'a \\\\"b\\\\"\\\\\\\\'
        >>> escape("a | b", "list")
        'a | b'
    """
    if answer_format == "inline":
        return "".join(_INLINE_ESCAPES.get(c, c) for c in text)
    if answer_format == "json":
        return "".join(json.dumps(c, ensure_ascii=False)[1:-1] for c in text)
    return text


def unescape_inline(text: str) -> str:
    """Undo :func:`escape` for ``inline``.

    Example:
        >>> unescape_inline("a&lt;b &amp;gt;")
        'a<b &gt;'
    """
    out, i = [], 0
    while i < len(text):
        for raw, esc in _INLINE_ESCAPES.items():
            if text.startswith(esc, i):
                out.append(raw)
                i += len(esc)
                break
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def render_answer(sentence: Sentence, answer_format: str) -> str:
    """The gold answer for ``sentence`` in ``answer_format``.

    Example:
        >>> s = Sentence(["Steve", "Jobs", "left", "Apple"], ["B-PER", "I-PER", "O", "B-ORG"])
        >>> render_answer(s, "inline")
        '<PER>Steve Jobs</PER> left <ORG>Apple</ORG>'
        >>> render_answer(s, "list")
        'PER: Steve Jobs | ORG: Apple'
        >>> render_answer(s, "json")
        '[{"type": "PER", "text": "Steve Jobs"}, {"type": "ORG", "text": "Apple"}]'
        >>> render_answer(Sentence(["hi"], ["O"]), "list")
        'none'
    """
    if answer_format not in ANSWER_FORMATS:
        raise ValueError(f"unknown answer format {answer_format!r}; expected {ANSWER_FORMATS}")
    spans = tags_to_spans(sentence.tags)
    text, offsets = sentence.text, sentence.offsets()
    if answer_format == "inline":
        out, pos = [], 0
        for etype, start, end in spans:
            a, b = offsets[start][0], offsets[end - 1][1]
            out += [escape(text[pos:a], "inline"), f"<{etype}>"]
            out += [escape(text[a:b], "inline"), f"</{etype}>"]
            pos = b
        out.append(escape(text[pos:], "inline"))
        return "".join(out)
    syn = LIST_SYNTAX[answer_format]
    if not spans:
        return syn.empty
    items = [
        syn.header.format(type=etype)
        + escape(text[offsets[start][0] : offsets[end - 1][1]], answer_format)
        + syn.after
        for etype, start, end in spans
    ]
    return syn.prefix + syn.sep.join(items) + syn.end
