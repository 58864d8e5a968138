"""CoNLL column files: one token per line, the tag in the last column, blank lines between
sentences, ``-DOCSTART-`` lines skipped.

Example:
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "t.txt")
    >>> _ = open(path, "w").write("-DOCSTART- O\\n\\nEU B-ORG\\nrejects O\\n")
    >>> [(s.tokens, s.tags) for s in read_conll(path)]
    [(['EU', 'rejects'], ['B-ORG', 'O'])]
"""

from __future__ import annotations

import re
from pathlib import Path

from llmner.data.schemes import SCHEMES, invalid_transitions, repair_iob2, to_iob2
from llmner.data.types import Sentence
from llmner.errors import InputError
from llmner.io import read_input_text

__all__ = ["read_conll", "write_conll", "ConllStats"]

_TAG = re.compile(r"^(O|[BIESLU]-\S+)$")
# Columns are separated by spaces and tabs only: a token may hold other whitespace (NBSP).
_COLUMNS = re.compile(r"[ \t]+")


class ConllStats:
    """What reading a file did: invalid transitions found and repaired.

    Attributes:
        repaired_transitions: how many invalid ``I-`` tags were read as ``B-``.
        repairs: the first few, as ``(location, tag found, tag read)``, e.g.
            ``("train.txt:12", "I-PER", "B-PER")``.
    """

    MAX_EXAMPLES = 5

    def __init__(self) -> None:
        self.repaired_transitions = 0
        self.repairs: list[tuple[str, str, str]] = []


def _detect_scheme(tags: list[str]) -> str:
    prefixes = {t[0] for t in tags if t != "O"}
    return "bioes" if prefixes & set("ESLU") else "iob2"


def read_conll(
    path: str | Path,
    scheme: str = "auto",
    strict: bool = False,
    stats: ConllStats | None = None,
    allowed_types: list[str] | None = None,
) -> list[Sentence]:
    """Read a CoNLL column file into IOB2 sentences.

    Args:
        path: the file.
        scheme: ``iob1``, ``iob2``, ``bioes`` or ``auto`` (BIOES when ``S-``/``E-`` tags
            occur, else IOB2, whose invalid ``I-`` tags are repaired as IOB1 would read them).
        strict: refuse invalid IOB2 transitions instead of repairing them.
        stats: if given, collects what was repaired.
        allowed_types: if given, an entity type outside this list is an error.

    Raises:
        InputError: naming the file and line of the first malformed line.
    """
    path = Path(path)
    text = read_input_text(path, "a CoNLL column file", "CoNLL sentences")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if scheme != "auto" and scheme not in SCHEMES:
        raise InputError(f"unknown tag scheme {scheme!r}; expected auto or one of {SCHEMES}")
    blocks: list[tuple[list[int], list[str], list[str]]] = []
    linenos: list[int] = []
    tokens: list[str] = []
    tags: list[str] = []
    ncols = None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip(" \t")
        if not line:
            if tokens:
                blocks.append((linenos, tokens, tags))
            linenos, tokens, tags = [], [], []
            continue
        cols = _COLUMNS.split(line)
        if cols[0] == "-DOCSTART-":
            continue
        if len(cols) < 2:
            raise InputError(
                f"expected a token and a tag separated by whitespace, found {line!r}",
                str(path),
                lineno,
            )
        if ncols is None:
            ncols = len(cols)
        elif len(cols) != ncols:
            raise InputError(
                f"expected {ncols} columns like the first line, found {len(cols)}",
                str(path),
                lineno,
            )
        tag = cols[-1]
        if not _TAG.match(tag):
            raise InputError(
                f"unknown tag {tag!r}; expected O or B-/I-/E-/S- followed by a type",
                str(path),
                lineno,
            )
        if allowed_types is not None and tag != "O" and tag[2:] not in allowed_types:
            raise InputError(
                f"entity type {tag[2:]!r} is not in the label set {allowed_types}",
                str(path),
                lineno,
            )
        linenos.append(lineno)
        tokens.append(cols[0])
        tags.append(tag)
    if tokens:
        blocks.append((linenos, tokens, tags))
    if not blocks:
        raise InputError("no sentences found; expected token/tag lines", path=str(path))
    return [_to_sentence(path, b, scheme, strict, stats) for b in blocks]


def _to_sentence(path, block, scheme, strict, stats) -> Sentence:
    linenos, tokens, tags = block
    this_scheme = _detect_scheme(tags) if scheme == "auto" else scheme
    if this_scheme in ("iob2", "iob1"):
        bad = invalid_transitions(tags)
        if bad and (strict and this_scheme == "iob2"):
            prev = tags[bad[0] - 1] if bad[0] else "the start of the sentence"
            raise InputError(
                f"invalid transition from {prev!r} to {tags[bad[0]]!r} (an I- tag must continue "
                "an entity of its type); expected IOB2, or run without strict mode to read it "
                f"as {'B-' + tags[bad[0]][2:]!r}",
                str(path),
                linenos[bad[0]],
            )
        iob2 = repair_iob2(tags)
        if bad and stats is not None:
            stats.repaired_transitions += len(bad)
            for i in bad[: stats.MAX_EXAMPLES - len(stats.repairs)]:
                stats.repairs.append((f"{path}:{linenos[i]}", tags[i], iob2[i]))
    else:
        iob2 = repair_iob2(to_iob2(tags, this_scheme))
    return Sentence(tokens, iob2, id=f"{path.name}:{linenos[0]}")


def write_conll(path: str | Path, rows: list[tuple[list[str], ...]]) -> None:
    """Write sentences as columns: each item of ``rows`` is a tuple of parallel lists
    (tokens, gold tags, predicted tags, ...), one line per token, a blank line after each.
    """
    with open(path, "w", encoding="utf-8") as f:
        for cols in rows:
            for values in zip(*cols, strict=True):
                f.write(" ".join(values) + "\n")
            f.write("\n")
