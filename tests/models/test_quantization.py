"""4-bit loading on the CPU and the dequantized fast path (bitsandbytes' CPU backend)."""

import pytest
import torch

from llmner.data.types import LabelSet
from llmner.models.loading import LoraOptions, get_peft_config, load_base_model
from llmner.models.quantization import (
    dequantize_for_inference,
    describe_numerics,
    is_quantized,
    restore_cpu_4bit_layout,
)

pytest.importorskip("bitsandbytes")
LABELS = LabelSet(["LOC", "PER"])


@pytest.fixture
def quantized_lora(tiny_llama_128_dir):
    from peft import get_peft_model

    model = load_base_model(str(tiny_llama_128_dir), "token-classification", LABELS, "4bit")
    model = get_peft_model(model, get_peft_config(model, "token-classification", LoraOptions(r=4)))
    for name, p in model.named_parameters():
        if "lora_B" in name:  # a non-zero update, so merging it matters
            torch.nn.init.normal_(p, std=0.05)
    return model.eval()


def test_4bit_keeps_the_head_out_of_quantization(quantized_lora):
    import bitsandbytes as bnb

    assert is_quantized(quantized_lora)
    head = quantized_lora.base_model.model.score.modules_to_save["default"]
    assert not isinstance(head, bnb.nn.Linear4bit)
    assert head.weight.dtype == torch.float32


def test_dequantized_model_matches_the_4bit_model(quantized_lora):
    ids = torch.randint(0, 300, (3, 9), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = quantized_lora(input_ids=ids).logits.float()
        n = dequantize_for_inference(quantized_lora)
        after = quantized_lora(input_ids=ids).logits
    assert n == 2 * 7  # every projection of both layers
    assert not is_quantized(quantized_lora)
    frozen = [n for n, p in quantized_lora.named_parameters() if "layers" in n and p.requires_grad]
    assert not frozen, "dequantized layers are for inference: nothing in them is trainable"
    # 4-bit layers compute in bfloat16; the dequantized ones in float32.
    assert torch.allclose(before, after, atol=3e-2), (before - after).abs().max()
    assert torch.equal(before.argmax(-1), after.argmax(-1))


def test_numerics_name_nf4_and_its_compute_dtype_then_float32_once_dequantized(quantized_lora):
    assert describe_numerics(quantized_lora) == {
        "weights": "nf4",
        "dtype": "float32",  # the unquantized parts on the CPU, and the adapters
        "compute_dtype": "bfloat16",
    }
    dequantize_for_inference(quantized_lora)
    assert describe_numerics(quantized_lora) == {"weights": "float32", "dtype": "float32"}


def test_training_after_an_eval_pass_restores_the_trainable_layout(quantized_lora):
    ids = torch.randint(0, 300, (2, 5), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        quantized_lora(input_ids=ids)  # may repack weights for the CPU inference kernel
    restore_cpu_4bit_layout(quantized_lora)
    quantized_lora.train()
    loss = quantized_lora(input_ids=ids, labels=torch.zeros_like(ids)).loss
    loss.backward()
    lora_a = [p for n, p in quantized_lora.named_parameters() if "layers.0" in n and "lora_A" in n]
    assert lora_a and all(p.grad is not None for p in lora_a), "gradients reach the first layer"
