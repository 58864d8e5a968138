"""4-bit loading on the CPU and the dequantized fast path (bitsandbytes' CPU backend)."""

import pytest
import torch

from llmner.data.types import LabelSet
from llmner.models.loading import (
    LoraOptions,
    get_peft_config,
    get_quantization_config,
    load_base_model,
)
from llmner.models.numerics import cpu_bf16_supported
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
    # 4-bit layers compute in bf16 where the CPU has it; the dequantized ones in float32.
    assert torch.allclose(before, after, atol=3e-2), (before - after).abs().max()
    assert torch.equal(before.argmax(-1), after.argmax(-1))


def test_numerics_name_nf4_and_its_compute_dtype_then_float32_once_dequantized(quantized_lora):
    assert describe_numerics(quantized_lora) == {
        "weights": "nf4",
        "dtype": "float32",  # the unquantized parts on the CPU, and the adapters
        "compute_dtype": "bfloat16" if cpu_bf16_supported() else "float32",
    }
    dequantize_for_inference(quantized_lora)
    assert describe_numerics(quantized_lora) == {"weights": "float32", "dtype": "float32"}


@pytest.mark.parametrize("native", [True, False])
def test_4bit_layers_compute_in_bf16_only_where_the_cpu_has_it(monkeypatch, native):
    """Emulated bf16 made 4-bit training about 20 times slower on an AVX2 CPU."""
    import llmner.models.loading as loading

    monkeypatch.setattr(loading.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(loading, "cpu_bf16_supported", lambda: native)
    expected = torch.bfloat16 if native else torch.float32
    assert get_quantization_config("4bit").bnb_4bit_compute_dtype == expected


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


def test_cast_to_bf16_after_dequantizing_keeps_buffers_and_the_predictions(quantized_lora):
    from llmner.models.quantization import cast_for_inference

    ids = torch.randint(0, 300, (3, 9), generator=torch.Generator().manual_seed(0))
    buffers = {n: b.dtype for n, b in quantized_lora.named_buffers() if b.is_floating_point()}
    with torch.no_grad():
        dequantize_for_inference(quantized_lora)
        fp32 = quantized_lora(input_ids=ids).logits.float()
        assert cast_for_inference(quantized_lora, "bfloat16") > 0
        bf16 = quantized_lora(input_ids=ids).logits.float()
    assert {p.dtype for p in quantized_lora.parameters()} == {torch.bfloat16}
    assert (
        buffers
        and {n: b.dtype for n, b in quantized_lora.named_buffers() if b.is_floating_point()}
        == buffers
    ), "rotary frequencies and other buffers keep their dtype"
    assert describe_numerics(quantized_lora) == {"weights": "bfloat16", "dtype": "bfloat16"}
    assert not torch.equal(fp32, bf16), "bf16 rounds differently"
    assert torch.allclose(fp32, bf16, atol=0.1), (fp32 - bf16).abs().max()
    assert (fp32.argmax(-1) == bf16.argmax(-1)).float().mean() >= 0.9


def test_cast_refuses_a_quantized_model_and_an_unknown_dtype(quantized_lora):
    from llmner.errors import InputError
    from llmner.models.quantization import cast_for_inference

    with pytest.raises(ValueError, match="dequantize"):
        cast_for_inference(quantized_lora, "bfloat16")
    dequantize_for_inference(quantized_lora)
    with pytest.raises(InputError, match="float16.*expected one of float32, bfloat16"):
        cast_for_inference(quantized_lora, "float16")
