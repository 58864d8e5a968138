"""The two task formulations, behind :class:`~llmner.formats.base.TaskFormat`."""

from __future__ import annotations

from llmner.formats.base import Prediction, TaskFormat

__all__ = ["Prediction", "TaskFormat", "build_format"]


def build_format(cfg, labels, tokenizer, train_sentences=None) -> TaskFormat:
    """The format a :class:`~llmner.config.FinetuneConfig` asks for."""
    if cfg.format == "tagging":
        from llmner.formats.tagging import TaggingFormat
        from llmner.models.numerics import resolve_token_budget

        return TaggingFormat(
            labels,
            tokenizer,
            echo=cfg.echo,
            label_all_tokens=cfg.label_all_tokens,
            max_length=cfg.max_seq_length,
            decode=cfg.decode,
            bidirectional=cfg.bidirectional,
            max_tokens_per_batch=resolve_token_budget(getattr(cfg, "max_tokens_per_batch", None)),
        )
    if cfg.format == "generative":
        from llmner.formats.generative import GenerativeFormat

        kwargs = {"constrained": cfg.constrained}
        if cfg.prompt:
            kwargs["prompt"] = cfg.prompt
        if cfg.num_examples:
            kwargs.update(examples=cfg.num_examples, train_sentences=train_sentences)
        return GenerativeFormat(labels, tokenizer, **kwargs)
    raise ValueError(f"unknown format {cfg.format!r}")
