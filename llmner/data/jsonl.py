"""JSONL (and JSON) files of texts with character-offset entity spans.

Three export formats are read, recognised per record:

- spaCy style: ``{"text": ..., "spans": [{"start": 0, "end": 5, "label": "PER"}]}``
  (``"ents"`` is accepted for ``"spans"``); this is also what :func:`write_jsonl` writes.
- Doccano: ``{"text": ..., "label": [[0, 5, "PER"]]}`` or
  ``{"text": ..., "entities": [{"start_offset": 0, "end_offset": 5, "label": "PER"}]}``.
- Label Studio: ``{"data": {"text": ...}, "annotations": [{"result": [{"value":
  {"start": 0, "end": 5, "labels": ["PER"]}}]}]}``, one per line or as a JSON list.

Each record becomes one :class:`~llmner.data.types.Sentence`, tokenised with
:func:`llmner.data.text.tokenize`, with ``spaces`` set so that ``Sentence.text`` gives back
the original text whenever tokens are separated by nothing or by one space.

Example:
    >>> rec = {"text": "Ada Lovelace met Babbage.", "spans": [
    ...     {"start": 0, "end": 12, "label": "PER"}, {"start": 17, "end": 24, "label": "PER"}]}
    >>> s = record_to_sentence(rec)
    >>> s.tags
    ['B-PER', 'I-PER', 'O', 'B-PER', 'O']
    >>> s.text == rec["text"]
    True
    >>> sentence_to_record(s)["spans"][1]
    {'start': 17, 'end': 24, 'label': 'PER', 'text': 'Babbage'}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from llmner.data.align import ALIGNMENT_MODES, snap_span, touched_tokens
from llmner.data.schemes import spans_to_tags, tags_to_spans
from llmner.data.text import Token, gaps_to_spaces, tokenize
from llmner.data.types import Sentence
from llmner.errors import InputError
from llmner.io import read_input_text

__all__ = ["read_jsonl", "record_to_sentence", "sentence_to_record", "write_jsonl"]


def read_jsonl(
    path: str | Path,
    labels: Iterable[str] | None = None,
    alignment: str = "strict",
) -> list[Sentence]:
    """Read a ``.jsonl`` file (one record a line) or a ``.json`` file (a list of records).

    Args:
        path: the file.
        labels: if given, a span whose label is not among them is an error.
        alignment: what to do with a span boundary inside a word
            (:func:`llmner.data.align.snap_span`): ``strict`` refuses it, ``expand``
            grows the span to whole words, ``contract`` shrinks it to the words fully
            inside (an error if none is).

    Raises:
        InputError: naming the file and line of the first bad record: invalid JSON, no
            text, offsets out of range, overlapping spans, a span that splits a word, a
            label outside ``labels``.
    """
    path = Path(path)
    allowed = None if labels is None else list(labels)
    sentences = []
    for line, rec in _records(path):
        try:
            sentence = record_to_sentence(rec, allowed, alignment, id=f"{path.name}:{line}")
        except InputError as e:
            raise InputError(e.message, str(path), line) from None
        sentences.append(sentence)
    if not sentences:
        raise InputError("no records found; expected one JSON object per line", str(path))
    return sentences


def _records(path: Path) -> Iterator[tuple[int, object]]:
    """``(line, record)`` pairs; a JSON list (Label Studio's export) or lines of JSON."""
    text = read_input_text(path, "a JSONL file", "JSON records")
    if text.lstrip().startswith("["):
        yield from _json_list(path, text)
        return
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(
                f"invalid JSON ({e.msg} at column {e.colno}); expected one JSON object per line",
                str(path),
                lineno,
            ) from None


def _json_list(path: Path, text: str) -> Iterator[tuple[int, object]]:
    """The items of a JSON list, each with the line it starts on."""
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos < len(text) and text[pos] == "]":
            return
        line = text.count("\n", 0, pos) + 1
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise InputError(
                f"invalid JSON ({e.msg}); expected a list of JSON objects", str(path), e.lineno
            ) from None
        yield line, item


def _text_and_spans(rec: object) -> tuple[str, list]:
    """The text and the raw ``(start, end, label)`` spans of a record in any known format."""
    if not isinstance(rec, dict):
        raise InputError(f"expected a JSON object, found {type(rec).__name__}")
    if isinstance(rec.get("data"), dict):  # Label Studio
        texts = [v for v in rec["data"].values() if isinstance(v, str)]
        text = rec["data"].get("text", texts[0] if len(texts) == 1 else None)
        done = [a for a in rec.get("annotations") or [] if not a.get("was_cancelled")]
        results = done[0].get("result", []) if done else []
        spans = [
            (
                r["value"].get("start"),
                r["value"].get("end"),
                (r["value"].get("labels") or [None])[0],
            )
            for r in results
            if isinstance(r, dict) and isinstance(r.get("value"), dict) and "start" in r["value"]
        ]
    else:
        text = rec.get("text")
        raw = next(
            (rec[k] for k in ("spans", "ents", "entities", "label", "labels") if k in rec), []
        )
        spans = [_raw_span(s) for s in raw or []]
    if not isinstance(text, str):
        raise InputError('missing "text"; expected a record with a "text" string')
    return text, spans


def _raw_span(s: object) -> tuple:
    if isinstance(s, (list, tuple)) and len(s) == 3:
        return tuple(s)
    if isinstance(s, dict):
        start = s.get("start", s.get("start_offset"))
        end = s.get("end", s.get("end_offset"))
        label = s.get("label", (s.get("labels") or [None])[0])
        return start, end, label
    raise InputError(
        f"unreadable span {s!r}; expected [start, end, label] or an object "
        "with start, end and label"
    )


def record_to_sentence(
    rec: dict,
    labels: list[str] | None = None,
    alignment: str = "strict",
    id: str = "",
) -> Sentence:
    """One record (spaCy, Doccano or Label Studio style) to an IOB2 sentence.

    Raises:
        InputError: without a location (the caller adds file and line).
    """
    if alignment not in ALIGNMENT_MODES:
        raise ValueError(f"unknown alignment {alignment!r}; expected one of {ALIGNMENT_MODES}")
    text, raw = _text_and_spans(rec)
    tokens = tokenize(text)
    offsets = [(t.start, t.end) for t in tokens]
    spans = []
    prev = None
    for start, end, label in sorted(set(map(_checked(text, labels), raw)), key=lambda s: s[:2]):
        if prev is not None and start < prev[1]:
            raise InputError(
                f"span {start}..{end} {text[start:end]!r} ({label}) overlaps span "
                f"{prev[0]}..{prev[1]} {text[prev[0] : prev[1]]!r} ({prev[2]}); "
                "expected non-overlapping spans"
            )
        prev = (start, end, label)
        span = snap_span(offsets, start, end, alignment)
        if span is None:
            raise _unaligned(text, tokens, start, end, label)
        spans.append((label, *span))
    return Sentence(
        [t.text for t in tokens],
        spans_to_tags(spans, len(tokens)),
        id=id,
        spaces=gaps_to_spaces(text, tokens),
    )


def _checked(text: str, labels: list[str] | None):
    def check(span: tuple) -> tuple[int, int, str]:
        start, end, label = span
        if not (isinstance(start, int) and isinstance(end, int)) or isinstance(start, bool):
            raise InputError(f"span offsets {start!r}..{end!r} are not integers")
        if not 0 <= start < end <= len(text):
            raise InputError(
                f"span {start}..{end} is out of range; expected "
                f"0 <= start < end <= {len(text)} (the text's length)"
            )
        if not isinstance(label, str) or not label:
            raise InputError(f"span {start}..{end} has no label; expected a string label")
        if labels is not None and label not in labels:
            raise InputError(
                f"label {label!r} of span {start}..{end} {text[start:end]!r} is "
                f"not in the label set {labels}"
            )
        return start, end, label

    return check


def _unaligned(text: str, tokens: list[Token], start: int, end: int, label: str) -> InputError:
    """Why the characters ``start..end`` align to no word."""
    touched = touched_tokens([(t.start, t.end) for t in tokens], start, end)
    if not touched:
        return InputError(
            f"span {start}..{end} {text[start:end]!r} ({label}) covers no word; "
            "expected a span over words"
        )
    edges = (tokens[touched[0]], tokens[touched[-1]])
    word = next(t for t in edges if t.start < start or t.end > end)
    return InputError(
        f"span {start}..{end} {text[start:end]!r} ({label}) splits the word "
        f"{word.text!r} at {word.start}..{word.end}; expected span boundaries "
        "on word boundaries"
    )


def sentence_to_record(sentence: Sentence) -> dict:
    """A sentence as a spaCy-style record: its text and entity spans with character offsets."""
    offsets = sentence.offsets()
    spans = []
    for label, first, last in tags_to_spans(sentence.tags):
        start, end = offsets[first][0], offsets[last - 1][1]
        spans.append({"start": start, "end": end, "label": label, "text": sentence.text[start:end]})
    return {"text": sentence.text, "spans": spans}


def write_jsonl(path: str | Path, items: Iterable[Sentence | dict]) -> None:
    """Write sentences (as :func:`sentence_to_record` records) or ready-made dicts as JSONL."""
    with open(path, "w", encoding="utf-8") as f:
        for item in items:
            rec = sentence_to_record(item) if isinstance(item, Sentence) else item
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
