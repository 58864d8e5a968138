"""Combining: peft's methods on the LoRA layers, the documented rule on the head."""

from __future__ import annotations

import shutil

import pytest
import torch
import yaml
from safetensors.torch import load_file

from adapters.tiny_runs import TINY_CONLL, entity_tags
from llmner.adapters.combine import combine_adapters, combine_rows
from llmner.data.conll import read_conll
from llmner.errors import InputError
from llmner.predict import load
from llmner.rundir import read_config
from llmner.rundir.source import locate

HEAD = "base_model.model.score.weight"


def _head(folder):
    return load_file(str(locate(folder).path / "adapter_model.safetensors"))[HEAD]


def test_cat_of_one_adapter_halved_twice_is_that_adapter(run_dir, tmp_path):
    out = combine_adapters([run_dir, run_dir], tmp_path / "c", [0.5, 0.5], method="cat")
    a, c = load(run_dir), load(out)
    ids = torch.tensor([[1, 5, 9, 12, 3]])
    with torch.no_grad():
        diff = (a.model(input_ids=ids).logits - c.model(input_ids=ids).logits).abs().max()
    assert diff < 1e-5
    sentences = read_conll(TINY_CONLL)
    expected = a.tag(sentences)
    assert entity_tags(expected), "the tiny run predicts entities"
    assert c.tag(sentences) == expected


def test_union_of_label_sets_and_head_rows(run_dir, run_misc_dir, tmp_path):
    out = combine_adapters([run_dir, run_misc_dir], tmp_path / "u", [3.0, 1.0], method="linear")
    labels = locate(out).labels
    assert labels.types == ["LOC", "ORG", "PER", "MISC", "PLACE"]
    head, h1, h2 = _head(out), _head(run_dir), _head(run_misc_dir)
    l1, l2 = locate(run_dir).labels.label2id, locate(run_misc_dir).labels.label2id
    for label, row in labels.label2id.items():
        if label in l1 and label in l2:  # O and PER: weighted mean over both
            expected = (3 * h1[l1[label]] + h2[l2[label]]) / 4
        else:  # a source without the label is left out, not counted as zeros
            expected = h1[l1[label]] if label in l1 else h2[l2[label]]
        assert torch.allclose(head[row], expected, atol=1e-6), label
    meta = yaml.safe_load((out / "llmner.yaml").read_text())
    assert [c["weight"] for c in meta["combined_from"]] == [3.0, 1.0]
    assert meta["combine_method"] == "linear"
    ents = load(out).predict(["Marta Olsen opened a bakery in Oslo."])[0]
    assert ents, "the combined tiny runs find entities"
    assert all(e["label"] in labels.types for e in ents)


@pytest.mark.parametrize("method", ["linear", "ties", "dare_ties"])
def test_methods_write_loadable_adapters(method, run_dir, run_misc_dir, tmp_path):
    out = combine_adapters([run_dir, run_misc_dir], tmp_path / method, method=method)
    cfg = locate(out).adapter_config()
    assert cfg["modules_to_save"] and cfg["task_type"] == "TOKEN_CLS"
    assert len(load(out).tag([_sentence()])[0]) == 3


def _sentence():
    from llmner.data.types import Sentence

    return Sentence(["Ada", "met", "Bo"], ["O", "O", "O"])


def _variant(run_dir, tmp_path, **changes):
    copy = tmp_path / "variant"
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("checkpoints"))
    cfg = read_config(copy)
    for key, value in changes.items():
        if key in cfg.get("format_options", {}):
            cfg["format_options"][key] = value
        else:
            cfg[key] = value
    (copy / "config.yaml").write_text(yaml.safe_dump(cfg))
    return copy


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"model_name_or_path": "smollm2-135m"}, "differ in base model"),
        ({"format": "generative"}, "differ in format"),
        ({"echo": True}, "differ in echo"),
    ],
    ids=["base", "format", "echo"],
)
def test_mismatches_are_refused(changes, message, run_dir, tmp_path):
    with pytest.raises(InputError, match=message):
        combine_adapters([run_dir, _variant(run_dir, tmp_path, **changes)], tmp_path / "o")


def test_argument_errors(run_dir, tmp_path):
    with pytest.raises(InputError, match="at least two"):
        combine_adapters([run_dir], tmp_path / "o")
    with pytest.raises(InputError, match="1 weights for 2"):
        combine_adapters([run_dir, run_dir], tmp_path / "o", [1.0])
    with pytest.raises(InputError, match="unknown method"):
        combine_adapters([run_dir, run_dir], tmp_path / "o", method="average")


def test_combine_rows_leaves_absent_rows_out():
    assert combine_rows({"B-X": [torch.tensor(2.0), None, torch.tensor(4.0)]}, [1, 5, 3]) == {
        "B-X": torch.tensor(3.5)
    }
    with pytest.raises(InputError, match="sum to 0"):
        combine_rows({"B-X": [None, 1.0]}, [1.0, 0.0])
