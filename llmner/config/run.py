"""A run's whole configuration: the three argument groups and the format's options.

``config.yaml`` records each group once, under ``model``, ``data``, ``training`` and
``format_options``. :meth:`RunConfig.from_dict` reads that shape, a flat mapping of option
names (a YAML config, a sweep trial) and every ``config.yaml`` written before the groups
existed (flat keys, a ``trainer_args`` mapping, ``warmup_ratio``).

Example:
    >>> cfg = RunConfig.from_dict({"format": "tagging", "repeat": 2, "learning_rate": 1e-3})
    >>> cfg.options.repeat, cfg.training.learning_rate, cfg.model.format
    (2, 0.001, 'tagging')
    >>> RunConfig.from_dict({"format": "tagging", "prompt": "inline"})
    Traceback (most recent call last):
    ...
    llmner.errors.InputError: prompt is a generative option; it does not apply to tagging runs
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

from llmner.config.arguments import DataArguments, ModelArguments, NERTrainingArguments
from llmner.errors import InputError, suggest
from llmner.formats import FORMATS, GenerativeOptions, TaggingOptions, options_from_record
from llmner.rundir import flat_config

__all__ = ["GROUPS", "RECORD_FACTS", "RunConfig", "option_hint", "option_names"]

#: The groups of ``config.yaml``, each with its dataclass.
GROUPS = {"model": ModelArguments, "data": DataArguments, "training": NERTrainingArguments}

#: What ``config.yaml`` records beside the options (read back, never an option).
RECORD_FACTS = frozenset(
    {"labels", "init_from", "prompt_sha256", "evaluated_on", "defaults_applied", "splitter"}
)

# Options of the formats that the run sets from its other groups.
_SHARED = {"max_length", "seed"}
# Names of configs written before the groups existed.
_RENAMED = {
    "warmup_ratio": "warmup_steps",
    "gradient_checkpointing": "activation_checkpointing",
    "gradient_checkpointing_kwargs": "activation_checkpointing_kwargs",
}


@functools.cache
def _fields(cls) -> frozenset[str]:
    return frozenset(f.name for f in dataclasses.fields(cls) if f.init)


def format_option_names(format_name: str) -> set[str]:
    """The options of a format that are flags of a run (``max_length`` and ``seed`` come
    from ``max_seq_length`` and the run's seed)."""
    return _fields(FORMATS[format_name].options) - _SHARED


def option_names() -> set[str]:
    """Every option a run's flags and YAML may name."""
    names = set().union(*(_fields(cls) for cls in GROUPS.values()))
    return names | set().union(*(format_option_names(f) for f in FORMATS))


def option_hint(name: str) -> str:
    """``; did you mean 'x'?`` for the run option closest to a mistyped ``name``."""
    return suggest(name, sorted(option_names()), quote="'")


@dataclass
class RunConfig:
    """Everything a fine-tuning run needs.

    Attributes:
        model: the model, quantization and adapter.
        data: the sentences.
        training: ``TrainingArguments`` and llmner's additions.
        options: the format's options (``TaggingOptions`` or ``GenerativeOptions``).
        defaults_applied: the options the model's kind filled in (empty until
            :func:`~llmner.config.defaults.resolve_defaults` ran).
    """

    model: ModelArguments
    data: DataArguments
    training: NERTrainingArguments
    options: TaggingOptions | GenerativeOptions
    defaults_applied: dict = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        expected = FORMATS[self.model.format].options
        if not isinstance(self.options, expected):
            raise InputError(
                f"format {self.model.format!r} takes {expected.__name__}, "
                f"got {type(self.options).__name__}"
            )

    @property
    def output_dir(self) -> str:
        return str(self.training.output_dir)

    @classmethod
    def from_dict(cls, data: dict, record: bool = False) -> RunConfig:
        """A config from grouped or flat option names.

        Args:
            data: a ``config.yaml``, a YAML config or a sweep trial's options.
            record: ``True`` for a run's own ``config.yaml``: the facts it records beside
                the options are skipped, and keys of older versions are dropped.

        Raises:
            InputError: an unknown option (with the closest name), an option of the other
                format, a value its dataclass refuses.
        """
        flat = flat_config(data)
        flat.update(flat.pop("trainer_args", None) or {})
        for old, new in _RENAMED.items():
            if old in flat:
                value = flat.pop(old)
                flat[new] = value if flat.get(new) is None else flat[new]
        options = dict(flat.pop("format_options", None) or {})
        if record:  # older records keep options at the top level too
            top = {k: flat.pop(k) for k in list(flat) if k in _all_format_options()}
        else:
            options, top = {**options, **_pop_options(flat)}, {}
        groups = {name: {} for name in GROUPS}
        for key in list(flat):
            group = next((g for g, c in GROUPS.items() if key in _fields(c)), None)
            if group is not None:
                groups[group][key] = flat.pop(key)
        model = ModelArguments(**groups["model"])
        unknown = sorted(set(flat) - RECORD_FACTS)
        if unknown and not record:
            key = unknown[0]
            raise InputError(f"unknown option {key!r}{option_hint(key)}")
        options = _make_options(model.format, options, top, groups, check=not record)
        if record and getattr(options, "repeat", 0) is None:
            options.repeat = 0  # a recorded run without a repeat tagged the sentence once
        return cls(
            model=model,
            data=DataArguments(**groups["data"]),
            training=NERTrainingArguments(**groups["training"]),
            options=options,
        )

    @classmethod
    def of(cls, **options) -> RunConfig:
        """A config from option names as keywords: ``RunConfig.of(repeat=2, seed=1)``."""
        return cls.from_dict(options)

    def to_dict(self) -> dict:
        """The record of ``config.yaml``: each group once."""
        return {
            "model": dataclasses.asdict(self.model),
            "data": dataclasses.asdict(self.data),
            "training": self.training.to_dict(),
            "format_options": dataclasses.asdict(self.options),
            "defaults_applied": dict(self.defaults_applied),
        }


def _all_format_options() -> set[str]:
    return set().union(*(format_option_names(f) for f in FORMATS))


def _pop_options(flat: dict) -> dict:
    """The flat format options of a YAML config or a command line, taken out of ``flat``."""
    return {k: flat.pop(k) for k in list(flat) if k in _all_format_options()}


def _make_options(format_name: str, given: dict, top: dict, groups: dict, check: bool):
    """The format's options from what was given (``top``: an older record's top-level
    keys), checked against the format; ``max_length`` and ``seed`` are the run's."""
    if check:
        own = format_option_names(format_name)
        for other in set(FORMATS) - {format_name}:
            foreign = sorted(k for k in given if k in format_option_names(other) - own)
            if foreign:
                raise InputError(
                    f"{foreign[0]} is a {other} option; it does not apply to {format_name} runs"
                )
    top = {**top, "max_seq_length": groups["data"].get("max_seq_length", 256)}
    given = {k: v for k, v in given.items() if k != "max_length"}
    options = options_from_record(format_name, given, top)
    if "seed" in _fields(type(options)):
        options.seed = groups["training"].get("seed", 42)
    return options
