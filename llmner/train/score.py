"""Scoring a trained run on its test split, and writing its results.

:func:`score_run` takes what :func:`~llmner.train.run.train_run` left (a
:class:`TrainedRun`): it scores the best
model as ``llmner predict`` and ``llmner.load`` would (prepared by
:func:`~llmner.models.quantization.prepare_for_inference`, without the bf16 autocast that
training wrapped around it), then writes ``predictions.conll`` and ``metrics.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from llmner import rundir
from llmner.config import RunConfig
from llmner.data.text import DEFAULT_SPLITTER
from llmner.data.types import Sentence
from llmner.distributed import state as distributed_state
from llmner.eval.evaluate import evaluate
from llmner.eval.raw_text import score_raw_text
from llmner.models.quantization import prepare_for_inference
from llmner.rundir import flat_config
from llmner.train.trainer import NERTrainer

__all__ = ["TrainedRun", "describe_format", "score_run", "without_autocast"]


@dataclass
class TrainedRun:
    """What training leaves for scoring: the run's config (defaults resolved), its
    directory, format and data, the trainer holding the best model, the facts of
    training that ``metrics.json`` records, and the word splitter that reproduces the
    training words from their text (``splitter`` in ``config.yaml``)."""

    cfg: RunConfig
    out: Path
    fmt: object
    splits: dict[str, list[Sentence]]
    trainer: NERTrainer
    facts: dict
    splitter: str = DEFAULT_SPLITTER


def without_autocast(trainer):
    """The trained model with the mixed-precision wrapper that Accelerate puts around its
    ``forward`` during training taken off (in place): it then computes as the model
    reloaded from its adapter does. Accelerate's public ``unwrap_model`` does it."""
    return trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)


def describe_format(fmt) -> dict:
    """The format's record for ``config.yaml``: its options (and prompt, if any)."""
    d = dict(fmt.describe())
    d.pop("format", None)
    return (
        {"format_options": d}
        if "prompt" not in d
        else {"prompt": d.pop("prompt"), "format_options": d}
    )


def score_run(run: TrainedRun) -> dict:
    """Score ``run``'s best model on its test split and write the run's results.

    Returns:
        The contents of ``metrics.json``: seqeval scores, the run's facts, training's
        facts and costs.
    """
    cfg, state = run.cfg, distributed_state()
    # Without the autocast that Accelerate wrapped around the forward for training
    # (--bf16 applies to training only): the predictions are the adapter's anywhere.
    model = without_autocast(run.trainer)
    eval_path = prepare_for_inference(
        model, cfg.training.eval_dtype, dequantize=cfg.training.eval_dequantized
    )
    test = run.splits["test"]
    metrics, pred = evaluate(
        run.fmt, model, test, cfg.training.per_device_eval_batch_size,
        show_progress=not cfg.training.disable_tqdm,
    )  # fmt: skip
    described = describe_format(run.fmt)
    eval_data = str(cfg.data.test_file or f"{cfg.data.dataset}:test")
    metrics.update(
        rundir.run_facts(
            flat_config(cfg.to_dict()), eval_data, described["format_options"],
            state.num_processes,
        )
    )  # fmt: skip
    metrics.update(run.facts, eval_path=eval_path)
    if cfg.training.score_raw_text and test:
        metrics["raw_text"] = _raw_text_scores(run, model, test, pred.tags)
    if "prompt" in described:
        metrics["prompt"] = described["prompt"]
    if torch.cuda.is_available():
        metrics["peak_gpu_memory_mb"] = torch.cuda.max_memory_allocated() / 2**20
    if state.is_main_process:
        rundir.write_predictions(
            run.out, [s.tokens for s in test], [s.tags for s in test], pred.tags
        )
        rundir.write_metrics(run.out, metrics)
    state.wait_for_everyone()
    return metrics


def _raw_text_scores(run: TrainedRun, model, test, word_tags) -> dict:
    """F1 on the test split's words and on the same text raw (space-joined as the data
    spaced it, split by the run's splitter), so a gap between the two shows."""
    batch = run.cfg.training.per_device_eval_batch_size
    max_words = getattr(run.fmt, "window_words", None) if run.fmt.cuts_raw_text else None
    return score_raw_text(
        lambda sentences: run.fmt.predict(model, sentences, batch_size=batch).tags,
        test,
        splitter=run.splitter,
        max_words=max_words,
        word_tags=word_tags,
    )
