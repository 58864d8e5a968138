"""Inference for quantized models on the CPU: dequantize once, then fp32 or bf16 layers.

bitsandbytes' 4-bit layers unpack their 4-bit weights on every forward pass, and on the
CPU they go through bitsandbytes' CPU kernels (no speed of those is measured here).
:func:`dequantize_for_inference` does that dequantization once: every
4-bit (or 8-bit) linear layer becomes an fp32 ``nn.Linear`` holding exactly the values the
quantized layer computes with, and each LoRA update is merged into it. Predictions are
those of the quantized model; only the arithmetic (fp32 instead of the 4-bit compute
dtype) differs.

:func:`cast_for_inference` then optionally moves every weight to bf16: on a CPU with native
bf16 matrix instructions (AVX512-BF16 or AMX) its products run about twice as fast as fp32
ones, at bf16's rounding (``--eval_dtype bfloat16``; the results pages measure what that
costs in F1).
"""

from __future__ import annotations

import torch
from torch import nn

from llmner.errors import InputError

__all__ = [
    "EVAL_DTYPES",
    "EVAL_DTYPE_NAMES",
    "cast_for_inference",
    "dequantize_for_inference",
    "describe_numerics",
    "is_quantized",
    "prepare_for_inference",
    "resolve_eval_dtype",
    "restore_cpu_4bit_layout",
]


EVAL_DTYPE_NAMES = ("float32", "bfloat16")
"""What a model can be scored in (``--eval_dtype``, ``--dtype`` of evaluate and predict)."""

EVAL_DTYPES = {name: getattr(torch, name) for name in EVAL_DTYPE_NAMES}
"""The dtypes a model can be scored in (``--eval_dtype``)."""


def _bnb_classes() -> tuple:
    try:
        import bitsandbytes as bnb  # optional: this is the availability check
    except ImportError:
        return ()
    return (bnb.nn.Linear4bit, bnb.nn.Linear8bitLt)


def is_quantized(model) -> bool:
    """Whether ``model`` holds bitsandbytes layers."""
    classes = _bnb_classes()
    return bool(classes) and any(isinstance(m, classes) for m in model.modules())


def _dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def describe_numerics(model) -> dict:
    """What a loaded model computes with, for the records of a benchmark.

    ``weights``: the storage of the linear layers (``nf4``, ``fp4`` or ``int8`` for
    bitsandbytes layers, else a dtype); ``dtype``: the dtype holding most floating-point
    weights (for a quantized model: its unquantized parts and adapters);
    ``compute_dtype``: for a 4-bit model, the dtype its layers compute in. A 4-bit model
    that went through :func:`dequantize_for_inference` reports plain ``float32``.

    Example:
        >>> describe_numerics(nn.Linear(2, 2))
        {'weights': 'float32', 'dtype': 'float32'}
    """
    sizes: dict[torch.dtype, int] = {}
    for p in model.parameters():
        if p.is_floating_point():
            sizes[p.dtype] = sizes.get(p.dtype, 0) + p.numel()
    dtype = _dtype_name(max(sizes, key=sizes.get)) if sizes else None
    classes = _bnb_classes()
    layer = next((m for m in model.modules() if classes and isinstance(m, classes)), None)
    if layer is None:
        return {"weights": dtype, "dtype": dtype}
    if isinstance(layer, classes[0]):
        return {
            "weights": getattr(layer.weight, "quant_type", "4bit"),
            "dtype": dtype,
            "compute_dtype": _dtype_name(layer.compute_dtype) if layer.compute_dtype else None,
        }
    return {"weights": "int8", "dtype": dtype}


def _dequantized_weight(layer) -> torch.Tensor:
    import bitsandbytes as bnb  # optional: reached only for layers _bnb_classes() found

    if isinstance(layer, bnb.nn.Linear4bit):
        w = layer.weight
        data, state = w.data, w.quant_state
        if getattr(state, "packing_format_for_cpu", False):
            # bitsandbytes repacks 4-bit weights for its CPU kernel after an eval forward.
            from bitsandbytes.functional import _convert_weight_packed_for_cpu_inverse

            data, state = _convert_weight_packed_for_cpu_inverse(data, state)
        return bnb.functional.dequantize_4bit(data, state).float()
    state = layer.state  # Linear8bitLt
    if getattr(layer.weight, "SCB", None) is not None:
        return layer.weight.data.float() * layer.weight.SCB.float()[:, None] / 127.0
    return layer.weight.data.float() * state.SCB.float()[:, None] / 127.0


def _plain_linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    out_f, in_f = weight.shape
    lin = nn.Linear(in_f, out_f, bias=bias is not None, device=weight.device, dtype=torch.float32)
    with torch.no_grad():
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias.float())
    return lin.requires_grad_(False)


@torch.no_grad()
def dequantize_for_inference(model) -> int:
    """Replace quantized linear layers (and the LoRA layers around them) in place.

    Returns the number of layers replaced. The model can no longer be trained or saved as
    an adapter afterwards: call it on a model used only for prediction.
    """
    classes = _bnb_classes()
    if not classes:
        return 0
    replaced = 0
    for name, module in list(model.named_modules()):
        if name.endswith(".base_layer"):
            continue  # handled with the LoRA layer that wraps it
        base = getattr(module, "base_layer", None)
        if base is not None and isinstance(base, classes) and hasattr(module, "lora_A"):
            weight = _dequantized_weight(base)
            for adapter in module.active_adapters:
                if adapter in module.lora_A:
                    weight += module.get_delta_weight(adapter).float()
            new = _plain_linear(weight, base.bias)
        elif isinstance(module, classes):
            new = _plain_linear(_dequantized_weight(module), module.bias)
        else:
            continue
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name), child, new)
        replaced += 1
    if hasattr(model, "is_loaded_in_4bit"):
        model.is_loaded_in_4bit = False
    return replaced


def resolve_eval_dtype(dtype: str | torch.dtype) -> torch.dtype:
    """The ``torch.dtype`` of a name in :data:`EVAL_DTYPES` (a dtype passes through).

    Raises:
        InputError: an unknown name, with the names expected.
    """
    if not isinstance(dtype, str):
        return dtype
    if dtype not in EVAL_DTYPES:
        raise InputError(f"dtype {dtype!r}: expected one of {', '.join(EVAL_DTYPES)}")
    return EVAL_DTYPES[dtype]


@torch.no_grad()
def cast_for_inference(model, dtype: str | torch.dtype) -> int:
    """Cast every floating-point weight of an unquantized (or dequantized) model to
    ``dtype`` in place; returns how many tensors changed.

    Buffers keep their dtype: rotary frequencies, for one, lose whole radians at long
    positions when rounded to bf16, and transformers computes them in fp32 anyway.

    Example:
        >>> lin = nn.Linear(2, 2)
        >>> cast_for_inference(lin, "bfloat16"), lin.weight.dtype
        (2, torch.bfloat16)
    """
    dtype = resolve_eval_dtype(dtype)
    if is_quantized(model):
        raise ValueError("cast_for_inference: dequantize the model first")
    changed = 0
    for p in model.parameters():
        if p.is_floating_point() and p.dtype != dtype:
            p.data = p.data.to(dtype)
            changed += 1
    return changed


def restore_cpu_4bit_layout(model) -> int:
    """Undo bitsandbytes' CPU inference repacking of 4-bit weights.

    After an eval-mode forward on the CPU, bitsandbytes repacks 4-bit weights for a
    kernel that computes no gradient with respect to its input; training on after an
    evaluation must restore the ordinary layout first. Returns the layers restored.
    """
    classes = _bnb_classes()
    if not classes:
        return 0
    # bitsandbytes is optional here: imported only once _bnb_classes() found it
    from bitsandbytes.functional import _convert_weight_packed_for_cpu_inverse

    n = 0
    for module in model.modules():
        w = getattr(module, "weight", None)
        state = getattr(w, "quant_state", None)
        if state is not None and getattr(state, "packing_format_for_cpu", False):
            w.data, w.quant_state = _convert_weight_packed_for_cpu_inverse(w.data, state)
            n += 1
    return n


def prepare_for_inference(model, dtype: str | torch.dtype = "float32", dequantize: bool = True):
    """Ready a trained or loaded model to predict on this machine, in place: the one place
    a run's scoring and ``llmner.load`` prepare a model, so both predict the same tags.

    On a GPU the model is left as it is (NF4 weights, their compute dtype). On the CPU a
    quantized model is dequantized once with its LoRA update merged (when ``dequantize``:
    the same values, and the fast CPU path), and every floating-point weight is cast to
    ``dtype`` (one dtype throughout: a model stored for FSDP keeps norms and embeddings
    in bf16).

    Returns:
        How the model will compute, as ``metrics.json`` records it (``eval_path``).
    """
    name = _dtype_name(resolve_eval_dtype(dtype))
    if torch.cuda.is_available():
        return "quantized"
    path = "quantized" if name == "float32" else name
    if dequantize and is_quantized(model):
        dequantize_for_inference(model)
        short = "bf16" if name == "bfloat16" else "fp32"
        path = f"dequantized-{short} (NF4 values, LoRA merged)"
    if not is_quantized(model):
        cast_for_inference(model, name)
    return path
