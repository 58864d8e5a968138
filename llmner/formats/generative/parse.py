"""Generated text to ``(type, text)`` mentions, for each answer format.

Parsers never raise: whatever the model wrote, they return a :class:`ParseResult` with
the mentions they could read and, when the text does not follow the format, ``failed``
set and the reasons in ``errors``. Mentions read from a partly broken answer are kept
(and counted), never dropped silently.

``inline`` mentions carry a ``hint``: how many non-space characters of the copied
sentence precede them. Alignment uses it to pick the right occurrence of a repeated word.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from llmner.formats.generative.answers import ANSWER_FORMATS, unescape_inline

__all__ = ["Mention", "ParseResult", "parse_answer"]

_TAG = re.compile(r"<(/?)([^<>/\s]{1,40})>")
_LIST_ITEM = re.compile(r"\s*([^\s:|][^:|\n]{0,40}?):\s")
_LIST_SPLIT = re.compile(r"\s*\|\s*(?=[^\s:|][^:|\n]{0,40}?:\s)|\s*\n\s*")
_JSON_OBJECT = re.compile(r"\{[^{}]*\}")


@dataclass(frozen=True)
class Mention:
    """One entity as the model wrote it: its type and its words."""

    type: str
    text: str
    hint: int | None = None


@dataclass
class ParseResult:
    """What a parser read: the mentions, and whether the text followed the format."""

    mentions: list[Mention] = field(default_factory=list)
    failed: bool = False
    errors: list[str] = field(default_factory=list)


def _compact_len(text: str) -> int:
    return sum(1 for c in text if not c.isspace())


def parse_inline(text: str) -> ParseResult:
    """Read ``<TYPE>words</TYPE>`` marks from a copy of the sentence.

    Nested marks give both mentions (alignment resolves the overlap); an unclosed or
    stray mark makes the answer ``failed`` and is reported.

    Example:
        >>> r = parse_inline("<PER>Steve Jobs</PER> met <PER>Steve</PER>")
        >>> [(m.type, m.text, m.hint) for m in r.mentions], r.failed
        ([('PER', 'Steve Jobs', 0), ('PER', 'Steve', 12)], False)
        >>> parse_inline("<PER>Steve Jobs met").errors
        ['unclosed <PER>']
    """
    result = ParseResult()
    if not text.strip():
        return ParseResult(failed=True, errors=["empty answer"])
    plain: list[str] = []  # the copied sentence, tags removed, unescaped
    stack: list[tuple[str, int]] = []
    pos = 0
    for m in _TAG.finditer(text):
        plain.append(unescape_inline(text[pos : m.start()]))
        pos = m.end()
        closing, etype = m.group(1) == "/", m.group(2)
        here = len("".join(plain))
        if not closing:
            stack.append((etype, here))
            continue
        opened = [i for i, (t, _) in enumerate(stack) if t == etype]
        if not opened:
            result.errors.append(f"stray </{etype}>")
            continue
        _, start = stack.pop(opened[-1])
        words = "".join(plain)[start:here].strip()
        hint = _compact_len("".join(plain)[:start])
        result.mentions.append(Mention(etype, words, hint))
    rest = text[pos:]
    if "<" in rest:
        result.errors.append("unfinished mark")
    result.errors += [f"unclosed <{t}>" for t, _ in stack]
    result.failed = bool(result.errors)
    result.mentions.sort(key=lambda m: m.hint or 0)
    return result


def parse_list(text: str) -> ParseResult:
    """Read ``TYPE: words | TYPE: words`` (or ``none``); newlines also separate items.

    Example:
        >>> [(m.type, m.text) for m in parse_list("PER: Steve Jobs | LOC: Cupertino").mentions]
        [('PER', 'Steve Jobs'), ('LOC', 'Cupertino')]
        >>> parse_list(" None.").mentions, parse_list("none").failed
        ([], False)
        >>> parse_list("Steve Jobs").errors
        ["no 'TYPE: ' in 'Steve Jobs'"]
    """
    body = text.strip()
    if body.lower().rstrip(".") == "none":
        return ParseResult()
    if not body:
        return ParseResult(failed=True, errors=["empty answer"])
    result = ParseResult()
    for item in _LIST_SPLIT.split(body):
        if not item.strip():
            continue
        m = _LIST_ITEM.match(item)
        if m is None or not item[m.end() :].strip():
            result.errors.append(f"no 'TYPE: ' in {item.strip()[:40]!r}")
            continue
        result.mentions.append(Mention(m.group(1).strip(), item[m.end() :].strip()))
    result.failed = bool(result.errors)
    return result


def _json_item(obj, result: ParseResult) -> None:
    if (
        isinstance(obj, dict)
        and isinstance(obj.get("type"), str)
        and isinstance(obj.get("text"), str)
    ):
        result.mentions.append(Mention(obj["type"], obj["text"]))
    else:
        result.errors.append(f"not a {{type, text}} object: {str(obj)[:40]!r}")


def parse_json(text: str) -> ParseResult:
    """Read a JSON array of ``{"type": ..., "text": ...}`` objects.

    Prose around the array is allowed; a truncated array is read object by object and
    marked ``failed``.

    Example:
        >>> parse_json('Sure: [{"type": "PER", "text": "Ann"}]').mentions
        [Mention(type='PER', text='Ann', hint=None)]
        >>> r = parse_json('[{"type": "PER", "text": "Ann"}, {"type": "LO')
        >>> len(r.mentions), r.failed
        (1, True)
    """
    start = text.find("[")
    if start < 0:
        return ParseResult(failed=True, errors=["no JSON array"])
    result = ParseResult()
    try:
        value, _ = json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError):
        result.errors.append("invalid or truncated JSON")
        for m in _JSON_OBJECT.finditer(text, start):
            try:
                _json_item(json.loads(m.group()), result)
            except (ValueError, RecursionError):
                result.errors.append(f"invalid object {m.group()[:40]!r}")
        result.failed = True
        return result
    if not isinstance(value, list):
        return ParseResult(failed=True, errors=["the JSON value is not an array"])
    for obj in value:
        _json_item(obj, result)
    result.failed = bool(result.errors)
    return result


_PARSERS = {"inline": parse_inline, "list": parse_list, "json": parse_json}


def parse_answer(text: str, answer_format: str) -> ParseResult:
    """Parse ``text`` written in ``answer_format`` (one of ``inline``, ``list``, ``json``).

    Example:
        >>> parse_answer("[]", "json").mentions
        []
    """
    if answer_format not in ANSWER_FORMATS:
        raise ValueError(f"unknown answer format {answer_format!r}; expected {ANSWER_FORMATS}")
    return _PARSERS[answer_format](text)
