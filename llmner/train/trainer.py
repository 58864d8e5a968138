"""The Trainer llmner trains with: Hugging Face's ``Trainer`` (and so Accelerate), scoring
on the validation sentences with the run's own format and seqeval at each evaluation.

Hand-written here, and why: ``Trainer.evaluate`` is replaced because NER is scored on
whole sentences (generative formats must generate, tagging must regroup sub-tokens and
windows), not on the loss of a padded eval batch.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import torch.nn.functional as F
from torch.utils.data import DataLoader
from transformers import Trainer, TrainerCallback

from llmner.data.types import Sentence
from llmner.errors import InputError
from llmner.eval.evaluate import evaluate
from llmner.formats.base import TaskFormat
from llmner.io import atomic_file, trim_heap
from llmner.models.quantization import restore_cpu_4bit_layout

__all__ = [
    "COMPLETE_MARK",
    "CSVLoggerCallback",
    "CheckpointMarkCallback",
    "NERTrainer",
    "ReleaseFreedMemory",
    "StepTimer",
    "TokenCounter",
    "latest_checkpoint",
    "token_classification_loss",
    "validation_curve",
    "validation_curve_from_log",
]

COMPLETE_MARK = "llmner-complete"
LOG_HEADER = ["step", "epoch", "key", "value"]


def latest_checkpoint(folder: str | Path) -> Path | None:
    """The newest checkpoint in ``folder`` that was saved completely, or ``None``.

    Example:
        >>> latest_checkpoint("/nonexistent") is None
        True
    """
    folder = Path(folder)
    if not folder.is_dir():
        return None
    done = [p for p in folder.glob("checkpoint-*") if (p / COMPLETE_MARK).exists()]
    steps = [(int(p.name.split("-")[-1]), p) for p in done if p.name.split("-")[-1].isdigit()]
    return max(steps)[1] if steps else None


class NERTrainer(Trainer):
    """A ``Trainer`` that evaluates with seqeval on sentences and can give the new head
    its own learning rate.

    Args:
        ner_format: the run's :class:`TaskFormat`.
        eval_sentences: the validation sentences.
        head_learning_rate: learning rate of the head parameters (``score``/``classifier``);
            ``None`` uses the ordinary learning rate.
        train_sampler: a batch sampler for training
            (:class:`~llmner.data.batching.TokenBudgetSampler`); ``None`` uses
            ``Trainer``'s own sampling.
    """

    def __init__(
        self,
        *args,
        ner_format: TaskFormat,
        eval_sentences: list[Sentence],
        head_learning_rate: float | None = None,
        train_sampler=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.ner_format = ner_format
        self.eval_sentences = eval_sentences
        self.head_learning_rate = head_learning_rate
        self.train_sampler = train_sampler
        self.eval_seconds = 0.0

    def get_train_dataloader(self):
        """``Trainer``'s loader, or one that takes its batches from ``train_sampler``."""
        if self.train_sampler is None:
            return super().get_train_dataloader()

        loader = DataLoader(
            self.train_dataset,
            batch_sampler=self.train_sampler,
            collate_fn=self.data_collator,
            num_workers=self.args.dataloader_num_workers,
        )
        return self.accelerator.prepare(loader)

    def create_optimizer(self, model=None):
        """Trainer's optimizer (``--optim``, its betas and eps, no weight decay on norms and
        biases), with the head's parameters in groups of their own at
        ``head_learning_rate``. Built through Trainer's public
        ``get_decay_parameter_names`` and ``get_optimizer_cls_and_kwargs``."""
        if self.optimizer is not None or self.head_learning_rate is None:
            return (
                super().create_optimizer(model) if model is not None else super().create_optimizer()
            )
        model = model or self.model
        decay = set(self.get_decay_parameter_names(model))
        groups: dict[tuple[bool, bool], list] = {}
        for name, p in model.named_parameters():
            if p.requires_grad:
                groups.setdefault((_is_head(name), name in decay), []).append(p)
        optimizer_cls, kwargs = self.get_optimizer_cls_and_kwargs(self.args, model)
        param_groups = [
            {
                "params": params,
                "weight_decay": self.args.weight_decay if decayed else 0.0,
                "lr": self.head_learning_rate if head else self.args.learning_rate,
            }
            for (head, decayed), params in sorted(groups.items())
        ]
        self.optimizer = optimizer_cls(param_groups, **kwargs)
        return self.optimizer

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval"):
        was_training = self.model.training
        start = time.perf_counter()
        metrics, _ = evaluate(
            self.ner_format, self.model, self.eval_sentences,
            self.args.per_device_eval_batch_size, show_progress=not self.args.disable_tqdm,
        )  # fmt: skip
        restore_cpu_4bit_layout(self.model)
        self.eval_seconds += time.perf_counter() - start
        if was_training:
            self.model.train()
        out = {
            f"{metric_key_prefix}_{k}": v
            for k, v in metrics.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)
        }
        self.log(out)
        self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, out)
        return out


def _is_head(name: str) -> bool:
    return ".score." in name or ".classifier." in name or name.startswith(("score.", "classifier."))


def token_classification_loss(outputs, labels, num_items_in_batch=None):
    """Cross-entropy over labelled sub-tokens, divided by the labelled sub-tokens of the
    whole optimizer step (``num_items_in_batch``), for ``Trainer(compute_loss_func=...)``.

    transformers' token-classification models accept loss keyword arguments but do not
    pass ``num_items_in_batch`` to their loss: under gradient accumulation ``Trainer``
    then neither normalises by the step's tokens nor divides by the accumulation steps,
    and the loss (and gradient) grows with the number of micro-batches. This is that
    normalisation, written here because the model's own loss omits it.
    """
    logits = outputs["logits"] if isinstance(outputs, dict) else outputs[0]
    loss = F.cross_entropy(
        logits.float().view(-1, logits.shape[-1]),
        labels.view(-1).to(logits.device),
        ignore_index=-100,
        reduction="sum",
    )
    if num_items_in_batch is None:
        return loss / labels.ne(-100).sum().clamp(min=1)
    return loss / num_items_in_batch


class TokenCounter:
    """Wraps a collator and counts the tokens it batches: ``tokens`` without padding,
    ``padded_tokens`` with it (what the model computes on)."""

    def __init__(self, collate) -> None:
        self.collate = collate
        self.tokens = 0
        self.padded_tokens = 0

    def __call__(self, features):
        batch = self.collate(features)
        self.tokens += int(batch["attention_mask"].sum())
        self.padded_tokens += batch["attention_mask"].numel()
        return batch


class CheckpointMarkCallback(TrainerCallback):
    """Marks each checkpoint complete once ``Trainer`` has saved it: a checkpoint without
    the mark (the process was killed while saving) is never resumed from."""

    def on_save(self, args, state, control, **kwargs):
        if args.should_save:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                (folder / COMPLETE_MARK).write_text("complete\n", encoding="utf-8")


class ReleaseFreedMemory(TrainerCallback):
    """Hands the C heap's freed pages back to the system after each step (glibc's
    ``malloc_trim``), so that the next step's activations, shaped differently, start from
    the memory still in use rather than from the previous steps' leftovers. Linux and
    glibc only; elsewhere it does nothing."""

    def on_step_end(self, args, state, control, **kwargs):
        trim_heap()


class StepTimer(TrainerCallback):
    """Seconds spent in optimizer steps (forward, backward, update), without the
    evaluations, logging and checkpoint saves that ``Trainer`` runs between steps."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start: float | None = None

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        if self._start is not None:
            self.seconds += time.perf_counter() - self._start
            self._start = None


def validation_curve(log_history: list[dict], metric: str | None) -> list[dict]:
    """Each validation score the run computed, in order, from Trainer's ``log_history``
    (which a resumed run restores from its checkpoint, so the epochs before the
    resumption are kept): how the tested checkpoint was chosen.

    >>> validation_curve([{"loss": 0.5, "step": 10, "epoch": 0.5},
    ...                   {"eval_f1": 0.61, "step": 20, "epoch": 1.0},
    ...                   {"eval_f1": 0.64, "step": 40, "epoch": 2.0}], "f1")
    [{'epoch': 1.0, 'step': 20, 'f1': 0.61}, {'epoch': 2.0, 'step': 40, 'f1': 0.64}]
    """
    if not metric:
        return []
    key = metric if metric.startswith("eval_") else f"eval_{metric}"
    name = key.removeprefix("eval_")
    return [
        {"epoch": entry.get("epoch"), "step": entry.get("step"), name: entry[key]}
        for entry in log_history
        if key in entry
    ]


def validation_curve_from_log(path: str | Path, metric: str = "f1") -> list[dict]:
    """The validation scores a run's ``log.csv`` (:class:`CSVLoggerCallback`) holds, in the
    shape of :func:`validation_curve`: for runs made before ``metrics.json`` recorded it.
    Logs written before :class:`CSVLoggerCallback` trimmed them at the start of training
    hold every attempt: where their steps go back (a run resumed from an earlier
    checkpoint, or started again from scratch in the same folder), the scores logged from
    that step on belong to the abandoned attempt and are dropped.

    >>> import tempfile
    >>> log = Path(tempfile.mkdtemp()) / "log.csv"
    >>> _ = log.write_text("step,epoch,key,value\\n10,1.0,loss,0.9\\n10,1.0,eval_f1,0.5\\n"
    ...                    "20,2.0,eval_f1,0.55\\n30,3.0,eval_f1,0.4\\n"  # killed after step 30
    ...                    "15,1.5,loss,0.8\\n20,2.0,eval_f1,0.6\\n")  # resumed from step 10
    >>> validation_curve_from_log(log)
    [{'epoch': 1.0, 'step': 10, 'f1': 0.5}, {'epoch': 2.0, 'step': 20, 'f1': 0.6}]
    """
    key = f"eval_{metric}"
    entries: dict[int, dict] = {}  # step: the log_history entry of its evaluation
    last = -1
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if not set(LOG_HEADER) <= set(reader.fieldnames or []):
            raise InputError(
                f"expected the header step,epoch,key,value, got {reader.fieldnames}",
                path=str(path),
                line=1,
            )
        for row in reader:
            try:
                step = int(row["step"])
                entry = (
                    {"epoch": float(row["epoch"]), "step": step, key: float(row["value"])}
                    if row["key"] == key
                    else None
                )
            except (TypeError, ValueError):
                raise InputError(
                    f"expected step,epoch,key,value with numbers, got {row}",
                    path=str(path),
                    line=reader.line_num,
                ) from None
            if step < last:
                entries = {s: e for s, e in entries.items() if s < step}
            last = step
            if entry is not None:
                entries[step] = entry
    return validation_curve([entries[step] for step in sorted(entries)], metric)


class CSVLoggerCallback(TrainerCallback):
    """Appends every log record (losses, learning rate, metrics) to ``log.csv``.

    When training begins, the rows a run left behind that its history does not hold are
    removed: all of them for a fresh start; for a resumed run, those after the checkpoint
    and those at its step that the checkpoint's ``log_history`` lacks (the part of a
    killed attempt that the resumption does again). The log then holds one attempt's
    history, as Trainer's ``log_history`` does.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def on_train_begin(self, args, state, control, **kwargs):
        if not state.is_world_process_zero:
            return
        step = state.global_step
        at_step = {k for e in state.log_history if e.get("step") == step for k in e}
        _trim_log(self.path, step, at_step - {"step", "epoch"})

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, "epoch": state.epoch, **logs}
        new = not self.path.exists() or self.path.stat().st_size == 0
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(LOG_HEADER)
            for key, value in row.items():
                if key not in ("step", "epoch"):
                    writer.writerow([row["step"], row["epoch"], key, value])


def _trim_log(path: Path, step: int, keys_at_step: set[str]) -> None:
    """Rewrite ``path`` (a ``log.csv``) with its header and the rows before ``step``, and
    those at ``step`` whose key is in ``keys_at_step``; create it with the header alone
    when it does not exist or is empty."""
    rows = []
    if path.exists():
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    if rows and rows[0] != LOG_HEADER:
        raise InputError(
            f"expected the header {','.join(LOG_HEADER)}, got {rows[0]}", path=str(path), line=1
        )
    kept = [LOG_HEADER]
    for line, row in enumerate(rows[1:], start=2):
        try:
            if len(row) != len(LOG_HEADER):
                raise ValueError
            at = int(row[0])
        except ValueError:
            raise InputError(
                f"expected step,epoch,key,value with a whole step, got {row}",
                path=str(path),
                line=line,
            ) from None
        if at < step or (at == step and row[2] in keys_at_step):
            kept.append(row)
    with atomic_file(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(kept)
