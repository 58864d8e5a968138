"""How a run trained, in one table cell: the ``setting`` column of the results tables."""

from __future__ import annotations

from llmner.report.cells import MISSING, span

__all__ = ["setting"]


def setting(config: dict, metrics: dict | list[dict] | None = None) -> str:
    """How a run trained, in a few words: every weight or LoRA (rank), quantization,
    learning rate, epochs, the options that let tokens see the sentence, augmentation
    (its rate) and whether it started from a trained run (``--init_adapter``); with the
    run's ``metrics`` (or the metrics of each seed of one configuration), the batch in
    sentences per optimizer step, the number of optimizer steps and the epoch whose
    checkpoint was tested (its step, for a run that validated every so many steps), and
    ``fp32`` for a run that trained without bf16 autocast (:func:`_numerics`), as
    ``metrics.json`` records them (``sentences_per_step``, ``train_steps``,
    ``validation_curve``; a range where seeds differ). A spaCy run
    (``recipes/spacy_ner.py``) gives its pipeline and time cap instead of the training
    settings.

    Example:
        >>> setting({"use_lora": True, "lora_r": 16, "quantization": "4bit",
        ...          "learning_rate": 3e-4, "num_train_epochs": 1, "echo": True})
        'LoRA r16, 4bit, lr 3e-04, 1 ep, repeat 1'
        >>> setting({"use_lora": True, "lora_r": 16, "quantization": "4bit",
        ...          "learning_rate": 1.88e-3, "num_train_epochs": 1, "repeat": 2})
        'LoRA r16, 4bit, lr 1.88e-03, 1 ep, repeat 2'
        >>> setting({"use_lora": True, "lora_r": 16, "quantization": "4bit",
        ...          "learning_rate": 3e-4, "num_train_epochs": 10,
        ...          "format_options": {"repeat": 1, "bidirectional": "none"}})
        'LoRA r16, 4bit, lr 3e-04, 10 ep, repeat 1'
        >>> setting({"use_lora": False, "quantization": "none", "learning_rate": 3e-4,
        ...          "num_train_epochs": 5, "augment": "mention_replacement",
        ...          "augment_rate": 0.3, "init_adapter": "runs/conll"})
        'every weight, none, lr 3e-04, 5 ep, augment 0.3, from a trained run'
        >>> setting({"use_lora": False, "quantization": "none", "learning_rate": 3e-4,
        ...          "num_train_epochs": 5, "augment": "mention_replacement",
        ...          "augment_rate": 0.3, "augment_mode": "add"})
        'every weight, none, lr 3e-04, 5 ep, augment 0.3 added'
        >>> setting({"use_lora": False, "quantization": "none", "learning_rate": 3e-4,
        ...          "num_train_epochs": 1, "eval_dtype": "bfloat16"})
        'every weight, none, lr 3e-04, 1 ep, scored in bf16'
        >>> setting({"use_lora": True, "lora_r": 16, "quantization": "4bit",
        ...          "learning_rate": 3e-4, "num_train_epochs": 1},
        ...         [{"sentences_per_step": 12.35, "train_steps": 81},
        ...          {"sentences_per_step": 14.9, "train_steps": 67}])
        'LoRA r16, 4bit, lr 3e-04, 1 ep, 12.3–14.9 sents/step, 67–81 steps'
        >>> curve = [{"epoch": 1.0, "step": 9, "f1": 0.5}, {"epoch": 2.0, "step": 18, "f1": 0.6},
        ...          {"epoch": 3.0, "step": 27, "f1": 0.6}, {"epoch": 4.0, "step": 36, "f1": 0.4}]
        >>> setting({"use_lora": False, "quantization": "none", "learning_rate": 5e-5,
        ...          "num_train_epochs": 10}, [{"train_steps": 36, "validation_curve": curve}])
        'every weight, none, lr 5e-05, 10 ep, 36 steps, best at ep 2'
        >>> setting({"use_lora": False, "quantization": "none", "learning_rate": 5e-5,
        ...          "num_train_epochs": 1, "eval_strategy": "steps"},
        ...         [{"train_steps": 36, "validation_curve": curve}])
        'every weight, none, lr 5e-05, 1 ep, 36 steps, best at step 18'
    """
    if config and "spacy_config" in config:
        return _spacy_setting(config, metrics)
    if not config or "use_lora" not in config:
        return MISSING
    # a config.yaml keeps the format's options in their own mapping; older ones at the top
    config = {**(config.get("format_options") or {}), **config}
    parts = [f"LoRA r{config.get('lora_r')}" if config.get("use_lora") else "every weight"]
    parts.append(str(config.get("quantization")))
    mantissa, exponent = f"{config.get('learning_rate', 0):.2e}".split("e")
    parts.append(f"lr {mantissa.rstrip('0').rstrip('.')}e{exponent}")
    parts.append(f"{config.get('num_train_epochs', 0):g} ep")
    repeat = config.get("repeat") or (1 if config.get("echo") else None)
    if repeat:
        parts.append(f"repeat {repeat}")
    if config.get("bidirectional") not in (None, "none"):
        parts.append(f"bidirectional {config['bidirectional']}")
    if config.get("num_layers"):
        parts.append(f"{config['num_layers']} layers")
    if config.get("augment"):
        added = " added" if config.get("augment_mode") == "add" else ""
        parts.append(f"augment {config.get('augment_rate', 0):g}{added}")
    if config.get("init_adapter"):
        parts.append("from a trained run")
    if config.get("eval_dtype", "float32") != "float32":
        parts.append(
            "scored in bf16" if config["eval_dtype"] == "bfloat16" else config["eval_dtype"]
        )
    return ", ".join(parts + _numerics(metrics) + _progress(config, metrics))


def _numerics(metrics) -> list[str]:
    """``fp32`` where a run trained without bf16 autocast (``metrics.json``'s ``bf16``:
    the device decides when the config leaves it unset), ``bf16 or fp32`` where the
    seeds of one configuration differ; nothing where every run trained in bf16, as
    most do, or none recorded it. Under ``fp32``, ``4-bit in bf16`` where the 4-bit
    layers of such runs computed in bf16 all the same (``numerics.compute_dtype``: the
    device decides it, not autocast), ``4-bit in bf16 or fp32`` where only some did or
    some did not record it.

    Example:
        >>> _numerics([{"bf16": True}, {"bf16": False}]), _numerics({"bf16": False})
        (['bf16 or fp32'], ['fp32'])
        >>> _numerics([{"bf16": True}, {}])
        []
        >>> bf16_layers = {"bf16": False, "numerics": {"compute_dtype": "bfloat16"}}
        >>> _numerics(bf16_layers), _numerics([bf16_layers, {"bf16": False}])
        (['fp32', '4-bit in bf16'], ['fp32', '4-bit in bf16 or fp32'])
    """
    metrics = [metrics] if isinstance(metrics, dict) else list(metrics or [])
    recorded = {m["bf16"] for m in metrics if m.get("bf16") is not None}
    if False not in recorded:
        return []
    parts = ["bf16 or fp32"] if True in recorded else ["fp32"]
    layers = [
        (m.get("numerics") or {}).get("compute_dtype") for m in metrics if m.get("bf16") is False
    ]
    if "bfloat16" in layers:
        parts.append("4-bit in bf16" if set(layers) == {"bfloat16"} else "4-bit in bf16 or fp32")
    return parts


def _spacy_setting(config: dict, metrics) -> str:
    """``recipes/spacy_ner.py``'s run: spaCy's pipeline, its time cap and its progress.

    Example:
        >>> curve = [{"epoch": 3.5, "step": 201, "f1": 0.7}, {"epoch": 7.0, "step": 401, "f1": 0.6}]
        >>> _spacy_setting({"spacy_config": "c.cfg", "max_seconds": 1200.0},
        ...                {"train_steps": 401, "best_validation_step": 201,
        ...                 "validation_curve": curve})
        'spaCy CNN, no vectors, up to 1200 s, 401 steps, best at ep 3.5'
    """
    parts = ["spaCy CNN, no vectors"]
    if config.get("max_seconds"):
        parts.append(f"up to {config['max_seconds']:g} s")
    return ", ".join(parts + _progress(config, metrics))


def _progress(config: dict, metrics) -> list[str]:
    """Sentences per step, optimizer steps and the tested epoch, as the runs recorded them
    (a range over seeds)."""
    parts = []
    metrics = [metrics] if isinstance(metrics, dict) else list(metrics or [])
    batch = span([m.get("sentences_per_step") for m in metrics], "{:.3g}")
    if batch:
        parts.append(f"{batch} sents/step")
    steps = span([m.get("train_steps") for m in metrics], "{:,}")
    if steps:
        parts.append(f"{steps} steps")
    # a run evaluated every so many steps names the step, one evaluated per epoch the epoch
    by_step = config.get("eval_strategy") == "steps"
    points = [_best_point(config, m) for m in metrics]
    key, form, word = ("step", "{:,}", "step") if by_step else ("epoch", "{:.3g}", "ep")
    best = span([p and p.get(key) for p in points], form)
    if best:
        parts.append(f"best at {word} {best}")
    return parts


def _best_point(config: dict, metrics: dict) -> dict | None:
    """The evaluation (``epoch``, ``step`` and score) of the checkpoint that was tested:
    the one at the run's ``best_validation_step``, or for runs that did not record it the
    first best score of ``validation_curve`` (Trainer keeps the first of equal scores).
    ``None`` where the run recorded no curve, or tested its last checkpoint
    (``load_best_model_at_end`` off).

    Example:
        >>> curve = [{"epoch": 1.0, "step": 9, "f1": 0.5}, {"epoch": 2.0, "step": 18, "f1": 0.6}]
        >>> _best_point({}, {"validation_curve": curve})["epoch"]
        2.0
        >>> _best_point({"greater_is_better": False}, {"validation_curve": curve})["step"]
        9
        >>> _best_point({"load_best_model_at_end": False}, {"validation_curve": curve}) is None
        True
        >>> _best_point({}, {"validation_curve": [{"epoch": 1.0, "step": 9, "f1": None}, *curve]})
        {'epoch': 2.0, 'step': 18, 'f1': 0.6}
        >>> _best_point({}, {"validation_curve": curve, "best_validation_step": 9})["epoch"]
        1.0
    """
    curve = metrics.get("validation_curve") or []
    if not curve or config.get("load_best_model_at_end") is False:
        return None
    step = metrics.get("best_validation_step")
    at_step = [point for point in curve if point.get("step") == step]
    if at_step:
        return at_step[0]

    def score(point: dict) -> float:  # the one key besides epoch and step: the metric's
        value = next(v for k, v in point.items() if k not in ("epoch", "step"))
        if not isinstance(value, (int, float)):  # no score at that evaluation
            return float("-inf")
        return value if config.get("greater_is_better", True) is not False else -value

    return max(curve, key=score)
