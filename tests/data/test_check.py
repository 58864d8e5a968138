"""The checks behind ``llmner data check``, on sentences made for each finding."""

from __future__ import annotations

from pathlib import Path

from llmner.data.check import check_paths, check_splits
from llmner.data.types import Sentence

ASSETS = Path(__file__).parents[1] / "assets"


def S(text, tags, id=""):
    return Sentence(text.split(), tags.split(), id=id)


def test_findings():
    train = [
        S("Ann met Bo", "B-PER O B-PER", "a:1"),
        S("Ann met Bo", "B-PER O B-PER", "a:5"),
        S("Bo went to Oslo today", "O O O B-LOC O", "a:9"),
    ]
    test = [S("Ann met Bo", "B-PER O B-PER", "b:1"), S("Oslo Inc hired", "B-ORG I-ORG O", "b:3")]
    report = check_splits({"train": train, "test": test}, max_tokens=4)
    tr, te = report.splits
    assert (tr.sentences, tr.tokens, tr.entities) == (3, 11, {"LOC": 1, "PER": 4})
    assert (tr.duplicates, tr.duplicate_examples) == (1, ["a:5: Ann met Bo"])
    assert (tr.too_long, tr.longest, tr.too_long_examples) == (1, 5, ["a:9 (5 tokens)"])
    assert te.duplicates == 0 and te.entities == {"ORG": 1, "PER": 2}
    assert report.shared == {"train & test": 1}
    assert report.shared_examples["train & test"] == ["a:1 = b:1: Ann met Bo"]
    assert report.inconsistent == [
        {"text": "Bo", "labels": {"PER": 3, "O": 1}, "examples": {"PER": "a:1", "O": "a:9"}}
    ]
    assert report.inconsistent_total == 1  # "Oslo" alone is LOC only: "Oslo Inc" is ORG


def test_bundled_name_and_file_together():
    report = check_paths(["wnut17", str(ASSETS / "tiny.conll")], max_tokens=50)
    names = [s.name for s in report.splits]
    assert names == ["wnut17/train", "wnut17/validation", "wnut17/test", str(ASSETS / "tiny.conll")]
    assert [s.sentences for s in report.splits] == [3394, 1009, 1287, 12]
    assert report.splits[-1].entities == {"LOC": 8, "ORG": 6, "PER": 8}
