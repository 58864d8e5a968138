"""Scoring a model on sentences, in one process or several.

Sentences are split into contiguous shards, one per process, without padding; each process
predicts its shard and the shards are gathered in order, so every sentence is scored exactly
once whatever the number of processes.
"""

from __future__ import annotations

import time

from accelerate.utils import gather_object

from llmner.data.types import Sentence
from llmner.distributed import state as distributed_state
from llmner.eval.scoring import score
from llmner.formats.base import Prediction, TaskFormat
from llmner.progress import quiet

__all__ = ["evaluate", "predict_sharded"]


def predict_sharded(
    fmt: TaskFormat, model, sentences: list[Sentence], batch_size: int
) -> tuple[Prediction, list[int]]:
    """Predict ``sentences`` across the processes of the current Accelerate state.

    Returns the gathered prediction (in input order, on every process) and the number of
    sentences each process scored.
    """
    state = distributed_state()
    n, k = len(sentences), state.num_processes
    bounds = [(n * r) // k for r in range(k + 1)]
    shard = sentences[bounds[state.process_index] : bounds[state.process_index + 1]]
    pred = fmt.predict(model, shard, batch_size=batch_size)
    if k == 1:
        return pred, [len(shard)]
    tags = gather_object([pred.tags])
    metrics = gather_object([pred.metrics])
    merged: dict = {}
    for m in metrics:
        for key, value in m.items():
            if isinstance(value, (int, float)) and not key.endswith("_rate"):
                merged[key] = merged.get(key, 0) + value
    _recompute_rates(merged)
    flat = [t for part in tags for t in part]
    return Prediction(flat, merged), [len(t) for t in tags]


def _recompute_rates(m: dict) -> None:
    """Rates are recomputed from summed counts rather than averaged."""
    pairs = {
        "parse_failure_rate": ("num_parse_failures", "num_outputs"),
        "hallucination_rate": ("num_hallucinated_mentions", "num_mentions"),
        "unknown_type_rate": ("num_unknown_type_mentions", "num_mentions"),
    }
    for rate, (num, den) in pairs.items():
        if num in m and den in m:
            m[rate] = m[num] / m[den] if m[den] else 0.0


def evaluate(
    fmt: TaskFormat,
    model,
    sentences: list[Sentence],
    batch_size: int = 32,
    show_progress: bool = True,
) -> tuple[dict, Prediction]:
    """Predict and score; returns metrics (seqeval scores, counts, speed) and predictions.

    A progress bar shows on a terminal unless ``show_progress`` is false (a run's
    ``--disable_tqdm``); see :mod:`llmner.progress`.
    """
    start = time.perf_counter()
    with quiet(not show_progress):
        pred, per_process = predict_sharded(fmt, model, sentences, batch_size)
    seconds = time.perf_counter() - start
    if len(pred.tags) != len(sentences):
        raise RuntimeError(f"{len(pred.tags)} predictions for {len(sentences)} sentences")
    metrics = score([s.tags for s in sentences], pred.tags)
    metrics.update(pred.metrics)
    metrics.update(
        num_eval_sentences=len(sentences),
        eval_seconds=seconds,
        eval_sentences_per_second=len(sentences) / seconds if seconds else 0.0,
        eval_sentences_per_process=per_process,
    )
    return metrics, pred
