"""load_sentences / load_splits dispatch, and the Hugging Face reader (in memory only)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Sequence, Value

from llmner.data.hf import from_hf_dataset, hf_labels
from llmner.data.loading import labels_for, load_sentences, load_splits
from llmner.errors import InputError

ASSETS = Path(__file__).parents[1] / "assets"
NAMES = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]


def _dataset(rows=None):
    rows = rows or {"tokens": [["Ann", "Lee", "ran"], ["Oslo"]], "ner_tags": [[1, 2, 0], [3]]}
    features = Features(
        {"tokens": Sequence(Value("string")), "ner_tags": Sequence(ClassLabel(names=NAMES))}
    )
    return Dataset.from_dict(rows, features=features)


def test_conll_and_jsonl_files():
    conll = load_sentences(ASSETS / "tiny.conll")
    assert len(conll) == 12 and conll[0].id == "tiny.conll:1"
    jsonl = load_sentences(str(ASSETS / "tiny.jsonl"), labels=["PER", "LOC", "ORG"])
    assert len(jsonl) == 6


def test_labels_are_checked():
    with pytest.raises(InputError, match="tiny.conll:1: entity type 'PER'"):
        load_sentences(ASSETS / "tiny.conll", labels=["LOC", "ORG"])


def test_bundled_name_needs_a_split_and_accepts_dev():
    with pytest.raises(InputError, match="name a split"):
        load_sentences("wnut17")
    assert len(load_sentences("wnut17", split="dev")) == 1009
    with pytest.raises(InputError, match="unknown split"):
        load_sentences("wnut17", split="training")


def test_folder_with_missing_splits(tmp_path):
    shutil.copy(ASSETS / "tiny.conll", tmp_path / "train.txt")
    shutil.copy(ASSETS / "tiny.conll", tmp_path / "dev.txt")
    splits = load_splits(tmp_path)
    assert {k: len(v) for k, v in splits.items()} == {"train": 12, "validation": 12}
    (tmp_path / "train.txt").unlink()
    with pytest.raises(InputError, match="no training split"):
        load_splits(tmp_path)


def test_load_splits_from_a_mapping():
    splits = load_splits({"train": ASSETS / "tiny.conll", "dev": ASSETS / "tiny.jsonl"})
    assert {k: len(v) for k, v in splits.items()} == {"train": 12, "validation": 6}


def test_in_memory_dataset():
    sentences = load_sentences(_dataset())
    assert [(s.tokens, s.tags) for s in sentences] == [
        (["Ann", "Lee", "ran"], ["B-PER", "I-PER", "O"]),
        (["Oslo"], ["B-LOC"]),
    ]
    assert hf_labels(_dataset()).types == ["PER", "LOC"]


def test_dataset_dict_split_names():
    dd = DatasetDict({"train": _dataset(), "validation": _dataset()})
    assert len(load_sentences(dd, split="dev")) == 2
    with pytest.raises(InputError, match="needs a split"):
        load_sentences(dd)
    with pytest.raises(InputError, match="no split 'test'"):
        load_sentences(dd, split="test")


def test_dataset_repairs_or_refuses_invalid_transitions():
    ds = _dataset({"tokens": [["Ann", "Lee"]], "ner_tags": [[0, 2]]})
    assert load_sentences(ds)[0].tags == ["O", "B-PER"]
    with pytest.raises(InputError, match="invalid transition"):
        load_sentences(ds, strict=True)


@pytest.mark.parametrize(
    "rows, message",
    [
        ({"words": [["a"]], "ner_tags": [["O"]]}, "no column 'tokens'"),
        ({"tokens": [["a"]], "ner_tags": [["PER"]]}, "unknown tag 'PER'"),
        ({"tokens": [["a", "b"]], "ner_tags": [["O"]]}, "2 tokens but 1 tags"),
    ],
    ids=["missing-column", "bad-tag", "length-mismatch"],
)
def test_dataset_errors(rows, message):
    with pytest.raises(InputError, match=message):
        from_hf_dataset(Dataset.from_dict(rows))


def test_a_conll_folder_gets_the_conll_2003_descriptions_of_its_types(tmp_path):
    folder = tmp_path / "conll2003"
    folder.mkdir()
    (folder / "train.txt").write_text("Bo B-PER\nmet O\nIBM B-ORG\n\n")
    labels = labels_for(folder, load_sentences(folder, split="train"))
    assert labels.types == ["ORG", "PER"]
    assert labels.descriptions["PER"] == "a person's name"
    assert set(labels.descriptions) == {"ORG", "PER"}
    other = tmp_path / "mine"
    shutil.copytree(folder, other)
    assert labels_for(other, load_sentences(other, split="train")).descriptions == {}


def test_labels_for():
    assert labels_for("bc5cdr", []).descriptions["Disease"].startswith("a disease")
    assert labels_for(ASSETS / "tiny.conll", load_sentences(ASSETS / "tiny.conll")).types == [
        "LOC",
        "ORG",
        "PER",
    ]
