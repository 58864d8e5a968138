"""Tag schemes: IOB1, IOB2 and BIOES in, IOB2 inside; spans out.

llmner keeps every sentence in IOB2 (``B-`` starts every entity). Readers convert from
the scheme a file uses, and :func:`repair_iob2` fixes invalid transitions (an ``I-X``
that follows ``O`` or another type) the way conlleval reads them: as the start of a new
entity.
"""

from __future__ import annotations

__all__ = [
    "SCHEMES",
    "bioes_to_iob2",
    "invalid_transitions",
    "iob1_to_iob2",
    "iob2_to_bioes",
    "repair_iob2",
    "spans_to_tags",
    "tags_to_spans",
    "to_iob2",
]

SCHEMES = ("iob1", "iob2", "bioes")


def _split(tag: str) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    prefix, _, etype = tag.partition("-")
    return prefix, etype


def invalid_transitions(tags: list[str]) -> list[int]:
    """Positions of IOB2 ``I-`` tags that do not continue an entity of the same type.

    Example:
        >>> invalid_transitions(["O", "I-PER", "B-LOC", "I-ORG"])
        [1, 3]
    """
    bad, prev = [], "O"
    for i, tag in enumerate(tags):
        prefix, etype = _split(tag)
        if prefix == "I" and (prev == "O" or _split(prev)[1] != etype):
            bad.append(i)
        prev = tag
    return bad


def repair_iob2(tags: list[str]) -> list[str]:
    """Turn each invalid ``I-X`` into ``B-X``, as conlleval reads it.

    Example:
        >>> repair_iob2(["O", "I-PER", "I-PER", "I-LOC"])
        ['O', 'B-PER', 'I-PER', 'B-LOC']
    """
    out = list(tags)
    for i in invalid_transitions(tags):
        out[i] = "B-" + tags[i][2:]
    return out


def iob1_to_iob2(tags: list[str]) -> list[str]:
    """IOB1 (``B-`` only between adjacent entities of one type) to IOB2.

    Example:
        >>> iob1_to_iob2(["I-PER", "I-PER", "B-PER", "O", "I-LOC"])
        ['B-PER', 'I-PER', 'B-PER', 'O', 'B-LOC']
    """
    return repair_iob2(tags)


def bioes_to_iob2(tags: list[str]) -> list[str]:
    """BIOES (also called BILOU with ``L``/``U``) to IOB2.

    Example:
        >>> bioes_to_iob2(["S-PER", "B-LOC", "E-LOC", "O", "U-ORG", "B-X", "L-X"])
        ['B-PER', 'B-LOC', 'I-LOC', 'O', 'B-ORG', 'B-X', 'I-X']
    """
    mapping = {"S": "B", "U": "B", "E": "I", "L": "I", "B": "B", "I": "I"}
    out = []
    for tag in tags:
        prefix, etype = _split(tag)
        out.append("O" if prefix == "O" else f"{mapping[prefix]}-{etype}")
    return out


def iob2_to_bioes(tags: list[str]) -> list[str]:
    """IOB2 to BIOES.

    Example:
        >>> iob2_to_bioes(["B-PER", "B-LOC", "I-LOC", "I-LOC", "O"])
        ['S-PER', 'B-LOC', 'I-LOC', 'E-LOC', 'O']
    """
    out = []
    for i, tag in enumerate(tags):
        prefix, etype = _split(tag)
        nxt = tags[i + 1] if i + 1 < len(tags) else "O"
        continues = _split(nxt) == ("I", etype)
        if prefix == "B":
            out.append(("B-" if continues else "S-") + etype)
        elif prefix == "I":
            out.append(("I-" if continues else "E-") + etype)
        else:
            out.append("O")
    return out


def to_iob2(tags: list[str], scheme: str) -> list[str]:
    """Convert ``tags`` from ``scheme`` (one of :data:`SCHEMES`) to IOB2."""
    if scheme == "iob2":
        return list(tags)
    if scheme == "iob1":
        return iob1_to_iob2(tags)
    if scheme == "bioes":
        return bioes_to_iob2(tags)
    raise ValueError(f"unknown tag scheme {scheme!r}; expected one of {SCHEMES}")


def tags_to_spans(tags: list[str]) -> list[tuple[str, int, int]]:
    """Entities of an IOB2 sequence as ``(type, start, end)``, ``end`` exclusive.

    Invalid ``I-`` tags start a new entity (as :func:`repair_iob2` reads them).

    Example:
        >>> tags_to_spans(["B-PER", "I-PER", "O", "I-LOC"])
        [('PER', 0, 2), ('LOC', 3, 4)]
    """
    spans: list[tuple[str, int, int]] = []
    start, etype = None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, t = _split(tag)
        if start is not None and (prefix != "I" or t != etype):
            spans.append((etype, start, i))
            start, etype = None, None
        if prefix in ("B", "I") and start is None:
            start, etype = i, t
    return spans


def spans_to_tags(spans: list[tuple[str, int, int]], length: int) -> list[str]:
    """IOB2 tags for ``length`` tokens from non-overlapping ``(type, start, end)`` spans.

    Example:
        >>> spans_to_tags([("PER", 0, 2), ("LOC", 3, 4)], 5)
        ['B-PER', 'I-PER', 'O', 'B-LOC', 'O']
    """
    tags = ["O"] * length
    for etype, start, end in sorted(spans, key=lambda s: s[1]):
        if not 0 <= start < end <= length:
            raise ValueError(f"span ({etype}, {start}, {end}) outside 0..{length}")
        if any(t != "O" for t in tags[start:end]):
            raise ValueError(f"span ({etype}, {start}, {end}) overlaps another span")
        tags[start] = f"B-{etype}"
        for i in range(start + 1, end):
            tags[i] = f"I-{etype}"
    return tags
