"""Mentions to token spans to IOB2 tags.

Matching ignores whitespace (the model may write ``U.S .`` as ``U.S.``) and, when no
exact match exists, letter case. A match must respect token boundaries according to the
alignment mode, as in spacy-llm; the rule is :func:`llmner.data.align.snap_span`'s, the
one the JSONL reader uses for annotated offsets:

* ``strict``: the match starts at a token start and ends at a token end;
* ``contract``: keep the tokens lying wholly inside the match;
* ``expand``: keep every token the match touches.

Which occurrence a mention takes:

1. an ``inline`` mention (it has a ``hint``) takes the occurrence nearest to where it
   was written;
2. other mentions are resolved left to right in the order they were written: the first
   occurrence at or after the end of the previous mention, else the first occurrence
   that overlaps no earlier mention, else the first occurrence.

Overlaps are then resolved by one rule: **the earlier start wins; on equal starts the
longer span wins**; the losers are counted as ``overlapping``. Types are matched to the
label set ignoring case; a type outside it is counted as ``unknown_type``; a mention
with no occurrence is counted as ``hallucinated``. Nothing is dropped without a count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from llmner.data.align import ALIGNMENT_MODES, snap_span
from llmner.data.schemes import spans_to_tags
from llmner.formats.generative.parse import Mention

__all__ = ["ALIGNMENT_MODES", "AlignResult", "align_mentions", "find_spans"]


@dataclass
class AlignResult:
    """Tags for one sentence and the counts of what could not be used."""

    tags: list[str]
    spans: list[tuple[str, int, int]]
    counts: dict[str, int] = field(default_factory=dict)
    scores: dict[tuple[int, int], float] = field(default_factory=dict)


def _fold(text: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _compact(tokens: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """The tokens joined without whitespace, and each token's offsets in that string."""
    offsets, pos = [], 0
    for tok in tokens:
        start = pos
        pos += sum(1 for c in tok if not c.isspace())
        offsets.append((start, pos))
    return "".join("".join(tok.split()) for tok in tokens), offsets


def _occurrences(haystack: str, needle: str) -> list[int]:
    out, p = [], haystack.find(needle)
    while p >= 0:
        out.append(p)
        p = haystack.find(needle, p + 1)
    return out


def find_spans(tokens: list[str], text: str, mode: str = "strict") -> list[tuple[int, int, int]]:
    """Token spans ``(start, end, char_start)`` where ``text`` occurs, in sentence order.

    Example:
        >>> find_spans(["New", "York", "and", "new", "york"], "new york")
        [(3, 5, 10)]
        >>> find_spans(["New", "York", "and", "York"], "NEW YORK")
        [(0, 2, 0)]
        >>> find_spans(["Steve", "Jobs"], "eve Jo")
        []
        >>> find_spans(["Steve", "Jobs"], "eve Jo", "expand")
        [(0, 2, 2)]
    """
    if mode not in ALIGNMENT_MODES:
        raise ValueError(f"unknown alignment mode {mode!r}; expected one of {ALIGNMENT_MODES}")
    compact, offsets = _compact(tokens)
    needle = "".join(text.split())
    if not needle:
        return []
    for hay, ndl in ((compact, needle), (_fold(compact), _fold(needle))):
        found = []
        for p in _occurrences(hay, ndl):
            span = snap_span(offsets, p, p + len(ndl), mode)
            if span is not None and span not in [f[:2] for f in found]:
                found.append((*span, p))
        if found:
            return found
    return []


def _choose(cands, mention: Mention, cursor: int, taken: list[tuple[int, int]]):
    if mention.hint is not None:
        return min(cands, key=lambda c: (abs(c[2] - mention.hint), c[2]))
    for c in cands:
        if c[0] >= cursor:
            return c
    for c in cands:
        if all(c[1] <= a or c[0] >= b for a, b in taken):
            return c
    return cands[0]


def align_mentions(
    tokens: list[str],
    mentions: list[Mention],
    types: list[str],
    mode: str = "strict",
    mention_scores: list[float | None] | None = None,
) -> AlignResult:
    """IOB2 tags for ``tokens`` from ``mentions``, with counts of unusable mentions.

    Example:
        >>> r = align_mentions(
        ...     ["Ann", "met", "Ann", "in", "Rome"],
        ...     [Mention("PER", "Ann"), Mention("PER", "Ann"), Mention("city", "Rome"),
        ...      Mention("loc", "Paris")],
        ...     ["PER", "LOC"],
        ... )
        >>> r.tags
        ['B-PER', 'O', 'B-PER', 'O', 'O']
        >>> r.counts
        {'mentions': 4, 'hallucinated': 1, 'unknown_type': 1, 'overlapping': 0}
    """
    canonical = {t.lower(): t for t in types}
    counts = {"mentions": len(mentions), "hallucinated": 0, "unknown_type": 0, "overlapping": 0}
    chosen: list[tuple[str, int, int]] = []
    cursor = 0
    scores: dict[tuple[int, int], float] = {}
    for i, mention in enumerate(mentions):
        etype = canonical.get(mention.type.strip().lower())
        if etype is None:
            counts["unknown_type"] += 1
            continue
        cands = find_spans(tokens, mention.text, mode)
        if not cands:
            counts["hallucinated"] += 1
            continue
        start, end, _ = _choose(cands, mention, cursor, [c[1:] for c in chosen])
        chosen.append((etype, start, end))
        if mention_scores is not None and mention_scores[i] is not None:
            scores[(start, end)] = mention_scores[i]
        cursor = end
    kept: list[tuple[str, int, int]] = []
    for etype, start, end in sorted(chosen, key=lambda s: (s[1], -(s[2] - s[1]))):
        if kept and start < kept[-1][2]:
            counts["overlapping"] += 1
            continue
        kept.append((etype, start, end))
    kept_scores = {(a, b): scores[(a, b)] for _, a, b in kept if (a, b) in scores}
    return AlignResult(spans_to_tags(kept, len(tokens)), kept, counts, kept_scores)
