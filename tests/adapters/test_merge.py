"""Merging: a folder transformers loads alone, predicting what the adapter predicts."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoModelForTokenClassification

from adapters.tiny_runs import FOUR_BIT, TINY_CONLL, entity_tags
from llmner.adapters.merge import merge_adapter, merge_model
from llmner.adapters.source import locate
from llmner.data.conll import read_conll
from llmner.errors import InputError
from llmner.predict import load

# fp32 merge vs. the unmerged adapter: the same sums in another order.
LOGIT_ATOL = 1e-4


@pytest.fixture(scope="module")
def merged_dir(run_dir, tmp_path_factory):
    return merge_adapter(run_dir / "adapter", tmp_path_factory.mktemp("m") / "merged")


def _batch(tokenizer):
    sentences = read_conll(TINY_CONLL)
    enc = tokenizer([s.text for s in sentences], padding=True, return_tensors="pt")
    return enc["input_ids"], enc["attention_mask"], sentences


def test_merged_folder_loads_with_plain_transformers(merged_dir, run_dir):
    model = AutoModelForTokenClassification.from_pretrained(merged_dir)
    labels = locate(run_dir).labels
    assert model.config.id2label == labels.id2label
    assert model.config.label2id == labels.label2id
    assert not any("lora" in n for n, _ in model.named_parameters())
    assert (merged_dir / "tokenizer.json").exists() and (merged_dir / "llmner.yaml").exists()


def test_merged_logits_and_tags_equal_the_adapters(merged_dir, run_dir):
    adapter = load(run_dir)
    merged = AutoModelForTokenClassification.from_pretrained(merged_dir).eval()
    ids, mask, sentences = _batch(adapter.tokenizer)
    with torch.no_grad():
        a = adapter.model(input_ids=ids, attention_mask=mask).logits
        b = merged(input_ids=ids, attention_mask=mask).logits
    assert torch.allclose(a, b, atol=LOGIT_ATOL), (a - b).abs().max()
    expected = adapter.tag(sentences)
    assert entity_tags(expected), "the tiny run predicts entities"
    assert load(merged_dir).tag(sentences) == expected


def test_merging_into_4bit_weights_is_refused(tmp_path_factory, tiny_llama_128_dir):
    from adapters.tiny_runs import tiny_run

    run = tiny_run(tmp_path_factory, tiny_llama_128_dir, "4bit", **FOUR_BIT)
    from peft import PeftModel

    from llmner.models.loading import load_base_model

    source = locate(run)
    base = load_base_model(source.base_model(), source.task, source.labels, "4bit")
    model = PeftModel.from_pretrained(base, source.path)
    with pytest.raises(InputError, match="cannot merge into quantized weights.*16 or 32 bits"):
        merge_model(model)
    # the library path reloads the base in 32 bits: same as the adapter on a 32-bit base
    out = merge_adapter(run, tmp_path_factory.mktemp("m4") / "merged")
    sentences = read_conll(TINY_CONLL)
    expected = load(run, quantization="none").tag(sentences)
    assert entity_tags(expected), "the tiny run predicts entities"
    assert load(out).tag(sentences) == expected


def test_bad_dtype_and_non_empty_output(run_dir, tmp_path):
    with pytest.raises(InputError, match="unknown dtype"):
        merge_adapter(run_dir, tmp_path / "x", dtype="int8")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        merge_adapter(run_dir, tmp_path / "full")


def test_bfloat16_merge_writes_bfloat16(run_dir, tmp_path):
    out = merge_adapter(run_dir, tmp_path / "bf16", dtype="bfloat16")
    model = AutoModelForTokenClassification.from_pretrained(out)
    assert next(model.parameters()).dtype == torch.bfloat16
