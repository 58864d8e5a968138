"""JSONL span files: the three export formats, alignment, errors and round trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmner.data.jsonl import read_jsonl, record_to_sentence, sentence_to_record, write_jsonl
from llmner.data.schemes import tags_to_spans
from llmner.data.text import tokenize
from llmner.errors import InputError

TEXT = "Ann Lee flew to Oslo."
EXPECTED = ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]
FORMATS = {
    "spacy-spans": {
        "text": TEXT,
        "spans": [{"start": 0, "end": 7, "label": "PER"}, {"start": 16, "end": 20, "label": "LOC"}],
    },
    "spacy-ents": {
        "text": TEXT,
        "ents": [{"start": 16, "end": 20, "label": "LOC"}, {"start": 0, "end": 7, "label": "PER"}],
    },
    "doccano-label": {"text": TEXT, "label": [[0, 7, "PER"], [16, 20, "LOC"]]},
    "doccano-entities": {
        "text": TEXT,
        "entities": [
            {"id": 1, "start_offset": 0, "end_offset": 7, "label": "PER"},
            {"id": 2, "start_offset": 16, "end_offset": 20, "label": "LOC"},
        ],
    },
    "label-studio": {
        "id": 3,
        "data": {"text": TEXT},
        "annotations": [
            {"was_cancelled": True, "result": []},
            {
                "result": [
                    {"type": "labels", "value": {"start": 0, "end": 7, "labels": ["PER"]}},
                    {"type": "labels", "value": {"start": 16, "end": 20, "labels": ["LOC"]}},
                ]
            },
        ],
    },
    "label-studio-min": {
        "text": TEXT,
        "label": [
            {"start": 0, "end": 7, "labels": ["PER"]},
            {"start": 16, "end": 20, "labels": ["LOC"]},
        ],
    },
}


@pytest.mark.parametrize("name", list(FORMATS))
def test_formats(name):
    s = record_to_sentence(FORMATS[name])
    assert s.tokens == ["Ann", "Lee", "flew", "to", "Oslo", "."]
    assert s.tags == EXPECTED
    assert s.text == TEXT


def test_label_studio_json_list_and_lines(tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps([FORMATS["label-studio"], FORMATS["label-studio"]], indent=2))
    sentences = read_jsonl(path, labels=["PER", "LOC"])
    assert [s.tags for s in sentences] == [EXPECTED, EXPECTED]
    assert sentences[1].id.startswith("export.json:") and sentences[1].id != sentences[0].id


def test_tiny_jsonl_reads():
    from pathlib import Path

    sentences = read_jsonl(Path(__file__).parents[1] / "assets" / "tiny.jsonl")
    assert len(sentences) == 6
    assert sentences[0].text == "Marta Olsen opened a bakery in Tromsø."
    assert sentences[0].tags[:2] == ["B-PER", "I-PER"]


def test_whitespace_at_span_edges_is_ignored_and_duplicates_merge():
    rec = {"text": "in  Oslo now", "spans": [[3, 8, "LOC"], [3, 8, "LOC"]]}
    assert record_to_sentence({"text": rec["text"], "label": rec["spans"]}).tags == [
        "O",
        "B-LOC",
        "O",
    ]


@pytest.mark.parametrize(
    "text, span, alignment, tags",
    [
        ("Oslo-ish town", [0, 6, "LOC"], "expand", ["B-LOC", "I-LOC", "I-LOC", "O"]),
        ("Oslo - town", [0, 7, "LOC"], "contract", ["B-LOC", "I-LOC", "O"]),
        ("Oslo town", [0, 4, "LOC"], "strict", ["B-LOC", "O"]),
    ],
    ids=["expand", "contract", "strict-on-boundaries"],
)
def test_alignment_modes(text, span, alignment, tags):
    assert record_to_sentence({"text": text, "label": [span]}, alignment=alignment).tags == tags


def test_contract_with_no_whole_word_inside_refuses():
    with pytest.raises(InputError, match="splits the word 'Londoners'"):
        record_to_sentence({"text": "Londoners", "label": [[0, 6, "LOC"]]}, alignment="contract")


@pytest.mark.parametrize(
    "rec, message",
    [
        ([1, 2], "expected a JSON object"),
        ({"text": 5}, 'missing "text"'),
        ({"text": "ab", "label": [[0, 3, "X"]]}, "out of range"),
        ({"text": "ab", "label": [[1, 1, "X"]]}, "out of range"),
        ({"text": "ab", "label": [["0", 2, "X"]]}, "not integers"),
        ({"text": "ab", "label": [[0, 2, ""]]}, "no label"),
        ({"text": "ab", "label": [[0, 2]]}, "unreadable span"),
        ({"text": "a b", "label": [[0, 3, "X"], [2, 3, "Y"]]}, "overlaps"),
        ({"text": "a  b", "label": [[1, 3, "X"]]}, "covers no word"),
    ],
    ids=[
        "not-object",
        "text-not-string",
        "end-past-text",
        "empty-span",
        "string-offset",
        "empty-label",
        "two-items",
        "overlap",
        "only-whitespace",
    ],
)
def test_record_errors(rec, message):
    with pytest.raises(InputError, match=message):
        record_to_sentence(rec)


def test_write_then_read(tmp_path):
    s = record_to_sentence(FORMATS["spacy-spans"])
    path = tmp_path / "out.jsonl"
    write_jsonl(path, [s, {"text": "plain", "spans": []}])
    back = read_jsonl(path)
    assert [(b.tokens, b.tags) for b in back] == [(s.tokens, s.tags), (["plain"], ["O"])]


words = st.text(st.characters(categories=["L", "Nd"]), min_size=1, max_size=6)
seps = st.sampled_from([" ", "  ", "\n", "\u00a0", "\u200b", " , ", "-", "\t"])
labels = st.sampled_from(["PER", "LOC", "ORG"])


@st.composite
def annotated(draw):
    """A text of words with some runs of whole words marked as entities."""
    n = draw(st.integers(1, 10))
    ws = [draw(words) for _ in range(n)]
    gaps = [draw(seps) for _ in range(n - 1)]
    text, starts = "", []
    for i, w in enumerate(ws):
        starts.append(len(text))
        text += w + (gaps[i] if i < n - 1 else "")
    spans, i = [], 0
    while i < n:
        j = draw(st.integers(i + 1, n))
        if draw(st.booleans()) and all(g in (" ", "  ") for g in gaps[i : j - 1]):
            spans.append((starts[i], starts[j - 1] + len(ws[j - 1]), draw(labels)))
        i = j
    return text, spans, gaps


@given(annotated())
def test_spans_tokens_bio_spans_round_trip(case):
    text, spans, gaps = case
    s = record_to_sentence({"text": text, "label": [list(x) for x in spans]})
    tokens = tokenize(text)
    back = [(tokens[a].start, tokens[b - 1].end, label) for label, a, b in tags_to_spans(s.tags)]
    assert back == spans
    if all(g == " " for g in gaps):  # then the sentence gives back the very text
        record = sentence_to_record(s)
        assert record["text"] == text
        assert [(d["start"], d["end"], d["label"]) for d in record["spans"]] == spans
