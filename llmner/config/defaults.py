"""Defaults that depend on the model's kind, applied where the model is known.

A decoder with no config tags with the sentence repeated once (``repeat: 1``) and no LoRA
dropout, in 4-bit with LoRA: on full CoNLL-2003 the repeated sentence scores 8.9 points
above causal tagging for Gemma 3 270M (``recipes/results/conll-full/``). Its learning
rate stays 3e-4, the rate of every full-data run there. An encoder baseline trains every
weight unquantized, the setting encoders are tuned for (LoRA on the 22M MiniLM scores half
of full fine-tuning). What was filled in is recorded under ``defaults_applied``.

Example:
    >>> from llmner.config import RunConfig
    >>> cfg = resolve_defaults(RunConfig.from_dict({"model_name_or_path": "smollm2-135m"}))
    >>> cfg.options.repeat, cfg.model.lora_dropout, cfg.model.quantization
    (1, 0.0, '4bit')
    >>> cfg.defaults_applied["model_kind"]
    'decoder'
"""

from __future__ import annotations

import dataclasses

from llmner.config.run import RunConfig
from llmner.errors import InputError
from llmner.models.loading import model_kind

__all__ = ["KIND_DEFAULTS", "resolve_defaults"]

#: Per kind: ``(group, option) -> value`` for options left unset (``None``).
KIND_DEFAULTS = {
    "decoder": {
        ("model", "quantization"): "4bit",
        ("model", "use_lora"): True,
        ("model", "lora_dropout"): 0.0,
        ("training", "learning_rate"): 3e-4,
        ("options", "repeat"): 1,
    },
    "encoder": {
        ("model", "quantization"): "none",
        ("model", "use_lora"): False,
        ("model", "lora_dropout"): 0.05,
        ("training", "learning_rate"): 3e-4,
        ("options", "repeat"): 0,
    },
}


def resolve_defaults(cfg: RunConfig) -> RunConfig:
    """``cfg`` with the options it left unset filled by its model's kind (read from the
    registry or the model's ``config.json``), the kind recorded, and the pairs the
    filled values must satisfy checked.

    Raises:
        InputError: a quantized model without LoRA.
    """
    kind = cfg.model.model_kind or model_kind(cfg.model.model_name_or_path)
    groups = {"model": cfg.model, "training": cfg.training, "options": cfg.options}
    applied = dict(cfg.defaults_applied)  # resolved twice, nothing is lost
    applied.update({} if cfg.model.model_kind else {"model_kind": kind})
    changes: dict[str, dict] = {name: {} for name in groups}
    for (group, name), value in KIND_DEFAULTS[kind].items():
        if hasattr(groups[group], name) and getattr(groups[group], name) is None:
            changes[group][name] = value
            applied[name] = value
    model = dataclasses.replace(cfg.model, model_kind=kind, **changes["model"])
    training = cfg.training
    if changes["training"]:
        training = dataclasses.replace(cfg.training, **changes["training"])
    options = dataclasses.replace(cfg.options, **changes["options"])
    if model.quantization != "none" and not model.use_lora:
        raise InputError("a quantized model can only be trained with LoRA (use_lora: true)")
    return dataclasses.replace(
        cfg, model=model, training=training, options=options, defaults_applied=applied
    )
