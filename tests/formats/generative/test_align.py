"""Alignment tables, and gold -> answer -> parse -> IOB2 round trips on real data."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmner.data.conll import read_conll
from llmner.data.schemes import tags_to_spans
from llmner.formats.generative.align import align_mentions, find_spans
from llmner.formats.generative.answers import render_answer
from llmner.formats.generative.parse import Mention, parse_answer

REPO = Path(__file__).resolve().parents[3]
BUNDLED = sorted((REPO / "llmner" / "data" / "bundled").glob("*/*.txt"))
SHARED = sorted((REPO / ".." / "shared" / "data").glob("*/*.txt"))

TOKENS = ["Steve", "Jobs", "met", "Steve", "in", "New", "York", "."]
CASES = [
    ("exact", [Mention("PER", "Steve Jobs")], "strict", ["B-PER", "I-PER"] + ["O"] * 6),
    (
        "repeat-left-to-right",
        [Mention("PER", "Steve"), Mention("PER", "Steve")],
        "strict",
        ["B-PER", "O", "O", "B-PER", "O", "O", "O", "O"],
    ),
    (
        "after-previous",
        [Mention("PER", "Steve Jobs"), Mention("PER", "Steve")],
        "strict",
        ["B-PER", "I-PER", "O", "B-PER", "O", "O", "O", "O"],
    ),
    (
        "hint-picks-occurrence",
        [Mention("PER", "Steve", hint=13)],
        "strict",
        ["O", "O", "O", "B-PER", "O", "O", "O", "O"],
    ),
    (
        "overlap-earlier-longer-wins",
        [Mention("LOC", "York"), Mention("LOC", "New York")],
        "strict",
        ["O"] * 5 + ["B-LOC", "I-LOC", "O"],
    ),
    (
        "whitespace-ignored",
        [Mention("LOC", "NewYork .")],
        "strict",
        ["O"] * 5 + ["B-LOC", "I-LOC", "I-LOC"],
    ),
    ("case-fallback", [Mention("loc", "new york")], "strict", ["O"] * 5 + ["B-LOC", "I-LOC", "O"]),
    ("strict-rejects-partial", [Mention("LOC", "ew Yor")], "strict", ["O"] * 8),
    ("contract", [Mention("LOC", "ew York")], "contract", ["O"] * 6 + ["B-LOC", "O"]),
    ("expand", [Mention("LOC", "ew Yor")], "expand", ["O"] * 5 + ["B-LOC", "I-LOC", "O"]),
    ("unknown-type", [Mention("ORG", "Jobs")], "strict", ["O"] * 8),
    ("hallucination", [Mention("PER", "Bill Gates")], "strict", ["O"] * 8),
]


@pytest.mark.parametrize(
    ("mentions", "mode", "tags"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_align_table(mentions, mode, tags):
    result = align_mentions(TOKENS, mentions, ["PER", "LOC"], mode)
    assert result.tags == tags
    c = result.counts
    used = sum(1 for t in tags if t.startswith("B-"))
    assert c["mentions"] == used + c["hallucinated"] + c["unknown_type"] + c["overlapping"]


def test_counts_each_kind():
    r = align_mentions(
        TOKENS,
        [
            Mention("ORG", "Jobs"),
            Mention("PER", "Bill"),
            Mention("PER", "Steve Jobs"),
            Mention("PER", "Jobs"),
        ],
        ["PER"],
    )
    assert r.counts == {"mentions": 4, "hallucinated": 1, "unknown_type": 1, "overlapping": 1}


def _listable(sentence) -> bool:
    """False when a list answer cannot say which occurrence is meant: a mention's words
    also occur unannotated between the previous mention and the gold one."""
    cursor = 0
    for _, start, end in tags_to_spans(sentence.tags):
        text = " ".join(sentence.tokens[start:end])
        first = next((s for s, _, _ in find_spans(sentence.tokens, text) if s >= cursor), None)
        if first != start:
            return False
        cursor = end
    return True


def _round_trip(path: Path):
    sentences = read_conll(path)
    types = sorted({t[2:] for s in sentences for t in s.tags if t != "O"})
    skipped = {"list": 0, "json": 0}
    for s in sentences:
        for fmt in ("inline", "list", "json"):
            if fmt != "inline" and not _listable(s):
                skipped[fmt] += 1
                continue
            parsed = parse_answer(render_answer(s, fmt), fmt)
            aligned = align_mentions(s.tokens, parsed.mentions, types)
            assert not parsed.failed, (fmt, s.id, parsed.errors)
            assert aligned.tags == s.tags, (fmt, s.id, render_answer(s, fmt))
    # only a handful of sentences annotate one occurrence of a word and not an earlier one
    assert skipped["list"] <= max(3, len(sentences) // 1000), skipped


@pytest.mark.parametrize("path", BUNDLED, ids=[f"{p.parent.name}/{p.name}" for p in BUNDLED])
@pytest.mark.slow
def test_round_trip_bundled(path):
    _round_trip(path)


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", SHARED or [None], ids=[f"{p.parent.name}/{p.name}" for p in SHARED] or ["missing"]
)
def test_round_trip_shared(path):
    if path is None:
        pytest.skip("../shared/data is missing")
    _round_trip(path)


def test_round_trip_hostile_tokens():
    from llmner.data.types import Sentence

    s = Sentence(
        ["<PER>", "</LOC>", "a|b", "PER:", '"q"', "&lt;", "x", "\\"],
        ["B-PER", "I-PER", "B-LOC", "O", "B-PER", "B-LOC", "I-LOC", "B-PER"],
    )
    for fmt in ("inline", "list", "json"):
        parsed = parse_answer(render_answer(s, fmt), fmt)
        assert align_mentions(s.tokens, parsed.mentions, ["PER", "LOC"]).tags == s.tags, fmt
