"""Fixtures: a tiny random Llama with the SmolLM2 tokenizer's vocabulary (``smol_tokenizer``
is in ``tests/conftest.py``), labels and sentences."""

from __future__ import annotations

import pytest
import torch

from llmner.data.types import LabelSet, Sentence


@pytest.fixture(scope="session")
def tiny_llama(smol_tokenizer):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
        vocab_size=len(smol_tokenizer),
        max_position_embeddings=2048,
    )
    return LlamaForCausalLM(config).eval()


@pytest.fixture
def labels() -> LabelSet:
    return LabelSet(["PER", "LOC"], {"PER": "a person", "LOC": "a place"})


@pytest.fixture
def sentences() -> list[Sentence]:
    return [
        Sentence(["Steve", "Jobs", "founded", "Apple", "."], ["B-PER", "I-PER", "O", "O", "O"]),
        Sentence(["Ann", "met", "Ann", "in", "Rome"], ["B-PER", "O", "B-PER", "O", "B-LOC"]),
        Sentence(["<PER>", "says", "a|b", ":", '"hi"'], ["O", "O", "B-LOC", "O", "O"]),
        Sentence(["Zürich", "is", "cold"], ["B-LOC", "O", "O"]),
    ]


@pytest.fixture
def tiny_gemma3():
    """Factory: ``tiny_gemma3(window)``, a 3-layer random Gemma 3 whose first two layers
    attend in a sliding window of ``window`` tokens."""
    return _tiny_gemma3


def _tiny_gemma3(window: int):
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(
        hidden_size=32, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
        head_dim=8, intermediate_size=64, vocab_size=300, sliding_window=window,
        layer_types=["sliding_attention", "sliding_attention", "full_attention"],
    )  # fmt: skip
    return Gemma3ForCausalLM(config).eval()
