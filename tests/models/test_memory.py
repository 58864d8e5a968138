"""``llmner.models.memory`` against a measurement: the parameters of tiny random models
built through llmner's own loading and LoRA code, and the bytes their forward pass saves
for the backward (PyTorch's saved-tensor hooks, each storage counted once, parameters
left out), on the CPU in float32. The estimate's stated tolerance for both is zero: equal
to the parameter and to the byte."""

from __future__ import annotations

import pytest
import torch

from llmner.data.types import LabelSet
from llmner.models.memory import (
    GIB,
    LORA_TARGETS,
    ModelShape,
    TrainSetup,
    activation_bytes,
    estimate,
    largest_batch,
    parameter_counts,
    parse_memory,
)
from llmner.models.registry import SHAPES

LABELS = LabelSet(["PER", "LOC", "ORG", "MISC"])  # nine IOB2 labels, as the estimate assumes
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")
TASKS = {"tagging": "token-classification", "generative": "causal-lm"}


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """A 2-layer random Llama whose every width differs (hidden 128, MLP 352, 4 query and 2
    key/value heads, vocabulary 512), wide enough for 4-bit layers on the CPU."""
    from transformers import AutoModelForCausalLM, LlamaConfig

    torch.manual_seed(0)
    config = LlamaConfig(
        hidden_size=128, intermediate_size=352, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, vocab_size=512, max_position_embeddings=256,
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("tiny-shape")
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    return folder


def _model(folder, task: str, quantization: str, targets, dropout: float):
    from peft import get_peft_model

    from llmner.models.loading import LoraOptions, get_peft_config, load_base_model

    model = load_base_model(str(folder), TASKS[task], LABELS, quantization)
    lora = LoraOptions(r=8, alpha=16, dropout=dropout, target_modules=tuple(targets))
    model = get_peft_model(model, get_peft_config(model, TASKS[task], lora))
    return model.train()


def saved_bytes(model, batch: dict) -> int:
    """Bytes the forward pass keeps for the backward: every saved tensor's storage once,
    the model's own parameters left out."""
    params = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in params:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        model(**batch)
    return sum(storages.values())


def _batch(task: str, batch: int, seq: int, padded: bool) -> dict:
    ids = torch.randint(3, 512, (batch, seq))
    mask = torch.ones(batch, seq, dtype=torch.long)
    if padded:
        mask[-1, seq // 2 :] = 0
    labels = torch.randint(0, len(LABELS.bio_labels), (batch, seq)) if task == "tagging" else ids
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


CASES = {
    "tagging-all-padded": ("tagging", "none", LORA_TARGETS, 0.0, True),
    "tagging-attention-dropout": ("tagging", "none", ATTENTION, 0.1, True),
    "tagging-4bit-dropout-unpadded": ("tagging", "4bit", LORA_TARGETS, 0.05, False),
    "generative-all-padded": ("generative", "none", LORA_TARGETS, 0.0, True),
    "generative-4bit-qv": ("generative", "4bit", ("q_proj", "v_proj"), 0.0, False),
}


@pytest.mark.parametrize("case", CASES.values(), ids=list(CASES))
def test_parameters_and_saved_activations_equal_a_measured_cpu_run(tiny_dir, case):
    task, quantization, targets, dropout, padded = case
    model = _model(tiny_dir, task, quantization, targets, dropout)
    shape = ModelShape.from_config(model.config.to_dict())
    setup = TrainSetup(
        task=task, quantization=quantization, lora_r=8, targets=targets, lora_dropout=dropout,
        batch=3, seq_len=24, device="cpu", padded=padded,
    )  # fmt: skip
    counts = parameter_counts(shape, setup)
    named = dict(model.named_parameters())
    assert counts["lora"] == sum(p.numel() for n, p in named.items() if "lora_" in n)
    assert counts["trainable"] == sum(p.numel() for p in named.values() if p.requires_grad)
    if quantization == "none":  # 4-bit weights are packed two to a byte
        base = [p for n, p in named.items() if "lora_" not in n and "modules_to_save" not in n]
        assert counts["total"] == sum(p.numel() for p in base)
    torch.manual_seed(1)
    measured = saved_bytes(model, _batch(task, 3, 24, padded))
    assert activation_bytes(shape, setup)["saved"] == measured


def test_nf4_weights_and_their_constants_match_the_loaded_model(tiny_dir):
    """Packed NF4 bytes exactly; the absmax constants within 1% (blocks round up on tiny
    matrices; the 1 KiB code tables per layer of double quantization are left out)."""
    import bitsandbytes as bnb

    model = _model(tiny_dir, "tagging", "4bit", LORA_TARGETS, 0.0)
    layers = [m for m in model.modules() if isinstance(m, bnb.nn.Linear4bit)]
    packed = sum(m.weight.numel() for m in layers)
    constants = sum(
        m.weight.quant_state.absmax.nbytes + m.weight.quant_state.state2.absmax.nbytes
        for m in layers
    )
    shape = ModelShape.from_config(model.config.to_dict())
    quantizable = parameter_counts(shape, TrainSetup(device="cpu"))["quantizable"]
    assert packed == quantizable // 2
    assert constants == pytest.approx(quantizable * (1 / 64 + 4 / 16384), rel=0.01)


def test_checkpointing_and_a_smaller_rank_shrink_the_estimate():
    shape = ModelShape(4096, 14336, 32, 32, 8, 128, 128256)
    plain = TrainSetup(batch=8, seq_len=1024)
    assert estimate(shape, TrainSetup(batch=8, seq_len=1024, checkpointing=True)).total < (
        estimate(shape, plain).total / 3
    )
    assert estimate(shape, TrainSetup(batch=8, seq_len=1024, lora_r=8)).total < (
        estimate(shape, plain).total
    )


def test_largest_batch_is_the_edge_of_what_fits():
    shape = ModelShape(4096, 14336, 32, 32, 8, 128, 128256)
    setup = TrainSetup(seq_len=1024, checkpointing=True)
    batch = largest_batch(shape, setup, 24 * GIB)
    limit = (24 * GIB - GIB) / 1.10
    assert estimate(shape, TrainSetup(batch=batch, seq_len=1024, checkpointing=True)).total <= limit
    assert (
        estimate(shape, TrainSetup(batch=batch + 1, seq_len=1024, checkpointing=True)).total > limit
    )
    assert largest_batch(shape, TrainSetup(seq_len=8192), 12 * GIB) == 0


@pytest.mark.parametrize("text", ["24", "GB", "-1GB", "24TB", ""])
def test_memory_sizes_that_are_not_sizes_are_refused(text):
    with pytest.raises(ValueError, match="not a memory size"):
        parse_memory(text)


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_registry_shape_counts_what_transformers_builds(name):
    """Every registry shape builds in transformers (on the meta device: no memory) with
    exactly the parameters the estimate counts, for the causal LM and the tagging model."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForTokenClassification

    fields = dict(SHAPES[name])
    config = AutoConfig.for_model(fields.pop("model_type"), **fields, num_labels=9)
    shape = ModelShape.from_config(config.to_dict())
    with torch.device("meta"):
        for task, auto in (
            ("generative", AutoModelForCausalLM),
            ("tagging", AutoModelForTokenClassification),
        ):
            built = auto.from_config(config).num_parameters()
            assert built == parameter_counts(shape, TrainSetup(task=task))["total"], task
