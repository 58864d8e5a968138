"""Token-classification heads llmner adds where transformers has none (Gemma 3)."""

import pytest
import torch

from llmner.data.types import LabelSet
from llmner.models.loading import load_base_model
from llmner.train.run import run_finetune
from tests.conftest import _tiny_tokenizer
from tests.train.test_run import tiny_config


@pytest.fixture(scope="module")
def tiny_gemma3_dir(tmp_path_factory):
    """A 2-layer random Gemma 3 causal LM (one sliding-window layer) saved like a checkpoint."""
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    folder = tmp_path_factory.mktemp("tiny-gemma3")
    tokenizer = _tiny_tokenizer()
    torch.manual_seed(0)
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, head_dim=8, sliding_window=16,
        layer_types=["sliding_attention", "full_attention"],
        pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )  # fmt: skip
    Gemma3ForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def test_gemma3_loads_for_tagging_with_its_trained_body(tiny_gemma3_dir):
    from safetensors.torch import load_file

    labels = LabelSet(["LOC", "PER"])
    model = load_base_model(str(tiny_gemma3_dir), "token-classification", labels)
    assert type(model).__name__ == "Gemma3TextForTokenClassification"
    assert model.score.out_features == len(labels.bio_labels)
    saved = load_file(tiny_gemma3_dir / "model.safetensors")
    name = "model.layers.1.mlp.down_proj.weight"
    assert torch.equal(model.get_parameter(name), saved[name])  # not a fresh body


def test_gemma3_tagging_run_trains_and_predicts(tiny_gemma3_dir, tiny_conll, tmp_path):
    import llmner

    cfg = tiny_config(tiny_gemma3_dir, tiny_conll, tmp_path / "run", repeat=1, echo=False)
    metrics = run_finetune(cfg)
    assert metrics["num_train_sentences"] > 0 and 0 <= metrics["f1"] <= 1
    ner = llmner.load(tmp_path / "run")
    (doc,) = ner.predict(["Paris is in France ."])
    assert all(0 <= e["start"] < e["end"] for e in doc)
