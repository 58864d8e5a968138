"""A fine-tuning run from a config to a run directory.

``run_finetune(cfg)`` is what ``recipes/finetune.py`` calls. The run directory holds:

* ``config.yaml``: the resolved config, with the label set;
* ``metrics.json``: seqeval scores on the test split and the run's costs;
* ``predictions.conll``: token, gold tag, predicted tag;
* ``adapter/``: the LoRA adapter (head included), loadable with ``PeftModel.from_pretrained``;
* ``log.csv`` (and TensorBoard events when installed), ``checkpoints/``.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import torch

from llmner import rundir
from llmner.config import FinetuneConfig
from llmner.data.batching import TokenBudgetSampler
from llmner.data.loading import labels_for, load_sentences
from llmner.data.types import LabelSet, Sentence
from llmner.errors import InputError
from llmner.eval.evaluate import evaluate
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
from llmner.models.quantization import (
    cast_for_inference,
    dequantize_for_inference,
    is_quantized,
)
from llmner.train.augmented import AugmentCallback, augmented_train_set
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
)

TOKEN_CLS = "token-classification"

__all__ = [
    "build_model",
    "check_num_layers",
    "format_for",
    "load_data",
    "run_finetune",
    "token_budget_sampler",
    "training_arguments",
    "without_autocast",
]


def load_data(cfg: FinetuneConfig) -> tuple[dict[str, list[Sentence]], LabelSet]:
    """Train, validation and test sentences (each cut to its ``max_*_samples``)."""
    limits = {
        "train": cfg.max_train_samples,
        "validation": cfg.max_eval_samples,
        "test": cfg.max_predict_samples,
    }
    files = {"train": cfg.train_file, "validation": cfg.validation_file, "test": cfg.test_file}
    splits = {}
    for split, explicit in files.items():
        source = explicit or cfg.dataset
        sentences = load_sentences(
            source, split=None if explicit else split, strict=cfg.strict_tags
        )
        n = limits[split]
        if split == "train":
            labels = labels_for(source, sentences)  # the whole file, not the first n
        splits[split] = sentences if n is None else sentences[:n]
    _warn_unseen_types(labels, splits["train"])
    return splits, labels


def _warn_unseen_types(labels: LabelSet, train: list[Sentence]) -> None:
    """Say which entity types no training sentence shows (they can hardly be learnt)."""
    import logging

    seen = {t[2:] for s in train for t in s.tags if t != "O"}
    missing = [t for t in labels.types if t not in seen]
    if missing:
        logging.getLogger("llmner").warning(
            "no training sentence has an entity of type %s; the model can hardly predict it",
            ", ".join(missing),
        )


def without_autocast(trainer):
    """The trained model with the mixed-precision wrapper that Accelerate puts around its
    ``forward`` during training taken off (in place): it then computes as the model
    reloaded from its adapter does. Accelerate's public ``unwrap_model`` does it."""
    return trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)


def training_arguments(
    cfg: FinetuneConfig,
    out: Path,
    has_eval: bool,
    bf16: bool | None = None,
    sampler: TokenBudgetSampler | None = None,
):
    """``TrainingArguments`` for a run; with a token-budget ``sampler``, its micro-batches
    per step replace ``gradient_accumulation_steps`` (the sentences per step are kept)."""
    from transformers import TrainingArguments

    cuda = torch.cuda.is_available()
    bf16 = resolve_bf16(cfg.bf16) if bf16 is None else bf16
    batch, accumulation = cfg.per_device_train_batch_size, cfg.gradient_accumulation_steps
    if sampler is not None:
        accumulation = sampler.accumulation_steps
        batch = -(-sampler.sentences_per_step // accumulation)  # for Trainer's log only
    evaluate_during = has_eval and cfg.eval_strategy != "no"
    kwargs = dict(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a fraction of the steps
        lr_scheduler_type=cfg.lr_scheduler_type,
        per_device_train_batch_size=batch,
        per_device_eval_batch_size=cfg.per_device_eval_batch_size,
        gradient_accumulation_steps=accumulation,
        seed=cfg.seed,
        data_seed=cfg.seed,
        eval_strategy=cfg.eval_strategy if evaluate_during else "no",
        eval_steps=cfg.eval_steps,
        save_strategy=cfg.eval_strategy if evaluate_during else "epoch",
        save_steps=cfg.eval_steps or 500,
        save_total_limit=cfg.save_total_limit,
        load_best_model_at_end=evaluate_during,
        metric_for_best_model="f1",
        greater_is_better=True,
        logging_steps=cfg.logging_steps,
        report_to=["tensorboard"] if importlib.util.find_spec("tensorboard") else [],
        use_cpu=not cuda,
        bf16=bf16,
        train_sampling_strategy="group_by_length",
        length_column_name="length",
        ddp_find_unused_parameters=False,
        activation_checkpointing=cfg.gradient_checkpointing,
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )
    kwargs.update(cfg.trainer_args)  # --optim, --save_steps, ... as the user gave them
    try:
        return TrainingArguments(**kwargs)
    except ValueError as e:  # TrainingArguments' own checks of the combination
        raise InputError(f"training arguments: {str(e).splitlines()[0]}") from None


def check_num_layers(cfg: FinetuneConfig) -> None:
    """Refuse a ``num_layers`` the model does not have, from its config alone."""
    if cfg.num_layers is None:
        return
    total = model_num_layers(cfg.model_name_or_path)
    if total is not None and not 1 <= cfg.num_layers <= total:
        raise InputError(
            f"--num_layers {cfg.num_layers}: {cfg.model_name_or_path} has {total} layers; "
            f"expected 1..{total}"
        )


def token_budget_sampler(cfg: FinetuneConfig, lengths: list[int]) -> TokenBudgetSampler | None:
    """The run's token-budget sampler (``None`` when the budget is off); a budget below
    the longest training window is refused."""
    longest = max(lengths, default=0)
    budget = resolve_token_budget(cfg.max_tokens_per_batch, longest=longest)
    if not budget:
        return None
    if longest > budget:
        raise InputError(
            f"--max_tokens_per_batch {budget} is below the longest training window "
            f"({longest} tokens); expected at least {longest}, or a smaller max_seq_length"
        )
    per_step = cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps
    return TokenBudgetSampler(lengths, per_step, budget, seed=cfg.seed)


def format_for(cfg: FinetuneConfig, labels: LabelSet, tokenizer, train_sentences=None):
    """The run's task format, from ``cfg``'s validated format options."""
    return build_format(
        cfg.format,
        cfg.format_options(),
        labels,
        tokenizer,
        train_sentences=train_sentences,
        max_tokens_per_batch=resolve_token_budget(cfg.max_tokens_per_batch),
    )


def build_model(cfg: FinetuneConfig, fmt_task: str, labels: LabelSet, fmt=None, init=None):
    """The base model of ``cfg`` for ``fmt_task``, quantized as asked, prepared by the
    format ``fmt`` (e.g. the causal mask lifted), with its LoRA adapter, started from
    ``init`` (an :class:`~llmner.adapters.warm_start.InitSource`) when given; returns
    ``(model, layers the format changed)``."""
    from peft import get_peft_model

    model = load_base_model(
        cfg.model_name_or_path,
        fmt_task,
        labels,
        cfg.quantization,
        cfg.double_quant,
        quant_storage=cfg.quant_storage,
        num_layers=cfg.num_layers,
    )
    layers = fmt.prepare_model(model) if fmt is not None else []
    if cfg.quantization != "none" and cfg.gradient_checkpointing:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=True)
    if cfg.use_lora:
        lora = LoraOptions(
            cfg.lora_r,
            cfg.lora_alpha,
            cfg.lora_dropout,
            tuple(t for t in cfg.lora_target_modules.split(",") if t),
        )
        peft_config = (
            init.lora_config(cfg.lora_dropout)
            if init is not None
            else get_peft_config(model, fmt_task, lora)
        )
        model = get_peft_model(model, peft_config)
    if init is not None:
        init.load_into(model, labels)
    return model, layers


def run_finetune(cfg: FinetuneConfig, callbacks: list | None = None) -> dict:
    """Train, keep the best adapter, score it on the test split, write the run directory.

    Args:
        cfg: the run's configuration.
        callbacks: extra ``TrainerCallback`` objects.

    ``train_seconds`` counts optimizer steps only; in-training evaluation and the rest
    (checkpoint saves, logging) are reported apart, and ``peak_rss_mb`` is this run's own
    peak even when an earlier run shared the process.
    """
    from transformers import EarlyStoppingCallback, set_seed

    from llmner.adapters.warm_start import locate_init
    from llmner.distributed import state as distributed_state

    extra_callbacks = callbacks
    state = distributed_state()
    set_seed(cfg.seed)
    release_freed_memory()  # what an earlier run in this process left behind
    reset_peak_rss()
    bf16 = resolve_bf16(cfg.bf16)
    check_num_layers(cfg)
    init = locate_init(cfg) if cfg.init_adapter else None
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    splits, labels = load_data(cfg)
    tokenizer = load_tokenizer(cfg.model_name_or_path)
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
    if args.load_best_model_at_end and cfg.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(cfg.early_stopping_patience))
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
        head_learning_rate=cfg.head_learning_rate,
        train_sampler=sampler,
        compute_loss_func=token_classification_loss if fmt.task == TOKEN_CLS else None,
    )
    if state.is_main_process:
        facts = {"labels": labels.to_dict(), **_describe(fmt)}
        facts.update({"init_from": init.record} if init is not None else {})
        rundir.write_config(out, {**cfg.to_dict(), **facts})
        rundir.clear_results(out)  # of an earlier, killed attempt
    resume = _resolve_resume(cfg.resume_from_checkpoint, out / "checkpoints")
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    wall_seconds = time.perf_counter() - start
    train_peak = peak_rss_mb()
    tokens = _sum_over_processes(counter.tokens)
    padded = _sum_over_processes(counter.padded_tokens)
    trainable = _count_trainable(trainer.model)
    if state.is_main_process:
        _save_adapter(trainer.model, tokenizer, out / rundir.ADAPTER_DIR)
    state.wait_for_everyone()
    # Scored as `llmner predict` and `llmner.load` score it, so that a run's predictions
    # are the ones its adapter gives anywhere: without the bf16 autocast that Accelerate
    # wrapped around the model's forward for training (--bf16 applies to training only).
    eval_model = without_autocast(trainer)
    on_cpu = not torch.cuda.is_available()
    eval_path = "quantized"
    if cfg.eval_dequantized and on_cpu and is_quantized(eval_model):
        dequantize_for_inference(eval_model)
        short = "bf16" if cfg.eval_dtype == "bfloat16" else "fp32"
        eval_path = f"dequantized-{short} (NF4 values, LoRA merged)"
    elif cfg.eval_dtype != "float32" and on_cpu:
        eval_path = cfg.eval_dtype
    if on_cpu and not is_quantized(eval_model):
        # One dtype throughout: a 4-bit model stored for FSDP keeps its unquantized parts
        # in bf16, which only the training's autocast had reconciled with fp32 layers.
        cast_for_inference(eval_model, cfg.eval_dtype)
    metrics, pred = evaluate(fmt, eval_model, splits["test"], cfg.per_device_eval_batch_size)
    train_seconds = timer.seconds or wall_seconds
    described = _describe(fmt)
    metrics.update(
        rundir.run_facts(
            cfg.to_dict(),
            str(cfg.test_file or f"{cfg.dataset}:test"),
            described["format_options"],
            state.num_processes,
        )
    )
    per_step = (  # features per optimizer step (an augment_mode add epoch holds copies too)
        len(trainer.train_dataset) * args.num_train_epochs / max(result.global_step, 1)
        if cfg.max_steps <= 0
        else cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps
    )
    metrics.update(
        num_train_sentences=len(splits["train"]),
        num_train_examples=len(train_ds),
        train_seconds=train_seconds,
        train_wall_seconds=wall_seconds,
        train_eval_seconds=trainer.eval_seconds,
        train_save_and_other_seconds=max(wall_seconds - train_seconds - trainer.eval_seconds, 0),
        train_tokens=tokens,
        train_padded_tokens=padded,
        train_tokens_per_second=tokens / train_seconds if train_seconds else 0.0,
        train_loss=result.training_loss,
        num_truncated_train_examples=getattr(fmt, "num_truncated", 0),
        train_steps=result.global_step,
        trainable_parameters=trainable,
        train_peak_rss_mb=train_peak,
        bf16=bf16,
        max_tokens_per_batch=sampler.max_tokens if sampler else None,
        gradient_accumulation_steps=args.gradient_accumulation_steps,
        sentences_per_step=per_step,
        num_layers=cfg.num_layers or model_num_layers(cfg.model_name_or_path),
        eval_path=eval_path,
        best_validation_f1=trainer.state.best_metric,
        bidirectional_layers=bidir_layers,
        **({"prompt": described["prompt"]} if "prompt" in described else {}),
    )
    if augmented is not None:
        metrics["augmentation"] = augmented.summary()
    if torch.cuda.is_available():
        metrics["peak_gpu_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
    if state.is_main_process:
        test = splits["test"]
        rundir.write_predictions(out, [s.tokens for s in test], [s.tags for s in test], pred.tags)
        rundir.write_metrics(out, metrics)
    state.wait_for_everyone()
    return metrics


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


def _describe(fmt) -> dict:
    d = dict(fmt.describe())
    d.pop("format", None)
    return (
        {"format_options": d}
        if "prompt" not in d
        else {"prompt": d.pop("prompt"), "format_options": d}
    )


def _count_trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _sum_over_processes(value: int) -> int:
    from accelerate.utils import gather_object

    from llmner.distributed import state as distributed_state

    if distributed_state().num_processes == 1:
        return value
    return int(sum(gather_object([value])))


def _save_adapter(model, tokenizer, target: Path) -> None:
    """Save the adapter (head included) and tokenizer, atomically: a kill never leaves a
    half-written ``adapter/`` behind."""
    with atomic_dir(target) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
