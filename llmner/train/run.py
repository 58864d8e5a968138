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
import os
import shutil
import time
from pathlib import Path

import torch

from llmner.config import FinetuneConfig, save_config
from llmner.data.loading import labels_for, load_sentences
from llmner.data.types import LabelSet, Sentence
from llmner.errors import InputError
from llmner.eval.evaluate import evaluate, write_predictions
from llmner.formats import build_format
from llmner.io import peak_rss_mb, write_json_atomic
from llmner.models.attention import set_bidirectional
from llmner.models.loading import (
    LoraOptions,
    get_peft_config,
    load_base_model,
    load_tokenizer,
)
from llmner.models.quantization import dequantize_for_inference, is_quantized
from llmner.train.trainer import (
    COMPLETE_MARK,
    CSVLoggerCallback,
    NERTrainer,
    TokenCounter,
    latest_checkpoint,
)

__all__ = ["load_data", "run_finetune"]


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
        splits[split] = sentences if n is None else sentences[:n]
    labels = labels_for(cfg.train_file or cfg.dataset, splits["train"])
    return splits, labels


def _training_arguments(cfg: FinetuneConfig, out: Path, has_eval: bool):
    from transformers import TrainingArguments

    cuda = torch.cuda.is_available()
    evaluate_during = has_eval and cfg.eval_strategy != "no"
    return TrainingArguments(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        learning_rate=cfg.learning_rate,
        weight_decay=cfg.weight_decay,
        warmup_steps=cfg.warmup_ratio,  # a float below 1 is a fraction of the steps
        lr_scheduler_type=cfg.lr_scheduler_type,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        per_device_eval_batch_size=cfg.per_device_eval_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
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
        bf16=cuda and torch.cuda.is_bf16_supported(),
        train_sampling_strategy="group_by_length",
        length_column_name="length",
        ddp_find_unused_parameters=False,
        activation_checkpointing=cfg.gradient_checkpointing,
        remove_unused_columns=False,
        dataloader_num_workers=0,
    )


def _build_model(cfg: FinetuneConfig, fmt_task: str, labels: LabelSet):
    from peft import get_peft_model

    model = load_base_model(
        cfg.model_name_or_path,
        fmt_task,
        labels,
        cfg.quantization,
        cfg.double_quant,
        quant_storage=cfg.quant_storage,
    )
    layers = set_bidirectional(model, cfg.bidirectional)
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
        model = get_peft_model(model, get_peft_config(model, fmt_task, lora))
    return model, layers


def run_finetune(cfg: FinetuneConfig, callbacks: list | None = None) -> dict:
    """Train, keep the best adapter, score it on the test split, write the run directory.

    Args:
        cfg: the run's configuration.
        callbacks: extra ``TrainerCallback`` objects.
    """
    from transformers import EarlyStoppingCallback, set_seed

    from llmner.distributed import state as distributed_state

    state = distributed_state()
    set_seed(cfg.seed)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    splits, labels = load_data(cfg)
    tokenizer = load_tokenizer(cfg.model_name_or_path)
    fmt = build_format(cfg, labels, tokenizer, train_sentences=splits["train"])
    model, bidir_layers = _build_model(cfg, fmt.task, labels)
    train_ds = fmt.encode(splits["train"])
    counter = TokenCounter(fmt.collator())
    callbacks = [CSVLoggerCallback(out / "log.csv"), *(callbacks or [])]
    args = _training_arguments(cfg, out, bool(splits["validation"]))
    if args.load_best_model_at_end and cfg.early_stopping_patience > 0:
        callbacks.append(EarlyStoppingCallback(cfg.early_stopping_patience))
    trainer = NERTrainer(
        model=model,
        args=args,
        train_dataset=train_ds,
        data_collator=counter,
        processing_class=tokenizer,
        callbacks=callbacks,
        ner_format=fmt,
        eval_dataset=splits["validation"] or None,
        eval_sentences=splits["validation"],
        head_learning_rate=cfg.head_learning_rate,
    )
    if state.is_main_process:
        save_config(cfg, out / "config.yaml", {"labels": labels.to_dict(), **_describe(fmt)})
        for stale in ("metrics.json", "predictions.conll"):  # from an earlier, killed attempt
            (out / stale).unlink(missing_ok=True)
    resume = _resolve_resume(cfg.resume_from_checkpoint, out / "checkpoints")
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=resume)
    train_seconds = time.perf_counter() - start
    tokens = _sum_over_processes(counter.tokens)
    trainable = _count_trainable(trainer.model)
    if state.is_main_process:
        _save_adapter(trainer.model, tokenizer, out / "adapter")
    state.wait_for_everyone()
    eval_model = trainer.model
    eval_path = "quantized"
    if cfg.eval_dequantized and not torch.cuda.is_available() and is_quantized(eval_model):
        dequantize_for_inference(eval_model)
        eval_path = "dequantized-fp32 (NF4 values, LoRA merged)"
    metrics, pred = evaluate(fmt, eval_model, splits["test"], cfg.per_device_eval_batch_size)
    metrics.update(
        model=cfg.model_name_or_path,
        format=cfg.format,
        quantization=cfg.quantization,
        seed=cfg.seed,
        num_train_sentences=len(splits["train"]),
        num_train_examples=len(train_ds),
        train_seconds=train_seconds,
        train_tokens=tokens,
        train_tokens_per_second=tokens / train_seconds if train_seconds else 0.0,
        train_loss=result.training_loss,
        num_truncated_train_examples=getattr(fmt, "num_truncated", 0),
        train_steps=result.global_step,
        trainable_parameters=trainable,
        peak_rss_mb=peak_rss_mb(),
        num_processes=state.num_processes,
        eval_path=eval_path,
        eval_data=str(cfg.test_file or f"{cfg.dataset}:test"),
        best_validation_f1=trainer.state.best_metric,
        bidirectional_layers=bidir_layers,
        **_describe(fmt),
    )
    if torch.cuda.is_available():
        metrics["peak_gpu_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
    if state.is_main_process:
        write_predictions(out / "predictions.conll", splits["test"], pred)
        write_json_atomic(out / "metrics.json", metrics)
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
    tmp = target.with_name(target.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    old = target.with_name(target.name + ".old")
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)
