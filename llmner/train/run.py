"""A fine-tuning run from a config to a run directory.

``run_finetune(cfg)`` is what ``recipes/finetune.py`` calls. The run directory holds:

* ``config.yaml``: the resolved config, with the label set;
* ``metrics.json``: seqeval scores on the test split and the run's costs;
* ``predictions.conll``: token, gold tag, predicted tag;
* ``adapter/``: the LoRA adapter (head included), loadable with ``PeftModel.from_pretrained``;
* ``log.csv`` (and TensorBoard events with ``--report_to tensorboard``), ``checkpoints/``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import torch
from accelerate.utils import gather_object
from peft import get_peft_model, prepare_model_for_kbit_training
from transformers import EarlyStoppingCallback, set_seed

from llmner import rundir
from llmner.config import RunConfig, resolve_defaults
from llmner.data.batching import TokenBudgetSampler
from llmner.data.conventions import splitter_for_run
from llmner.data.loading import JSON_SUFFIXES, labels_for, load_sentences
from llmner.data.text import DEFAULT_SPLITTER
from llmner.data.types import LabelSet, Sentence
from llmner.distributed import state as distributed_state
from llmner.errors import InputError
from llmner.formats import build_format
from llmner.io import atomic_dir, peak_rss_mb, release_freed_memory, reset_peak_rss
from llmner.models.loading import (
    LoraOptions,
    get_peft_config,
    load_base_model,
    load_tokenizer,
    model_num_layers,
)
from llmner.models.numerics import resolve_bf16, resolve_token_budget
from llmner.models.quantization import describe_numerics
from llmner.models.registry import check_model
from llmner.provenance import mark_start
from llmner.train.augmented import AugmentCallback, augmented_train_set
from llmner.train.score import TrainedRun, describe_format, score_run
from llmner.train.trainer import (
    COMPLETE_MARK,
    CheckpointMarkCallback,
    CSVLoggerCallback,
    NERTrainer,
    ReleaseFreedMemory,
    StepTimer,
    TokenCounter,
    latest_checkpoint,
    token_classification_loss,
    validation_curve,
)
from llmner.train.warm_start import locate_init

TOKEN_CLS = "token-classification"

__all__ = [
    "build_model",
    "check_num_layers",
    "format_for",
    "load_data",
    "run_finetune",
    "train_run",
    "token_budget_sampler",
    "training_arguments",
]


def load_data(cfg: RunConfig) -> tuple[dict[str, list[Sentence]], LabelSet]:
    """Train, validation and test sentences (each cut to its ``max_*_samples``)."""
    limits = {
        "train": cfg.data.max_train_samples,
        "validation": cfg.data.max_eval_samples,
        "test": cfg.data.max_predict_samples,
    }
    fields = {"train": "train_file", "validation": "validation_file", "test": "test_file"}
    files = {split: getattr(cfg.data, field) for split, field in fields.items()}
    splits = {}
    for split, explicit in files.items():
        source = explicit or cfg.data.dataset
        if not explicit and any(files.values()):
            # ``dataset`` has a default: a forgotten --validation_file must not read
            # another data set's split without a word
            logging.getLogger("llmner").warning(
                "no --%s: the %s split is read from --dataset %s", fields[split], split, source
            )
        sentences = load_sentences(
            source, split=None if explicit else split, strict=cfg.data.strict_tags
        )
        n = limits[split]
        if split == "train":
            labels = labels_for(source, sentences)  # the whole file, not the first n
        splits[split] = sentences if n is None else sentences[:n]
    _warn_unseen_types(labels, splits["train"])
    return splits, labels


def _warn_unseen_types(labels: LabelSet, train: list[Sentence]) -> None:
    """Say which entity types no training sentence shows (they can hardly be learnt)."""
    seen = {t[2:] for s in train for t in s.tags if t != "O"}
    missing = [t for t in labels.types if t not in seen]
    if missing:
        logging.getLogger("llmner").warning(
            "no training sentence has an entity of type %s; the model can hardly predict it",
            ", ".join(missing),
        )


def training_arguments(
    cfg: RunConfig,
    out: Path,
    has_eval: bool,
    bf16: bool | None = None,
    sampler: TokenBudgetSampler | None = None,
):
    """The run's ``TrainingArguments``: ``cfg.training`` as given, with what only the run
    can decide: checkpoints under ``out/checkpoints``, ``bf16`` by the device when unset
    (the device itself is settled when the arguments are made: ``use_cpu`` without CUDA),
    no validation without validation sentences, and, with a token-budget ``sampler``, its
    micro-batches per step in place of ``gradient_accumulation_steps`` (the sentences per
    step are kept). A resumed run restores its callbacks' state from the checkpoint, so
    that early stopping counts the epochs without gain before the resumption too and the
    run stops where an uninterrupted one stops."""
    args = cfg.training
    at_run_time = dict(
        output_dir=str(out / "checkpoints"),
        bf16=resolve_bf16(args.bf16) if bf16 is None else bf16,
        restore_callback_states_from_checkpoint=True,
    )
    if sampler is not None:
        accumulation = sampler.accumulation_steps
        at_run_time["gradient_accumulation_steps"] = accumulation
        at_run_time["per_device_train_batch_size"] = -(-sampler.sentences_per_step // accumulation)
    if not has_eval:
        at_run_time.update(eval_strategy="no", load_best_model_at_end=False)
    return dataclasses.replace(args, **at_run_time)


def check_num_layers(cfg: RunConfig) -> None:
    """Refuse a ``num_layers`` the model does not have, from its config alone."""
    if cfg.model.num_layers is None:
        return
    total = model_num_layers(cfg.model.model_name_or_path)
    if total is not None and not 1 <= cfg.model.num_layers <= total:
        raise InputError(
            f"--num_layers {cfg.model.num_layers}: {cfg.model.model_name_or_path} has "
            f"{total} layers; expected 1..{total}"
        )


def token_budget_sampler(cfg: RunConfig, lengths: list[int]) -> TokenBudgetSampler | None:
    """The run's token-budget sampler (``None`` when the budget is off); a budget below
    the longest training window is refused."""
    longest = max(lengths, default=0)
    budget = resolve_token_budget(cfg.training.max_tokens_per_batch, longest=longest)
    if not budget:
        return None
    if longest > budget:
        raise InputError(
            f"--max_tokens_per_batch {budget} is below the longest training window "
            f"({longest} tokens); expected at least {longest}, or a smaller max_seq_length"
        )
    per_step = cfg.training.per_device_train_batch_size * cfg.training.gradient_accumulation_steps
    return TokenBudgetSampler(lengths, per_step, budget, seed=cfg.training.seed)


def format_for(cfg: RunConfig, labels: LabelSet, tokenizer, train_sentences=None):
    """The run's task format, from ``cfg``'s validated format options."""
    return build_format(
        cfg.model.format,
        cfg.options,
        labels,
        tokenizer,
        train_sentences=train_sentences,
        max_tokens_per_batch=resolve_token_budget(cfg.training.max_tokens_per_batch),
    )


def build_model(cfg: RunConfig, fmt_task: str, labels: LabelSet, fmt=None, init=None):
    """The base model of ``cfg`` for ``fmt_task``, quantized as asked, prepared by the
    format ``fmt`` (e.g. the causal mask lifted), with its LoRA adapter, started from
    ``init`` (an :class:`~llmner.train.warm_start.InitSource`) when given; returns
    ``(model, layers the format changed)``."""
    model = load_base_model(
        cfg.model.model_name_or_path,
        fmt_task,
        labels,
        cfg.model.quantization,
        cfg.model.double_quant,
        quant_storage=cfg.model.quant_storage,
        num_layers=cfg.model.num_layers,
    )
    layers = fmt.prepare_model(model) if fmt is not None else []
    if cfg.model.quantization != "none" and cfg.training.activation_checkpointing:
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    if cfg.model.use_lora:
        lora = LoraOptions(
            cfg.model.lora_r,
            cfg.model.lora_alpha,
            cfg.model.lora_dropout,
            tuple(t for t in cfg.model.lora_target_modules.split(",") if t),
        )
        peft_config = (
            init.lora_config(cfg.model.lora_dropout)
            if init is not None
            else get_peft_config(model, fmt_task, lora)
        )
        model = get_peft_model(model, peft_config)
    if init is not None:
        init.load_into(model, labels)
    return model, layers


def run_finetune(cfg: RunConfig, callbacks: list | None = None) -> dict:
    """Train, keep the best adapter, score it on the test split, write the run directory:
    :func:`train_run`, then :func:`~llmner.train.score.score_run`.

    Args:
        cfg: the run's configuration.
        callbacks: extra ``TrainerCallback`` objects.

    Returns:
        The contents of ``metrics.json``.
    """
    return score_run(train_run(cfg, callbacks))


def train_run(cfg: RunConfig, callbacks: list | None = None) -> TrainedRun:
    """Train and save the adapter (head included) under ``cfg``'s ``output_dir``, with its
    ``config.yaml``; resumes from a checkpoint when asked.

    ``train_seconds`` counts optimizer steps only; in-training evaluation and the rest
    (checkpoint saves, logging) are reported apart, and ``train_peak_rss_mb`` is this
    run's own peak even when an earlier run shared the process.
    """
    mark_start()  # metrics.json records the code the run started with
    extra_callbacks = callbacks
    cfg = resolve_defaults(cfg)
    state = distributed_state()
    set_seed(cfg.training.seed)
    release_freed_memory()  # what an earlier run in this process left behind
    reset_peak_rss()
    bf16 = resolve_bf16(cfg.training.bf16)
    check_model(cfg.model.model_name_or_path)  # a missing folder or unreachable hub id, first
    check_num_layers(cfg)
    init = locate_init(cfg) if cfg.model.init_adapter else None
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    splits, labels = load_data(cfg)
    tokenizer = load_tokenizer(cfg.model.model_name_or_path)
    fmt = format_for(cfg, labels, tokenizer, splits["train"])
    train_ds = fmt.encode(splits["train"])
    augmented = augmented_train_set(cfg, fmt, splits["train"])
    lengths = augmented.lengths if augmented is not None else train_ds["length"]
    sampler = token_budget_sampler(cfg, lengths)
    model, bidir_layers = build_model(cfg, fmt.task, labels, fmt, init)
    counter = TokenCounter(fmt.collator())
    timer = StepTimer()
    release = [] if torch.cuda.is_available() else [ReleaseFreedMemory()]
    callbacks = [CSVLoggerCallback(out / "log.csv"), CheckpointMarkCallback(), *release, timer]
    callbacks += [AugmentCallback(augmented)] if augmented is not None else []
    callbacks += extra_callbacks or []
    args = training_arguments(cfg, out, bool(splits["validation"]), bf16, sampler)
    if args.load_best_model_at_end and cfg.training.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(cfg.training.early_stopping_patience))
    trainer = NERTrainer(
        model=model,
        args=args,
        train_dataset=augmented if augmented is not None else train_ds,
        data_collator=counter,
        processing_class=tokenizer,
        callbacks=callbacks,
        ner_format=fmt,
        eval_dataset=splits["validation"] or None,
        eval_sentences=splits["validation"],
        head_learning_rate=cfg.training.head_learning_rate,
        train_sampler=sampler,
        compute_loss_func=token_classification_loss if fmt.task == TOKEN_CLS else None,
    )
    splitter = splitter_for_run(splits["train"], made_by=_splitter_of_source(cfg))
    if state.is_main_process:
        facts = {"labels": labels.to_dict(), "splitter": splitter, **describe_format(fmt)}
        facts.update({"init_from": init.record} if init is not None else {})
        rundir.write_config(out, {**cfg.to_dict(), **facts})
        rundir.clear_results(out)  # of an earlier, killed attempt
    resume = _resolve_resume(cfg.training.resume_from_checkpoint, out / "checkpoints")
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    wall_seconds = time.perf_counter() - start
    train_peak = peak_rss_mb()
    if state.is_main_process:
        _save_adapter(trainer.model, tokenizer, out / rundir.ADAPTER_DIR)
    state.wait_for_everyone()
    train_seconds = timer.seconds or wall_seconds
    per_step = (  # features per optimizer step (an augment_mode add epoch holds copies too),
        # over the epochs trained: fewer than asked when early stopping ended the run
        len(trainer.train_dataset) * trainer.state.epoch / max(result.global_step, 1)
        if cfg.training.max_steps <= 0
        else cfg.training.per_device_train_batch_size * cfg.training.gradient_accumulation_steps
    )
    tokens = _sum_over_processes(counter.tokens)
    facts = dict(
        num_train_sentences=len(splits["train"]),
        num_train_examples=len(train_ds),
        train_seconds=train_seconds,
        train_wall_seconds=wall_seconds,
        train_eval_seconds=trainer.eval_seconds,
        train_save_and_other_seconds=max(wall_seconds - train_seconds - trainer.eval_seconds, 0),
        train_tokens=tokens,
        train_padded_tokens=_sum_over_processes(counter.padded_tokens),
        train_tokens_per_second=tokens / train_seconds if train_seconds else 0.0,
        train_loss=result.training_loss,
        num_truncated_train_examples=getattr(fmt, "num_truncated", 0),
        train_steps=result.global_step,
        trainable_parameters=_count_trainable(trainer.model),
        train_peak_rss_mb=train_peak,
        bf16=bf16,
        # autocast aside, a 4-bit model's layers compute in the dtype the device decides
        numerics=describe_numerics(trainer.model),
        max_tokens_per_batch=sampler.max_tokens if sampler else None,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        sentences_per_step=per_step,
        num_layers=cfg.model.num_layers or model_num_layers(cfg.model.model_name_or_path),
        best_validation_f1=trainer.state.best_metric,
        best_validation_step=trainer.state.best_global_step,
        validation_curve=validation_curve(trainer.state.log_history, args.metric_for_best_model),
        bidirectional_layers=bidir_layers,
    )
    if augmented is not None:
        facts["augmentation"] = augmented.summary()
    return TrainedRun(cfg, out, fmt, splits, trainer, facts, splitter)


def _splitter_of_source(cfg: RunConfig) -> str | None:
    """``llmner`` when the training words were split from JSONL text by llmner itself,
    ``None`` when the data gave them (their convention is then measured)."""
    source = cfg.data.train_file or cfg.data.dataset
    return DEFAULT_SPLITTER if Path(source).suffix in JSON_SUFFIXES else None


def _resolve_resume(resume: str | None, folder: Path) -> str | None:
    """``latest`` means the newest complete checkpoint; a path must be a complete one."""
    if not resume:
        return None
    if resume == "latest":
        found = latest_checkpoint(folder)
        if found is None:
            raise InputError(
                "no complete checkpoint to resume from; expected checkpoint-N folders "
                "written by an earlier run with the same --output_dir",
                path=str(folder),
            )
        return str(found)
    path = Path(resume)
    if not (path / COMPLETE_MARK).exists():
        raise InputError(
            "not a complete llmner checkpoint (it has no completion mark: the run was "
            "stopped while saving it, or it is not a checkpoint folder)",
            path=str(path),
        )
    return str(path)


def _count_trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _sum_over_processes(value: int) -> int:
    if distributed_state().num_processes == 1:
        return value
    return int(sum(gather_object([value])))


def _save_adapter(model, tokenizer, target: Path) -> None:
    """Save the adapter (head included) and tokenizer, atomically: a kill never leaves a
    half-written ``adapter/`` behind."""
    with atomic_dir(target) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
