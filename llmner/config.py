"""One configuration for every run: a dataclass, loadable from YAML, overridable from the
command line, written back resolved into the run directory.

Argument names follow Hugging Face's example scripts where one exists
(``--model_name_or_path``, ``--train_file``, ``--max_train_samples``, ...).

Example:
    >>> cfg = FinetuneConfig(format="tagging", quantization="none")
    >>> cfg.format, cfg.dataset
    ('tagging', 'bc5cdr')
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from llmner.errors import InputError

__all__ = ["FinetuneConfig", "load_config", "parse_args", "save_config"]

FORMATS = ("tagging", "generative")


@dataclass
class FinetuneConfig:
    """Everything a fine-tuning run needs. Every field is a ``--flag`` of the recipe."""

    # model
    model_name_or_path: str = field(
        default="smollm2-135m", metadata={"help": "a model name (llmner models), hub id or folder"}
    )
    format: str = field(default="tagging", metadata={"help": "tagging or generative"})
    quantization: str = field(default="4bit", metadata={"help": "4bit (NF4), 8bit or none"})
    double_quant: bool = field(default=True, metadata={"help": "4-bit double quantization"})
    quant_storage: str = field(
        default="uint8", metadata={"help": "4-bit storage dtype: uint8, or bfloat16 for FSDP"}
    )
    use_lora: bool = field(default=True, metadata={"help": "LoRA adapter; false trains in full"})
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: str = field(
        default="", metadata={"help": "comma list; empty means every attention/MLP projection"}
    )
    num_layers: int | None = field(
        default=None,
        metadata={
            "help": "keep only the first K decoder layers (the head reads layer K); the "
            "rest are never loaded"
        },
    )
    # tagging options
    echo: bool = field(default=False, metadata={"help": "feed the sentence twice, tag the copy"})
    bidirectional: str = field(
        default="none", metadata={"help": "lift the causal mask: none, all, upper:K or indices"}
    )
    label_all_tokens: bool = False
    decode: str = field(default="viterbi", metadata={"help": "viterbi or argmax"})
    # generative options
    prompt: str = field(default="", metadata={"help": "prompt template name (generative)"})
    constrained: bool = field(default=True, metadata={"help": "constrained decoding"})
    num_examples: int = field(default=0, metadata={"help": "k training examples in the prompt"})
    # data
    dataset: str = field(
        default="bc5cdr", metadata={"help": "bundled dataset name or folder of train/dev/test.txt"}
    )
    train_file: str = ""
    validation_file: str = ""
    test_file: str = ""
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    max_predict_samples: int | None = None
    max_seq_length: int = 256
    strict_tags: bool = field(default=False, metadata={"help": "refuse invalid IOB2 transitions"})
    # training
    output_dir: str = "runs/latest"
    num_train_epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float = 3e-4
    head_learning_rate: float | None = field(
        default=None, metadata={"help": "learning rate of the new head (default: learning_rate)"}
    )
    weight_decay: float = 0.0
    warmup_ratio: float = 0.03
    lr_scheduler_type: str = "linear"
    per_device_train_batch_size: int = 16
    per_device_eval_batch_size: int = 32
    gradient_accumulation_steps: int = 1
    seed: int = 42
    early_stopping_patience: int = field(
        default=2, metadata={"help": "epochs without validation gain before stopping; 0 = off"}
    )
    eval_strategy: str = field(default="epoch", metadata={"help": "epoch, steps or no"})
    eval_steps: int | None = None
    logging_steps: int = 10
    save_total_limit: int = 2
    resume_from_checkpoint: str | None = field(
        default=None, metadata={"help": "a checkpoint folder, or 'latest'"}
    )
    gradient_checkpointing: bool = field(
        default=False,
        metadata={"help": "recompute activations in the backward pass: less memory, slower"},
    )
    max_tokens_per_batch: int | None = field(
        default=None,
        metadata={
            "help": "token budget of one training or prediction batch, padding included; "
            "batches are filled by length and each optimizer step keeps "
            "per_device_train_batch_size x gradient_accumulation_steps sentences. "
            "Default on the CPU: 512, or the longest example; off on a GPU; 0 turns it off"
        },
    )
    bf16: bool | None = field(
        default=None,
        metadata={
            "help": "bfloat16 autocast for training and evaluation. Default: on where the "
            "device computes bf16 natively (CUDA with bf16, CPUs with AVX512-BF16 or AMX)"
        },
    )
    eval_dequantized: bool = field(
        default=True,
        metadata={
            "help": "on the CPU, score 4-bit models with their NF4 weights dequantized "
            "once (same values; faster where bitsandbytes has no fast CPU kernel)"
        },
    )

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise InputError(f"format {self.format!r} is unknown; expected one of {FORMATS}")
        if self.quantization not in ("4bit", "8bit", "none"):
            raise InputError(
                f"quantization {self.quantization!r} is unknown; expected 4bit, 8bit or none"
            )
        if self.quantization != "none" and not self.use_lora:
            raise InputError("a quantized model can only be trained with LoRA (use_lora: true)")
        if self.quant_storage not in ("uint8", "bfloat16", "float16", "float32"):
            raise InputError(f"quant_storage {self.quant_storage!r}: expected uint8 or bfloat16")
        if self.echo and self.format != "tagging":
            raise InputError("echo is a tagging option; it does not apply to generative runs")
        if self.decode not in ("viterbi", "argmax"):
            raise InputError(f"decode {self.decode!r} is unknown; expected viterbi or argmax")
        for name in ("learning_rate", "num_train_epochs", "per_device_train_batch_size"):
            if getattr(self, name) <= 0:
                raise InputError(f"{name} must be positive, got {getattr(self, name)}")
        if self.num_layers is not None and self.num_layers < 1:
            raise InputError(f"num_layers must be at least 1, got {self.num_layers}")
        if self.max_tokens_per_batch is not None and self.max_tokens_per_batch < 0:
            raise InputError(
                f"max_tokens_per_batch must be positive (or 0 for off), got "
                f"{self.max_tokens_per_batch}"
            )
        if self.eval_strategy not in ("epoch", "steps", "no"):
            raise InputError(f"eval_strategy {self.eval_strategy!r}: expected epoch, steps or no")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def load_config(path: str | Path) -> dict:
    """Read a YAML config; unknown keys are an error naming the file and the line."""
    path = Path(path)
    if not path.exists():
        raise InputError("config file not found", path=str(path))
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        line = getattr(getattr(e, "problem_mark", None), "line", None)
        raise InputError(
            f"not valid YAML ({getattr(e, 'problem', e)})",
            str(path),
            None if line is None else line + 1,
        ) from None
    if not isinstance(data, dict):
        raise InputError("expected a mapping of option names to values", path=str(path))
    known = {f.name for f in dataclasses.fields(FinetuneConfig)}
    for key in data:
        if key not in known:
            line = next(
                (i for i, s in enumerate(text.splitlines(), 1) if s.startswith(f"{key}:")), None
            )
            raise InputError(f"unknown option {key!r}; see --help for the options", str(path), line)
    return data


def parse_args(argv: list[str] | None = None) -> FinetuneConfig:
    """``--config FILE.yaml`` gives defaults; flags on the command line override them."""
    from transformers import HfArgumentParser

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = HfArgumentParser(FinetuneConfig)
    parser.add_argument("--config", default=None, help="a YAML file of options")
    known, _ = parser.parse_known_args(argv)
    if known.config:
        parser.set_defaults(**load_config(known.config))
    try:
        cfg, *_ = parser.parse_args_into_dataclasses(argv, return_remaining_strings=True)
    except TypeError as e:  # HfArgumentParser builds the dataclass, whose checks may raise
        raise InputError(str(e)) from None
    rest = [a for a in _ if isinstance(a, list)]
    if rest and rest[0]:
        raise InputError(f"unknown arguments {rest[0]}; see --help")
    return cfg


def save_config(cfg: FinetuneConfig, path: str | Path, extra: dict | None = None) -> None:
    """Write the resolved config (plus ``extra`` facts such as the label set) as YAML,
    atomically."""
    from llmner.io import write_text_atomic

    data = cfg.to_dict()
    data.update(extra or {})
    write_text_atomic(path, yaml.safe_dump(data, sort_keys=False))
