"""trl's ``SFTTrainer`` on llmner's generative format: the same prompts, answers, model and
arguments, trained by trl from prompt–completion rows instead of by llmner's own
``NERTrainer`` from pre-masked features, then scored by llmner.

Measures what trl would replace: whether its completion-only loss trains the tokens
llmner's :func:`~llmner.formats.generative.encode.encode_example` trains
(:func:`compare_masks`), and a run's F1 and speed (:func:`train_with_sft`, written as a
run directory that :mod:`lab.pages` tables like any other).

Needs trl, which llmner does not depend on: ``pip install trl``.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from pathlib import Path

from transformers import TrainingArguments, set_seed

from llmner import rundir
from llmner.config import RunConfig, resolve_defaults
from llmner.data.conventions import splitter_for_run
from llmner.errors import InputError
from llmner.formats.generative.answers import render_answer
from llmner.io import peak_rss_mb, reset_peak_rss
from llmner.models.loading import load_tokenizer
from llmner.models.numerics import resolve_bf16
from llmner.provenance import mark_start
from llmner.train.run import build_model, format_for, load_data, training_arguments
from llmner.train.score import TrainedRun, describe_format
from llmner.train.trainer import StepTimer, TokenCounter

__all__ = [
    "SFTSetup",
    "build_sft",
    "compare_masks",
    "mask_report",
    "masks_table",
    "sft_config",
    "sft_rows",
    "train_with_sft",
]

TRAINER = "trl.SFTTrainer"


def sft_rows(fmt, sentences) -> list[dict]:
    """Conversational prompt–completion rows, one per training piece of each sentence
    (the pieces llmner's own encoding trains on): the format's system turn when it has
    one, the rendered template as the user turn, the answer as the assistant turn."""
    rows = []
    for sentence in sentences:
        for piece in fmt._training_pieces(sentence):
            system = [{"role": "system", "content": fmt.system_prompt}]
            prompt = (system if fmt.system_prompt is not None else []) + [
                {"role": "user", "content": fmt.user_prompt(piece)}
            ]
            answer = render_answer(piece, fmt.answer_format)
            rows.append(
                {"prompt": prompt, "completion": [{"role": "assistant", "content": answer}]}
            )
    return rows


def compare_masks(ours, theirs, tokenizer) -> dict:
    """Token by token, llmner's features (``input_ids``, ``labels``) against trl's
    (``input_ids``, and ``labels`` built from its completion mask), example by example.

    Returns counts: examples; examples with the same ids; examples whose trl ids begin
    with llmner's; examples whose ids and trained positions are the same; tokens trained by
    each; the tokens trained by one side only (decoded, with how often).
    """
    same_ids = extends = same_mask = ours_tokens = theirs_tokens = 0
    only_ours: Counter = Counter()
    only_theirs: Counter = Counter()
    for a, b in zip(ours, theirs, strict=True):
        same_ids += a["input_ids"] == b["input_ids"]
        extends += list(b["input_ids"][: len(a["input_ids"])]) == list(a["input_ids"])
        trained_a = {i for i, label in enumerate(a["labels"]) if label != -100}
        trained_b = {i for i, label in enumerate(b["labels"]) if label != -100}
        ours_tokens += len(trained_a)
        theirs_tokens += len(trained_b)
        same_mask += trained_a == trained_b and a["input_ids"] == b["input_ids"]
        only_ours.update(tokenizer.decode([a["input_ids"][i]]) for i in trained_a - trained_b)
        only_theirs.update(tokenizer.decode([b["input_ids"][i]]) for i in trained_b - trained_a)
    return {
        "examples": len(ours),
        "same_ids": same_ids,
        "sft_ids_start_with_llmner_ids": extends,
        "same_trained_positions": same_mask,
        "trained_tokens_llmner": ours_tokens,
        "trained_tokens_sft": theirs_tokens,
        "trained_only_by_llmner": dict(only_ours.most_common()),
        "trained_only_by_sft": dict(only_theirs.most_common()),
    }


def sft_config(args: TrainingArguments, max_length: int):
    """``SFTConfig`` holding every ``TrainingArguments`` value of ``args`` as it is, with
    completion-only loss and llmner's ``max_length``."""
    from trl import SFTConfig

    shared = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(TrainingArguments)
        if f.init and hasattr(args, f.name)
    }
    return SFTConfig(**shared, completion_only_loss=True, max_length=max_length)


@dataclasses.dataclass
class SFTSetup:
    """An ``SFTTrainer`` ready to train ``cfg``'s run, with what llmner's run would use."""

    cfg: RunConfig
    trainer: object
    fmt: object
    splits: dict
    labels: object
    ours: object  # llmner's training features for the same sentences
    timer: StepTimer
    counter: TokenCounter
    bf16: bool


def build_sft(cfg: RunConfig) -> SFTSetup:
    """trl's ``SFTTrainer`` on the same model, data, prompts and training arguments
    llmner's own run would use (no validation, no token-budget sampler: trl batches as it
    does)."""
    from datasets import Dataset
    from trl import SFTTrainer

    cfg = resolve_defaults(cfg)
    set_seed(cfg.training.seed)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    splits, labels = load_data(cfg)
    tokenizer = load_tokenizer(cfg.model.model_name_or_path)
    fmt = format_for(cfg, labels, tokenizer, splits["train"])
    if fmt.task == "token-classification":
        raise InputError(
            "the SFT comparison needs a generative config; expected --format generative"
        )
    bf16 = resolve_bf16(cfg.training.bf16)
    args = sft_config(training_arguments(cfg, out, has_eval=False, bf16=bf16), fmt.max_length)
    model, _ = build_model(cfg, fmt.task, labels, fmt)
    timer = StepTimer()
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=Dataset.from_list(sft_rows(fmt, splits["train"])),
        processing_class=tokenizer,
        callbacks=[timer],
    )
    counter = TokenCounter(trainer.data_collator)
    trainer.data_collator = counter
    ours = fmt.encode(splits["train"])
    return SFTSetup(cfg, trainer, fmt, splits, labels, ours, timer, counter, bf16)


def mask_report(cfg: RunConfig) -> dict:
    """:func:`compare_masks` of llmner's features against trl's, nothing trained, with
    trl's version and the provenance of the process."""
    from llmner.provenance import provenance

    setup = build_sft(cfg)
    masks = compare_masks(setup.ours, setup.trainer.train_dataset, setup.fmt.tokenizer)
    return {**masks, "trl_version": _trl_version(), "provenance": provenance()}


def train_with_sft(cfg: RunConfig) -> tuple[TrainedRun, dict]:
    """Train ``cfg``'s generative run with :func:`build_sft`'s trainer, write
    ``config.yaml`` and the adapter.

    Returns:
        The trained run, for :func:`~llmner.train.score.score_run`, and
        :func:`compare_masks` of llmner's features against trl's tokenisation.
    """
    mark_start()
    reset_peak_rss()
    s = build_sft(cfg)
    cfg, trainer, out = s.cfg, s.trainer, Path(s.cfg.output_dir)
    masks = compare_masks(s.ours, trainer.train_dataset, s.fmt.tokenizer)
    splitter = splitter_for_run(s.splits["train"])
    record = {**cfg.to_dict(), "trainer": TRAINER, "labels": s.labels.to_dict()}
    rundir.write_config(out, {**record, "splitter": splitter, **describe_format(s.fmt)})
    rundir.clear_results(out)
    start = time.perf_counter()
    result = trainer.train()
    wall = time.perf_counter() - start
    seconds = s.timer.seconds or wall
    trainer.model.save_pretrained(out / rundir.ADAPTER_DIR)
    facts = dict(
        trainer=TRAINER,
        trl_version=_trl_version(),
        num_train_sentences=len(s.splits["train"]),
        num_train_examples=len(s.ours),
        train_seconds=seconds,
        train_wall_seconds=wall,
        train_tokens=s.counter.tokens,
        train_padded_tokens=s.counter.padded_tokens,
        train_tokens_per_second=s.counter.tokens / seconds if seconds else 0.0,
        train_loss=result.training_loss,
        train_steps=result.global_step,
        train_peak_rss_mb=peak_rss_mb(),
        bf16=s.bf16,
        gradient_accumulation_steps=trainer.args.gradient_accumulation_steps,
        sentences_per_step=len(trainer.train_dataset)
        * trainer.state.epoch
        / max(result.global_step, 1),
        mask_comparison={k: v for k, v in masks.items() if "only" not in k},
    )
    return TrainedRun(cfg, out, s.fmt, s.splits, trainer, facts, splitter), masks


def _trl_version() -> str:
    from importlib.metadata import version

    return version("trl")


def masks_table(report: dict) -> str:
    """The mask comparison of :func:`compare_masks` as a markdown table."""
    from llmner.markdown import markdown_table

    def tokens(counts: dict) -> str:
        return ", ".join(f"{t!r} × {n:,}" for t, n in counts.items()) or "none"

    rows = [
        ["training examples", f"{report['examples']:,}"],
        ["same token ids", f"{report['same_ids']:,}"],
        ["trl's ids begin with llmner's", f"{report['sft_ids_start_with_llmner_ids']:,}"],
        ["same ids and same trained positions", f"{report['same_trained_positions']:,}"],
        ["tokens trained by llmner", f"{report['trained_tokens_llmner']:,}"],
        ["tokens trained by trl", f"{report['trained_tokens_sft']:,}"],
        ["trained by llmner only", tokens(report["trained_only_by_llmner"])],
        ["trained by trl only", tokens(report["trained_only_by_sft"])],
    ]
    return "\n".join(markdown_table((["", "count"], rows)))
