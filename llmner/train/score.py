"""Scoring a trained run on its test split, and writing its results.

:func:`score_run` takes what :func:`~llmner.train.run.train_run` left: it scores the best
model as ``llmner predict`` and ``llmner.load`` would (prepared by
:func:`~llmner.models.quantization.prepare_for_inference`, without the bf16 autocast that
training wrapped around it), then writes ``predictions.conll`` and ``metrics.json``.
"""

from __future__ import annotations

import torch

from llmner import rundir
from llmner.distributed import state as distributed_state
from llmner.eval.evaluate import evaluate
from llmner.eval.raw_text import score_raw_text
from llmner.models.quantization import prepare_for_inference
from llmner.rundir import flat_config
from llmner.train.run import TrainedRun, describe_format, without_autocast

__all__ = ["score_run"]


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
    scores = score_raw_text(
        lambda sentences: run.fmt.predict(model, sentences, batch_size=batch).tags,
        test,
        splitter=run.splitter,
        max_words=max_words,
        word_tags=word_tags,
    )
    return scores
