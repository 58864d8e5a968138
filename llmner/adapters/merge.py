"""Merging an adapter into its base: a standalone model folder that needs no peft.

The merge itself is peft's ``merge_and_unload``. LoRA updates cannot be added into
bitsandbytes 4-bit weights without re-quantizing them (which rounds the update away and
changes every weight of the layer), so a 4-bit run's base is loaded again in 16 or 32 bits
for the merge, as the QLoRA authors do. The merged model then holds the *original* base
weights plus the update, not the NF4-rounded ones the adapter was trained against: its
predictions are very close to, but not always identical with, the 4-bit adapter's.
"""

from __future__ import annotations

from pathlib import Path

import torch
import yaml

from llmner.adapters.source import META_FILE, locate
from llmner.errors import InputError
from llmner.io import atomic_dir

__all__ = ["DTYPES", "merge_adapter", "merge_model", "save_model_folder"]

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def merge_model(model):
    """Merge a ``PeftModel``'s active LoRA adapter into its base and return the base.

    Raises:
        InputError: ``model`` holds 4-bit or 8-bit bitsandbytes layers.
    """
    from llmner.models.quantization import is_quantized

    if is_quantized(model):
        raise InputError(
            "cannot merge into quantized weights: the LoRA update would be rounded to 4/8 "
            "bits together with the base, changing the model. Load the base in 16 or 32 bits "
            "(quantization='none') and merge that, e.g. with merge_adapter(ADAPTER, OUTPUT) "
            "or `llmner merge`, which does so"
        )
    if not hasattr(model, "merge_and_unload"):
        raise InputError(f"expected a peft model with a LoRA adapter, got {type(model).__name__}")
    return model.merge_and_unload()


def merge_adapter(adapter: str | Path, output: str | Path, dtype: str = "float32") -> Path:
    """Write ``output``: the merged weights, a config with the label names, the tokenizer.

    Args:
        adapter: a run directory, its ``adapter/`` or an exported adapter folder.
        output: the folder to write (must not exist or be empty).
        dtype: ``float32``, ``bfloat16`` or ``float16``: the base's dtype for the merge
            and the merged weights' dtype.

    Returns:
        ``output``. It loads with ``AutoModelForTokenClassification.from_pretrained`` (tagging
        runs; ``id2label`` names the IOB2 labels) or ``AutoModelForCausalLM`` (generative
        runs), and with :func:`llmner.load`, which reads ``llmner.yaml`` next to it. A run
        trained with ``bidirectional`` layers needs
        :func:`~llmner.models.attention.set_bidirectional` after a plain ``from_pretrained``;
        :func:`llmner.load` does that.
    """
    from llmner.adapters.source import load_model

    if dtype not in DTYPES:
        raise InputError(f"unknown dtype {dtype!r}; expected one of {list(DTYPES)}")
    source = locate(adapter)
    if source.kind != "adapter":
        raise InputError("already a merged model; expected an adapter", str(adapter))
    output = Path(output)
    if output.exists() and any(output.iterdir()):
        raise InputError("the output folder exists and is not empty", str(output))
    model, tokenizer = load_model(source, quantization="none", dtype=DTYPES[dtype])
    merged = merge_model(model)
    labels = source.labels
    if source.task == "token-classification":
        merged.config.id2label = labels.id2label
        merged.config.label2id = labels.label2id
    meta = dict(
        source.meta,
        merged_from=str(Path(adapter).resolve()),
        merged_dtype=dtype,
        quantization="none",
        trained_quantization=source.quantization,
    )
    save_model_folder(output, merged, tokenizer, meta)
    return output


def save_model_folder(output: str | Path, model, tokenizer, meta: dict) -> None:
    """Write ``output`` atomically: the model's and tokenizer's ``save_pretrained`` files
    and ``meta`` as ``llmner.yaml`` (what :func:`llmner.load` reads)."""
    with atomic_dir(output) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / META_FILE).write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
