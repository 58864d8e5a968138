"""Timing LoRA training steps and batched generation, with llmner's own code.

Training goes through the path ``run_finetune`` takes: the config's
``TrainingArguments`` (bf16 autocast on a GPU), the model built by the run's own
``build_model`` (``load_base_model`` + ``get_peft_config``), the format's collator and
:class:`~llmner.train.trainer.NERTrainer`. Steps are timed by a callback that
synchronises the GPU at each step end; the first ``warmup`` steps are left out.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from llmner.config import RunConfig

__all__ = [
    "StepTimer",
    "flops_per_token",
    "generation_throughput",
    "gpu_memory",
    "train_throughput",
]


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class StepTimer(TrainerCallback):
    """Records the wall-clock time at the end of every optimizer step (GPU synchronised)."""

    def __init__(self) -> None:
        self.ends: list[float] = []

    def on_step_end(self, args, state, control, **kwargs):
        _sync()
        self.ends.append(time.perf_counter())


def gpu_memory() -> dict[str, float | None]:
    """Peak allocated and reserved GPU memory since the last reset, in GiB."""
    if not torch.cuda.is_available():
        return {"peak_allocated_gib": None, "peak_reserved_gib": None}
    return {
        "peak_allocated_gib": torch.cuda.max_memory_allocated() / 2**30,
        "peak_reserved_gib": torch.cuda.max_memory_reserved() / 2**30,
    }


def flops_per_token(matmul_params: int, num_layers: int, hidden: int, seq_len: int) -> dict:
    """Training FLOPs per token with a frozen base and LoRA adapters.

    ``model = 4 * matmul_params``: forward (2 per weight) plus the backward pass through
    the activations (2 per weight); a frozen weight gets no gradient, so the third
    product of full training is skipped. LoRA's own products (r=16) are left out.
    ``attention = 12 * layers * hidden * seq_len``: the score and value products, forward
    and backward, counted without the causal half (as PaLM's appendix does).

    Example:
        >>> flops_per_token(1000, 2, 8, 16)["model"]
        4000
    """
    model = 4 * matmul_params
    attention = 12 * num_layers * hidden * seq_len
    return {"model": model, "attention": attention, "total": model + attention}


def _training_args(cfg: RunConfig, out: Path):
    from transformers.trainer_utils import SaveStrategy

    from llmner.train.run import training_arguments

    args = training_arguments(cfg, out, has_eval=False)
    args.save_strategy = SaveStrategy.NO  # no checkpoint at the end of the timed steps
    args.report_to = []
    args.disable_tqdm = True
    return args


def train_throughput(
    model, fmt, features: list[dict], cfg: RunConfig, warmup: int, out: Path
) -> dict:
    """Train ``model`` for ``cfg.training.max_steps`` steps on ``features``; time all but the
    first ``warmup``. Returns tokens/s, seconds per step, peak GPU memory and the loss.

    Every feature must have the same length (no padding), so tokens per step are
    ``batch * length``. The trainer is returned too, so that the caller can generate
    with the trained model and free it afterwards.
    """
    from llmner.train.trainer import NERTrainer

    timer = StepTimer()
    args = _training_args(cfg, out)
    trainer = NERTrainer(
        model=model,
        args=args,
        train_dataset=features,
        data_collator=fmt.collator(),
        processing_class=fmt.tokenizer,
        callbacks=[timer],
        ner_format=fmt,
        eval_sentences=[],
    )
    weights = torch.cuda.memory_allocated() / 2**30 if torch.cuda.is_available() else None
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    _sync()
    result = trainer.train()
    steps = len(timer.ends) - warmup
    if steps < 1:
        raise ValueError(f"max_steps={cfg.training.max_steps} leaves no timed step after {warmup}")
    seconds = timer.ends[-1] - timer.ends[warmup - 1] if warmup else timer.ends[-1]
    tokens = steps * cfg.training.per_device_train_batch_size * len(features[0]["input_ids"])
    return {
        "timed_steps": steps,
        "seconds_per_step": seconds / steps,
        "tokens_per_s": tokens / seconds,
        "train_loss": result.training_loss,
        "model_memory_gib": weights,
        **gpu_memory(),
    }, trainer


@torch.no_grad()
def generation_throughput(
    model,
    num_prompts: int,
    prompt_len: int,
    new_tokens: int,
    vocab_size: int,
    pad_id: int,
    end_id: int,
    seed: int = 0,
    repeats: int = 3,
) -> dict:
    """Sentences/s of greedy batched generation (left padding, KV cache) from
    ``num_prompts`` random prompts of ``prompt_len`` tokens in one batch: the median of
    ``repeats`` runs after one untimed run of the same shapes, with the generative
    format's own (unconstrained) ``generate``.
    """
    from llmner.formats.generative.decoding import generate

    g = torch.Generator().manual_seed(seed)
    prompts = torch.randint(3, vocab_size, (num_prompts, prompt_len), generator=g).tolist()
    kwargs = dict(pad_id=pad_id, end_ids=[end_id], batch_size=num_prompts)
    generate(model, prompts, [new_tokens] * num_prompts, **kwargs)  # warm-up, same shapes
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    runs = []
    for _ in range(repeats):
        _sync()
        start = time.perf_counter()
        outs = generate(model, prompts, [new_tokens] * num_prompts, **kwargs)
        _sync()
        runs.append(time.perf_counter() - start)
    seconds = statistics.median(runs)
    written = sum(len(o) for o in outs)
    return {
        "generation_source": "llmner.formats.generative.decoding.generate (unconstrained)",
        "prompts": num_prompts,
        "prompt_len": prompt_len,
        "max_new_tokens": new_tokens,
        "new_tokens_written": written,
        "sentences_per_s": num_prompts / seconds,
        "new_tokens_per_s": written / seconds,
        "generation_peak_allocated_gib": gpu_memory()["peak_allocated_gib"],
    }
