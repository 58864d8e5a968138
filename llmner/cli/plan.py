"""``llmner plan --config FILE [--gpu_memory 24GB]``: will a run fit a GPU, and the largest
per-device batch that does.

The estimate is :mod:`llmner.models.memory`'s, from the model's shape: a local folder's
``config.json``, a named model's, or the shapes llmner's registry carries for the models
its configs name; the hub is never asked. Exit status 1 when a card given with
``--gpu_memory`` cannot hold even one example, 2 for a mistake in the input.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from llmner.errors import InputError
from llmner.models.memory import (  # light: no torch
    GIB,
    LORA_TARGETS,
    ModelShape,
    TrainSetup,
    estimate,
    fits,
    largest_batch,
    parameter_counts,
    parse_memory,
    usable_memory,
)

__all__ = ["register", "run", "setup_for"]

CARDS = ("24GB", "48GB", "80GB")
# Labels of a tagging head in the estimate (CoNLL-2003's nine); a few more change nothing.
NUM_LABELS = 9


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="estimate a run's peak GPU memory and the largest batch that fits a card",
        description="Peak GPU memory of one training step of a config, from its model's "
        "shape (a local config.json or llmner's registry; never the hub), its quantization, "
        "LoRA rank and targets, batch, sequence length and checkpointing; the largest "
        "per-device batch for each card, after 1 GiB for CUDA and 10% headroom. The "
        "sequence is max_seq_length, which counts every repeated copy of a tagged sentence.",
    )
    parser.add_argument("--config", required=True, help="a run's YAML config")
    parser.add_argument(
        "--gpu_memory", action="append", metavar="SIZE",
        help="a card's memory, e.g. 24GB (repeat for more; default 24GB, 48GB and 80GB)",
    )  # fmt: skip
    parser.add_argument("--model_name_or_path", help="plan the config for another model")
    parser.add_argument("--per_device_train_batch_size", type=int, metavar="N")
    parser.add_argument("--max_seq_length", type=int, metavar="N")
    parser.add_argument("--lora_r", type=int, metavar="R")
    parser.add_argument("--repeat", type=int, metavar="K")
    parser.add_argument("--activation_checkpointing", type=_bool, metavar="{true,false}")
    parser.add_argument(
        "--sentence_tokens", type=int, metavar="N",
        help="tagging: sub-tokens of the longest sentence; the sequence is then "
        "min(max_seq_length, (1 + repeat) x N + 4) instead of max_seq_length",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print the estimate as JSON")
    parser.set_defaults(func=run)


def _run_config(args: argparse.Namespace):
    from llmner.config import RunConfig, flatten_options, load_config

    flat = flatten_options(load_config(args.config))
    names = ("model_name_or_path", "per_device_train_batch_size", "max_seq_length", "lora_r")
    flat.update({k: getattr(args, k) for k in names if getattr(args, k) is not None})
    if args.activation_checkpointing is not None:
        flat["activation_checkpointing"] = args.activation_checkpointing
    if args.repeat is not None:
        flat.pop("echo", None)
        flat["repeat"] = args.repeat
    try:
        return RunConfig.from_dict(flat)
    except InputError as e:
        raise InputError(str(e), args.config) from None


def setup_for(cfg, sentence_tokens: int | None = None):
    """The :class:`~llmner.models.memory.ModelShape`, its source and the
    :class:`~llmner.models.memory.TrainSetup` of a :class:`~llmner.config.RunConfig`, with
    a decoder's defaults where the config leaves them (4-bit, LoRA, no dropout, repeat 1).

    Raises:
        InputError: no shape for the model (naming ``HF_HUB_OFFLINE``), an encoder, a run
            that trains every weight.
    """
    from llmner.config import resolve_defaults
    from llmner.models.loading import ENCODER_TYPES
    from llmner.models.registry import shape_config

    name = cfg.model.model_name_or_path
    config, source = shape_config(name)
    try:
        shape = ModelShape.from_config(config)
    except KeyError as e:
        raise InputError(f"{source}: no {e.args[0]}; expected a decoder's config.json") from None
    if shape.model_type in ENCODER_TYPES or cfg.model.model_kind == "encoder":
        raise InputError(f"{name!r} is an encoder ({shape.model_type}); plan sizes decoders")
    if cfg.model.use_lora is False:
        raise InputError("use_lora is false; plan sizes LoRA and QLoRA runs")
    for option, value in (("lora_r", cfg.model.lora_r), ("sentence_tokens", sentence_tokens)):
        if value is not None and value < 1:
            raise InputError(f"{option} must be positive, got {value}")
    # a decoder's defaults where the config leaves them, as a run of it would get them
    model = dataclasses.replace(cfg.model, model_kind="decoder")
    cfg = resolve_defaults(dataclasses.replace(cfg, model=model))
    seq_len = cfg.data.max_seq_length
    tagging = cfg.model.format == "tagging"
    if tagging and sentence_tokens:
        seq_len = min(seq_len, cfg.options.copies * sentence_tokens + 4)
    targets = tuple(t for t in cfg.model.lora_target_modules.split(",") if t) or LORA_TARGETS
    setup = TrainSetup(
        task="tagging" if tagging else "generative",
        quantization=cfg.model.quantization,
        double_quant=cfg.model.double_quant,
        lora_r=cfg.model.lora_r,
        targets=targets,
        lora_dropout=cfg.model.lora_dropout,
        batch=cfg.training.per_device_train_batch_size,
        seq_len=seq_len,
        checkpointing=bool(cfg.training.activation_checkpointing),
        num_labels=NUM_LABELS,
    )
    return shape, source, setup


def _fixes(shape, setup, card: int) -> list[tuple[str, int]]:
    """What would fit ``card`` at batch 1: checkpointing, the largest smaller LoRA rank, the
    longest shorter sequence, each alone; failing those, each with checkpointing.
    ``(change, estimated bytes)`` pairs."""

    one = dataclasses.replace(setup, batch=1)
    options = {
        "lora_r": [r for r in (128, 64, 32, 16, 8, 4) if r < setup.lora_r],
        "max_seq_length": [n for n in (2048, 1024, 512, 256, 128, 64) if n < setup.seq_len],
    }
    for base in ({}, {"checkpointing": True}):
        if base and one.checkpointing:
            break
        found = []
        if not one.checkpointing and not base:
            candidate = dataclasses.replace(one, checkpointing=True)
            if fits(shape, candidate, card):
                found.append(("activation_checkpointing: true", estimate(shape, candidate).total))
        for option, values in options.items():
            field = "seq_len" if option == "max_seq_length" else option
            for value in values:  # the mildest change first
                candidate = dataclasses.replace(one, **base, **{field: value})
                if fits(shape, candidate, card):
                    what = f"{option}: {value}" + (" with activation_checkpointing" if base else "")
                    found.append((what, estimate(shape, candidate).total))
                    break
        if found:
            return found
    return []


def run(args: argparse.Namespace) -> int:
    try:
        cards = [(c, parse_memory(c)) for c in (args.gpu_memory or CARDS)]
    except ValueError as e:
        raise InputError(f"--gpu_memory {e}") from None
    shape, source, setup = setup_for(_run_config(args), args.sentence_tokens)
    counts, est = parameter_counts(shape, setup), estimate(shape, setup)
    answers = []
    for label, card in cards:
        batch = largest_batch(shape, setup, card)
        fixes = [] if batch else _fixes(shape, setup, card)
        answers.append(
            {"card": label, "bytes": card, "usable": usable_memory(card), "largest_batch": batch,
             "fixes": [{"change": w, "estimate": t} for w, t in fixes]}
        )  # fmt: skip
    if args.json:
        record = {
            "config": args.config, "shape_source": source, "shape": dataclasses.asdict(shape),
            "setup": dataclasses.asdict(setup), "parameters": counts,
            "estimate": {**est.parts, "total": est.total}, "cards": answers,
        }  # fmt: skip
        print(json.dumps(record, indent=1))
    else:
        _print(args.config, source, shape, setup, counts, est, answers)
    given = args.gpu_memory is not None
    return 1 if given and any(a["largest_batch"] == 0 for a in answers) else 0


def _print(config, source, shape, setup, counts, est, answers) -> None:
    lora = f"LoRA r={setup.lora_r} on {','.join(setup.targets)}"
    dropout = f", dropout {setup.lora_dropout:g}" if setup.lora_dropout else ""
    print(f"{config}: {setup.task}, {setup.quantization} + {lora}{dropout}")
    print(f"  shape from {source}: {counts['total'] / 1e9:.2f}B parameters, {shape.layers} layers")
    steps = ", activation checkpointing" if setup.checkpointing else ""
    print(
        f"  peak GPU memory at batch {setup.batch} x {setup.seq_len} tokens{steps}: "
        f"{est.total / GIB:.1f} GiB (weights {est.parts['weights'] / GIB:.1f}, "
        f"{counts['trainable'] / 1e6:.1f}M trained parameters with gradients and AdamW "
        f"{est.parts['trainable'] / GIB:.1f}, saved activations "
        f"{est.parts['activations'] / GIB:.1f}, loss and backward {est.parts['working'] / GIB:.1f})"
    )
    print("  largest per-device batch (less 1 GiB for CUDA, 10% headroom):")
    for a in answers:
        line = f"    {a['card']}: {a['largest_batch']}"
        if a["largest_batch"] == 0:
            line += f": does not fit even at batch 1 ({a['usable'] / GIB:.1f} GiB usable)"
        elif a["largest_batch"] < setup.batch:
            line += (
                f" (below the config's {setup.batch}: raise gradient_accumulation_steps to "
                "keep the effective batch)"
            )
        print(line)
        if a["largest_batch"] == 0:
            if not a["fixes"]:
                print("      nothing here fits at batch 1: a larger card, or several (FSDP)")
            for fix in a["fixes"]:
                print(
                    f"      would fit at batch 1: {fix['change']} ({fix['estimate'] / GIB:.1f} GiB)"
                )
