"""Random Llama checkpoints: realistic shapes, and they load through llmner's path."""

from __future__ import annotations

import pytest
import torch
from lab.bench.random_init import llama_config, parameter_counts, save_random_model

from llmner.data.types import LabelSet
from llmner.models.loading import load_base_model, load_tokenizer


@pytest.mark.parametrize(
    "shape, total",
    [("1b", 1_235_814_400), ("8b", 8_030_261_248)],
    ids=["llama-3.2-1b", "llama-3.1-8b"],
)
def test_shapes_have_the_published_parameter_counts(shape, total):
    assert parameter_counts(llama_config(shape))["total"] == total


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return save_random_model("tiny", tmp_path_factory.mktemp("m") / "tiny", dtype=torch.float32)


def test_saved_model_loads_and_counts_match(tiny):
    model = load_base_model(str(tiny), "causal-lm", None, "none")
    assert sum(p.numel() for p in model.parameters()) == parameter_counts(model.config)["total"]
    assert model.model.embed_tokens.weight.std() > 0.01  # random, not zeros
    tok = load_tokenizer(str(tiny))
    assert tok("w5 w9")["input_ids"] == [5, 9] and tok.pad_token_id == 0


def test_tied_lm_head_stays_unquantized_in_4bit(tiny):
    """An explicit skip list replaces transformers' default: lm_head must be in it, or a
    tied head becomes a Linear4bit without quantization state and fails on forward."""
    pytest.importorskip("bitsandbytes")
    model = load_base_model(str(tiny), "causal-lm", None, "4bit")
    assert type(model.lm_head) is torch.nn.Linear
    out = model(input_ids=torch.tensor([[5, 6, 7]]))
    assert out.logits.shape == (1, 3, 512)


def test_token_classification_head_stays_unquantized_in_4bit(tiny):
    pytest.importorskip("bitsandbytes")
    model = load_base_model(str(tiny), "token-classification", LabelSet(["PER"]), "4bit")
    assert type(model.score) is torch.nn.Linear
