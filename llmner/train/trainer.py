"""The Trainer llmner trains with: Hugging Face's ``Trainer`` (and so Accelerate), scoring
on the validation sentences with the run's own format and seqeval at each evaluation.

Hand-written here, and why: ``Trainer.evaluate`` is replaced because NER is scored on
whole sentences (generative formats must generate, tagging must regroup sub-tokens and
windows), not on the loss of a padded eval batch.
"""

from __future__ import annotations

import csv
from pathlib import Path

from transformers import Trainer, TrainerCallback

from llmner.data.types import Sentence
from llmner.eval.evaluate import evaluate
from llmner.formats.base import TaskFormat
from llmner.models.quantization import restore_cpu_4bit_layout

__all__ = ["COMPLETE_MARK", "CSVLoggerCallback", "NERTrainer", "TokenCounter", "latest_checkpoint"]

COMPLETE_MARK = "llmner-complete"


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
    """

    def __init__(
        self,
        *args,
        ner_format: TaskFormat,
        eval_sentences: list[Sentence],
        head_learning_rate: float | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.ner_format = ner_format
        self.eval_sentences = eval_sentences
        self.head_learning_rate = head_learning_rate

    def create_optimizer(self, model=None):
        if self.optimizer is None and self.head_learning_rate is not None:
            import torch

            model = model or self.model
            head, body = [], []
            for name, p in model.named_parameters():
                if p.requires_grad:
                    (head if _is_head(name) else body).append(p)
            self.optimizer = torch.optim.AdamW(
                [
                    {"params": body, "lr": self.args.learning_rate},
                    {"params": head, "lr": self.head_learning_rate},
                ],
                weight_decay=self.args.weight_decay,
            )
            return self.optimizer
        return super().create_optimizer(model) if model is not None else super().create_optimizer()

    def _save_checkpoint(self, model, trial):
        """Save as ``Trainer`` does, then mark the checkpoint complete: a checkpoint
        without the mark (the process was killed while saving) is never resumed from."""
        super()._save_checkpoint(model, trial)
        if self.args.should_save:
            folder = Path(self._get_output_dir(trial=trial))
            folder = folder / f"checkpoint-{self.state.global_step}"
            if folder.is_dir():
                (folder / COMPLETE_MARK).write_text("complete\n", encoding="utf-8")

    def evaluate(self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval"):
        was_training = self.model.training
        metrics, _ = evaluate(
            self.ner_format, self.model, self.eval_sentences, self.args.per_device_eval_batch_size
        )
        restore_cpu_4bit_layout(self.model)
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


class TokenCounter:
    """Wraps a collator and counts the non-padding tokens it batches."""

    def __init__(self, collate) -> None:
        self.collate = collate
        self.tokens = 0

    def __call__(self, features):
        batch = self.collate(features)
        self.tokens += int(batch["attention_mask"].sum())
        return batch


class CSVLoggerCallback(TrainerCallback):
    """Appends every log record (losses, learning rate, metrics) to ``log.csv``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero or not logs:
            return
        row = {"step": state.global_step, "epoch": state.epoch, **logs}
        new = not self.path.exists()
        with open(self.path, "a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            if new:
                writer.writerow(["step", "epoch", "key", "value"])
            for key, value in row.items():
                if key not in ("step", "epoch"):
                    writer.writerow([row["step"], row["epoch"], key, value])
