"""Parse tables (readable ids) and properties: the parsers never raise."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmner.formats.generative.parse import parse_answer

CASES = [
    # id, format, text, mentions, failed
    ("inline-plain", "inline", "<PER>Ann</PER> ran", [("PER", "Ann")], False),
    ("inline-none", "inline", "Ann ran", [], False),
    (
        "inline-two",
        "inline",
        "<PER>Ann</PER> met <LOC>Rome</LOC>",
        [("PER", "Ann"), ("LOC", "Rome")],
        False,
    ),
    ("inline-escaped-tag-text", "inline", "&lt;PER&gt; <LOC>a|b</LOC>", [("LOC", "a|b")], False),
    ("inline-unclosed", "inline", "<PER>Ann ran", [], True),
    ("inline-stray-close", "inline", "Ann</PER> ran", [], True),
    ("inline-truncated-mark", "inline", "<PER>Ann</PE", [], True),
    (
        "inline-nested",
        "inline",
        "<LOC><PER>Ann</PER> St</LOC>",
        [("PER", "Ann"), ("LOC", "Ann St")],
        False,
    ),
    ("inline-empty", "inline", "", [], True),
    (
        "list-two",
        "list",
        "PER: Steve Jobs | LOC: Cupertino",
        [("PER", "Steve Jobs"), ("LOC", "Cupertino")],
        False,
    ),
    ("list-none", "list", "none", [], False),
    ("list-None-dot", "list", "None.", [], False),
    ("list-newlines", "list", "PER: Ann\nLOC: Rome", [("PER", "Ann"), ("LOC", "Rome")], False),
    ("list-pipe-in-words", "list", "LOC: a | b | PER: c", [("LOC", "a | b"), ("PER", "c")], False),
    ("list-colon-in-words", "list", "PER: a: b", [("PER", "a: b")], False),
    ("list-no-type", "list", "Steve Jobs", [], True),
    ("list-partial", "list", "PER: Ann | Rome", [("PER", "Ann | Rome")], False),
    ("list-empty", "list", "  ", [], True),
    ("json-one", "json", '[{"type": "PER", "text": "Ann"}]', [("PER", "Ann")], False),
    ("json-empty", "json", "[]", [], False),
    ("json-prose", "json", 'Here: [{"type": "PER", "text": "Ann"}] done', [("PER", "Ann")], False),
    ("json-truncated", "json", '[{"type": "PER", "text": "Ann"}, {"type"', [("PER", "Ann")], True),
    ("json-not-array", "json", '{"type": "PER"}', [], True),
    (
        "json-bad-item",
        "json",
        '[{"type": "PER"}, {"type": "LOC", "text": "x"}]',
        [("LOC", "x")],
        True,
    ),
    ("json-quotes", "json", '[{"type": "LOC", "text": "\\"hi\\""}]', [("LOC", '"hi"')], False),
    ("json-no-array", "json", "nothing here", [], True),
]


@pytest.mark.parametrize(
    ("fmt", "text", "mentions", "failed"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_parse_table(fmt, text, mentions, failed):
    result = parse_answer(text, fmt)
    assert [(m.type, m.text) for m in result.mentions] == mentions
    assert result.failed == failed
    assert bool(result.errors) == failed or fmt == "inline"


_PIECES = st.sampled_from(
    [
        "<PER>",
        "</PER>",
        "<LOC>",
        "</LOC>",
        "<",
        ">",
        "</",
        "&lt;",
        "&amp;",
        "Ann",
        " ",
        "|",
        " | ",
        ":",
        "PER: ",
        "none",
        "[",
        "]",
        "{",
        "}",
        '"',
        '"type": ',
        '"text": ',
        ",",
        '{"type": "PER", "text": "Ann"}',
        "\n",
        "per",
        "\\",
        "null",
    ]
)
NEAR_MISSES = st.one_of(st.text(max_size=60), st.lists(_PIECES, max_size=20).map("".join))


@pytest.mark.slow
@settings(max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=NEAR_MISSES, fmt=st.sampled_from(["inline", "list", "json"]))
def test_parser_never_raises_10k(text, fmt):
    result = parse_answer(text, fmt)
    assert all(isinstance(m.text, str) and isinstance(m.type, str) for m in result.mentions)


@settings(max_examples=300, deadline=None)
@given(text=NEAR_MISSES, fmt=st.sampled_from(["inline", "list", "json"]))
def test_parser_never_raises(text, fmt):
    parse_answer(text, fmt)
