"""A run's configuration: model, data and training arguments, and the format's options.

Argument names follow Hugging Face's example scripts (``--model_name_or_path``,
``--train_file``, ``--max_train_samples``, every ``TrainingArguments`` flag), read by one
parser from flags and a ``--config`` YAML, and written back, resolved, into the run's
``config.yaml``.

Example:
    >>> cfg = parse_args(["--format", "tagging", "--repeat", "2", "--learning_rate", "1e-3"])
    >>> cfg.options.repeat, cfg.training.learning_rate
    (2, 0.001)
"""

from llmner.config.arguments import DataArguments, ModelArguments, NERTrainingArguments
from llmner.config.defaults import KIND_DEFAULTS, resolve_defaults
from llmner.config.parse import (
    flatten_options,
    load_config,
    make_parser,
    parse_args,
    parse_overrides,
)
from llmner.config.run import RunConfig, option_hint, option_names
from llmner.models.quantization import EVAL_DTYPE_NAMES
from llmner.rundir import flat_config

__all__ = [
    "EVAL_DTYPE_NAMES",
    "KIND_DEFAULTS",
    "DataArguments",
    "ModelArguments",
    "NERTrainingArguments",
    "RunConfig",
    "flat_config",
    "flatten_options",
    "load_config",
    "make_parser",
    "option_hint",
    "option_names",
    "parse_args",
    "parse_overrides",
    "resolve_defaults",
]
