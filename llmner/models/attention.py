"""Letting every token see the whole sentence: lifting the causal mask of a decoder.

A decoder attends causally, so a token's representation knows nothing of the words that
follow it, a handicap for tagging. :func:`set_bidirectional` registers an attention
function with transformers' ``AttentionInterface`` that, in the chosen layers, replaces
the causal mask by a padding-only mask (LS-unLLaMA, BiLLM). It works for any model whose
attention goes through that interface (Llama, Mistral, Qwen2, Gemma, ...).
"""

from __future__ import annotations

from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

__all__ = ["BIDIRECTIONAL_ATTENTION", "attention_layers", "parse_layers", "set_bidirectional"]

BIDIRECTIONAL_ATTENTION = "llmner_bidirectional"
_FLAG = "llmner_bidirectional"


def _bidirectional_sdpa(module, query, key, value, attention_mask, **kwargs):
    if getattr(module, _FLAG, False):
        kwargs["is_causal"] = False
        if attention_mask is not None:
            # With any padding side the last query row of a causal mask admits exactly
            # the non-padding keys: spread it over every query.
            attention_mask = attention_mask[..., -1:, :].expand_as(attention_mask)
    return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)


def _register() -> None:
    AttentionInterface.register(BIDIRECTIONAL_ATTENTION, _bidirectional_sdpa)
    AttentionMaskInterface.register(BIDIRECTIONAL_ATTENTION, sdpa_mask)


def attention_layers(model) -> list:
    """The self-attention modules of a decoder, bottom to top."""
    return [
        m for _, m in model.named_modules() if hasattr(m, "is_causal") and hasattr(m, "layer_idx")
    ]


def parse_layers(spec: str, num_layers: int) -> list[int]:
    """Which layers to make bidirectional.

    ``none``, ``all``, ``upper:K`` (the top K layers) or a comma list of indices.

    Example:
        >>> parse_layers("upper:2", 6)
        [4, 5]
        >>> parse_layers("0,3", 6)
        [0, 3]
        >>> parse_layers("none", 6)
        []
    """
    if spec in ("none", "", None):
        return []
    if spec == "all":
        return list(range(num_layers))
    if spec.startswith("upper:"):
        k = int(spec.split(":", 1)[1])
        if not 0 < k <= num_layers:
            raise ValueError(f"upper:{k} needs 1..{num_layers} layers")
        return list(range(num_layers - k, num_layers))
    layers = [int(x) for x in spec.split(",")]
    bad = [i for i in layers if not 0 <= i < num_layers]
    if bad:
        raise ValueError(f"layers {bad} outside 0..{num_layers - 1}")
    return layers


def set_bidirectional(model, spec: str) -> list[int]:
    """Lift the causal mask in the layers ``spec`` names (see :func:`parse_layers`).

    Returns the layer indices made bidirectional. A model without such attention
    layers (an encoder) is left as it is when ``spec`` is ``none``.
    """
    layers = attention_layers(model)
    chosen = parse_layers(spec, len(layers)) if layers else []
    if not chosen:
        return []
    _register()
    for i, module in enumerate(layers):
        setattr(module, _FLAG, i in chosen)
    config = model.config
    config._attn_implementation = BIDIRECTIONAL_ATTENTION
    for sub in ("text_config",):
        if hasattr(config, sub):
            getattr(config, sub)._attn_implementation = BIDIRECTIONAL_ATTENTION
    return chosen
