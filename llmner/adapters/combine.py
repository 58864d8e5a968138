"""Combining adapters trained on the same base with different data.

The LoRA layers are combined by peft's ``add_weighted_adapter`` (``linear``, ``cat``,
``ties``, ``dare_ties``, ...). peft refuses to combine adapters whose ``modules_to_save``
hold the same module, which is where a tagging run keeps its classification head, and a
head's rows are labels, which differ between datasets. So the head is combined here, by
hand, with this rule:

* The combined label set is the union of the sources' entity types, in order of first
  appearance (first adapter's types, then the new types of the second, ...), and the head
  has one row per IOB2 label of that union (``O``, ``B-T``, ``I-T`` for each type).
* Each row (weights and bias) is the weighted mean of that row over the sources that have
  the label; a source without the label is left out and the weights renormalised over
  the others (it does not count as a zero row, which would shrink the logits of labels
  only some sources know). ``O`` is shared by all. With identical label sets this is the
  weighted mean of the heads.

A head is averaged, not summed like the LoRA updates, because it is a whole new matrix
rather than an update to shared weights. Generative runs have no head: their label sets
are united the same way and the prompt (which lists the types) must be the same template.

Example:
    >>> union_types([["Chemical", "Disease"], ["PER", "Chemical"]])
    ['Chemical', 'Disease', 'PER']
    >>> combine_rows({"O": [1.0, 3.0], "B-X": [2.0, None]}, [1.0, 1.0])
    {'O': 2.0, 'B-X': 2.0}
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model, get_peft_model_state_dict, set_peft_model_state_dict
from safetensors.torch import load_file
from transformers import AutoTokenizer

from llmner.adapters.merge import save_model_folder
from llmner.data.types import LabelSet
from llmner.errors import InputError
from llmner.io import require_empty_folder
from llmner.models.loading import head_module_names, load_base_model
from llmner.rundir.source import ModelSource, describe_base, locate

__all__ = ["METHODS", "combine_adapters", "combine_rows", "union_types"]

METHODS = ("linear", "cat", "ties", "dare_ties", "dare_linear", "svd", "magnitude_prune")
# Tagging options that change what the head's inputs mean: they must agree.
_SAME_OPTIONS = ("repeat", "echo", "bidirectional", "label_all_tokens")


def union_types(type_lists: list[list[str]]) -> list[str]:
    """Entity types of all lists, in order of first appearance."""
    out: list[str] = []
    for types in type_lists:
        out.extend(t for t in types if t not in out)
    return out


def combine_rows(rows: dict[str, list], weights: list[float]) -> dict:
    """Weighted mean of each label's rows over the sources that have it (``None``: absent)."""
    out = {}
    for label, values in rows.items():
        present = [(v, w) for v, w in zip(values, weights) if v is not None]
        total = sum(w for _, w in present)
        if not present or total == 0:
            raise InputError(f"label {label!r}: its sources' weights sum to 0")
        out[label] = sum(v * w for v, w in present) / total
    return out


def _check_compatible(sources: list[ModelSource], paths: list) -> None:
    def differ(values: list, what: str) -> None:
        if len({repr(v) for v in values}) > 1:
            listing = "; ".join(f"{p}: {v}" for p, v in zip(paths, values))
            raise InputError(f"the adapters differ in {what} ({listing}); expected the same")

    differ([describe_base(s.meta) or s.base_model() for s in sources], "base model")
    differ([s.format for s in sources], "format")
    differ([s.meta.get("num_layers") for s in sources], "num_layers")
    if sources[0].format == "tagging":
        for key in _SAME_OPTIONS:
            differ([(s.meta.get("format_options") or {}).get(key) for s in sources], key)
    else:
        opts = [s.meta.get("format_options") or {} for s in sources]
        differ(
            [(s.meta.get("prompt"), o.get("prompt_version")) for s, o in zip(sources, opts)],
            "prompt template",
        )


def _head_rows(sources, labels: LabelSet, head: str, weights: list[float]) -> dict:
    """The combined head's tensors (``weight``, ``bias``) by :func:`combine_rows`."""
    out = {}
    tensors = [load_file(str(s.path / "adapter_model.safetensors")) for s in sources]
    for part in ("weight", "bias"):
        key = f"base_model.model.{head}.{part}"
        if not all(key in t for t in tensors):
            continue
        rows = {}
        for label in labels.bio_labels:
            rows[label] = [
                t[key][s.labels.label2id[label]] if label in s.labels.label2id else None
                for s, t in zip(sources, tensors)
            ]
        combined = combine_rows(rows, weights)
        out[part] = torch.stack([combined[lab] for lab in labels.bio_labels])
    return out


def _lora_only(source: ModelSource):
    """The adapter's LoRA config and tensors without its head (``modules_to_save``)."""
    cfg = LoraConfig.from_pretrained(str(source.path))
    heads = set(cfg.modules_to_save or [])
    # task_type None: a plain PeftModel; PeftModelForTokenClassification would add the
    # head to modules_to_save again.
    cfg = dataclasses.replace(cfg, modules_to_save=None, inference_mode=False, task_type=None)
    tensors = load_file(str(source.path / "adapter_model.safetensors"))
    keep = {k: v for k, v in tensors.items() if k.split(".")[2] not in heads}
    return cfg, keep


def combine_adapters(
    adapters: list[str | Path],
    output: str | Path,
    weights: list[float] | None = None,
    method: str = "linear",
    density: float = 0.5,
    seed: int = 0,
) -> Path:
    """Combine adapters on one base into a new adapter folder (``llmner.yaml`` included).

    Args:
        adapters: run directories, their ``adapter/`` folders or exported adapters.
        output: the folder to write (must not exist or be empty).
        weights: one per adapter (default 1.0 each): the LoRA weights of peft's
            ``add_weighted_adapter``, and the head rows' weights (see the module docstring).
        method: a peft ``combination_type``: ``linear``, ``cat``, ``ties``, ``dare_ties``...
        density: the fraction of values kept by ``ties``/``dare_*``/``magnitude_prune``.
        seed: seeds ``dare_*``'s random drop.

    Raises:
        InputError: fewer than two adapters, weights of the wrong length, an unknown
            method, or adapters on different base models, formats or tagging options.
    """
    if len(adapters) < 2:
        raise InputError(f"combining needs at least two adapters, got {len(adapters)}")
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; expected one of {METHODS}")
    weights = [1.0] * len(adapters) if weights is None else [float(w) for w in weights]
    if len(weights) != len(adapters):
        raise InputError(f"{len(weights)} weights for {len(adapters)} adapters; give one each")
    require_empty_folder(output)
    sources = [locate(a) for a in adapters]
    if any(s.kind != "adapter" for s in sources):
        raise InputError("a merged model cannot be combined; give the adapters")
    _check_compatible(sources, adapters)
    first = sources[0]
    descriptions: dict = {}
    for s in sources:
        descriptions = {**s.labels.descriptions, **descriptions}
    labels = LabelSet(union_types([s.labels.types for s in sources]), descriptions)
    base = load_base_model(
        first.base_model(), first.task, labels, "none", num_layers=first.meta.get("num_layers")
    )
    names = [f"source{i}" for i in range(len(sources))]
    model = None
    for name, source in zip(names, sources):
        cfg, tensors = _lora_only(source)
        if model is None:
            model = get_peft_model(base, cfg, adapter_name=name)
        else:
            model.add_adapter(name, cfg)
        set_peft_model_state_dict(model, tensors, adapter_name=name)
    torch.manual_seed(seed)
    try:
        model.add_weighted_adapter(
            names, weights, "combined", combination_type=method, density=density
        )
    except ValueError as e:  # e.g. ranks differ for linear/ties
        raise InputError(f"peft cannot combine these adapters with {method!r}: {e}") from None
    lora = get_peft_model_state_dict(model, adapter_name="combined")
    cfg = model.peft_config["combined"]
    base = model.unload()
    heads = head_module_names(base) if first.task == "token-classification" else []
    for head in heads:  # peft loads these into the head's modules_to_save copy
        for part, value in _head_rows(sources, labels, head, weights).items():
            lora[f"base_model.model.{head}.{part}"] = value
    task_type = first.adapter_config().get("task_type")
    final = get_peft_model(
        base, dataclasses.replace(cfg, modules_to_save=heads or None, task_type=task_type)
    )
    set_peft_model_state_dict(final, lora)
    final.peft_config["default"].base_model_name_or_path = str(
        sources[0].adapter_config()["base_model_name_or_path"]
    )
    tokenizer = _tokenizer(first)
    meta = dict(
        first.meta,
        labels=labels.to_dict(),
        combined_from=[
            {"adapter": str(Path(a).resolve()), "weight": w, "types": s.labels.types}
            for a, w, s in zip(adapters, weights, sources)
        ],
        combine_method=method,
    )
    if method in ("ties", "dare_ties", "dare_linear", "magnitude_prune"):
        meta["combine_density"] = density
    save_model_folder(output, final, tokenizer, meta)
    return Path(output)


def _tokenizer(source: ModelSource):
    return AutoTokenizer.from_pretrained(source.path)
