"""The two task formulations, behind :class:`~llmner.formats.base.TaskFormat`.

``FORMATS`` is the one place that knows them: each entry names the model task it needs,
its options dataclass (:mod:`llmner.formats.options`) and the class that implements it.
Everything that builds a format (training, ``evaluate``, ``predict``, ``merge``,
``export``, the benchmarks) goes through :func:`build_format`.

Example:
    >>> FORMATS["tagging"].task, FORMATS["generative"].task
    ('token-classification', 'causal-lm')
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass

from llmner.formats.base import Prediction, TaskFormat
from llmner.formats.options import GenerativeOptions, TaggingOptions

__all__ = [
    "FORMATS",
    "FormatSpec",
    "GenerativeOptions",
    "Prediction",
    "TaggingOptions",
    "TaskFormat",
    "build_format",
    "options_from_record",
]


@dataclass(frozen=True)
class FormatSpec:
    """One task formulation.

    Attributes:
        name: the value of ``--format``.
        task: the model class it trains: ``token-classification`` or ``causal-lm``.
        pipeline_tag: the hub's name for that task (model cards).
        options: its options dataclass.
        implementation: ``module:Class`` of its :class:`TaskFormat`, imported on use.
    """

    name: str
    task: str
    pipeline_tag: str
    options: type
    implementation: str

    def format_class(self) -> type[TaskFormat]:
        module, cls = self.implementation.split(":")
        return getattr(importlib.import_module(module), cls)


FORMATS: dict[str, FormatSpec] = {
    "tagging": FormatSpec(
        "tagging",
        "token-classification",
        "token-classification",
        TaggingOptions,
        "llmner.formats.tagging:TaggingFormat",
    ),
    "generative": FormatSpec(
        "generative",
        "causal-lm",
        "text-generation",
        GenerativeOptions,
        "llmner.formats.generative.format:GenerativeFormat",
    ),
}


def options_from_record(format_name: str, record: dict, top_level: dict | None = None):
    """A run's options from its ``config.yaml`` (``format_options``, plus the prompt and
    the flat fields of configs written before options had their own entry).

    Example:
        >>> options_from_record("tagging", {"echo": True, "max_length": 128}).repeat
        1
    """
    cls = FORMATS[format_name].options
    names = {f.name for f in dataclasses.fields(cls)}
    values = {k: v for k, v in (top_level or {}).items() if k in names}
    values.update({k: v for k, v in record.items() if k in names})
    if "max_seq_length" in (top_level or {}) and "max_length" not in record:
        values["max_length"] = top_level["max_seq_length"]
    if format_name == "generative":
        prompt = (top_level or {}).get("prompt") or record.get("prompt") or ""
        version = record.get("prompt_version")
        if prompt and version and ".v" not in prompt:
            prompt = f"{prompt}.v{version}"
        values["prompt"] = prompt
        if "examples" in record and "num_examples" not in record:
            values["num_examples"] = record["examples"]
    if values.get("repeat") is not None:
        values.pop("echo", None)
    return cls(**values)


def build_format(
    name: str, options, labels, tokenizer, train_sentences=None, **runtime
) -> TaskFormat:
    """The format ``name`` with its validated ``options``.

    Args:
        name: a key of :data:`FORMATS`.
        options: that format's options dataclass.
        labels: the run's :class:`~llmner.data.types.LabelSet`.
        tokenizer: the model's tokenizer.
        train_sentences: the pool for few-shot examples (generative).
        runtime: settings that depend on the machine, not the run (e.g. tagging's
            ``max_tokens_per_batch``).
    """
    spec = FORMATS[name]
    if not isinstance(options, spec.options):
        raise TypeError(f"{name} takes {spec.options.__name__}, got {type(options).__name__}")
    return spec.format_class().from_options(
        options, labels, tokenizer, train_sentences=train_sentences, **runtime
    )
