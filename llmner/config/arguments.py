"""The three argument groups of a run, in the shape of Hugging Face's example scripts.

* :class:`ModelArguments`: which model, its kind, quantization and LoRA;
* :class:`DataArguments`: which sentences, how many, how long, augmentation;
* :class:`NERTrainingArguments`: transformers' ``TrainingArguments`` with llmner's few
  additions and defaults, so every Trainer option is a flag, a YAML key and a recorded
  value, and reaches Trainer as it was given.

The format's own options (:class:`~llmner.formats.options.TaggingOptions` or
:class:`~llmner.formats.options.GenerativeOptions`) are the fourth part of a
:class:`~llmner.config.RunConfig`. A field left ``None`` here is filled by the model's kind
(:mod:`llmner.config.defaults`) where the model is known, never in the dataclass.

Example:
    >>> ModelArguments(quantization="3bit")
    Traceback (most recent call last):
    ...
    llmner.errors.InputError: quantization '3bit' is unknown; expected 4bit, 8bit or none
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from transformers import TrainingArguments

from llmner.data.augment import AUGMENT_MODES, parse_augment
from llmner.errors import InputError
from llmner.formats import FORMATS
from llmner.models.quantization import EVAL_DTYPE_NAMES

__all__ = ["DataArguments", "ModelArguments", "NERTrainingArguments"]

QUANTIZATIONS = ("4bit", "8bit", "none")
MODEL_KINDS = ("decoder", "encoder")


def _positive(name: str, value) -> None:
    if value is not None and value <= 0:
        raise InputError(f"{name} must be positive, got {value}")


@dataclass
class ModelArguments:
    """The model, its quantization and its adapter."""

    model_name_or_path: str = field(
        default="smollm2-135m", metadata={"help": "a model name (llmner models), hub id or folder"}
    )
    format: str = field(default="tagging", metadata={"help": "tagging or generative"})
    model_kind: str | None = field(
        default=None,
        metadata={"help": "encoder or decoder (default: from the model); picks defaults"},
    )
    quantization: str | None = field(
        default=None, metadata={"help": "4bit (NF4), 8bit or none (default: by model kind)"}
    )
    double_quant: bool = field(default=True, metadata={"help": "4-bit double quantization"})
    quant_storage: str = field(
        default="uint8", metadata={"help": "4-bit storage dtype: uint8, or bfloat16 for FSDP"}
    )
    use_lora: bool | None = field(
        default=None,
        metadata={
            "help": "LoRA adapter; false trains every weight (default: by model kind: "
            "decoders 4bit + LoRA, encoders every weight unquantized)"
        },
    )
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float | None = field(
        default=None, metadata={"help": "LoRA dropout (default: by model kind; decoders 0)"}
    )
    lora_target_modules: str = field(
        default="", metadata={"help": "comma list; empty means every attention/MLP projection"}
    )
    init_adapter: str = field(
        default="",
        metadata={
            "help": "start from a trained run: its directory, its adapter/ or an exported "
            "adapter, on the same base model and format (recorded under init_from)"
        },
    )
    num_layers: int | None = field(
        default=None,
        metadata={"help": "keep only the first K decoder layers (the head reads layer K)"},
    )

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise InputError(f"format {self.format!r} is unknown; expected one of {tuple(FORMATS)}")
        if self.model_kind not in (None, *MODEL_KINDS):
            raise InputError(
                f"model_kind {self.model_kind!r} is unknown; expected one of {MODEL_KINDS}"
            )
        if self.quantization not in (None, *QUANTIZATIONS):
            raise InputError(
                f"quantization {self.quantization!r} is unknown; expected 4bit, 8bit or none"
            )
        if self.quantization not in (None, "none") and self.use_lora is False:
            raise InputError("a quantized model can only be trained with LoRA (use_lora: true)")
        if self.quant_storage not in ("uint8", "bfloat16", "float16", "float32"):
            raise InputError(f"quant_storage {self.quant_storage!r}: expected uint8 or bfloat16")
        if self.num_layers is not None and self.num_layers < 1:
            raise InputError(f"num_layers must be at least 1, got {self.num_layers}")
        if self.lora_dropout is not None and not 0 <= self.lora_dropout < 1:
            raise InputError(f"lora_dropout must be in [0, 1), got {self.lora_dropout}")


@dataclass
class DataArguments:
    """The sentences a run trains, validates and is scored on."""

    dataset: str = field(
        default="bc5cdr", metadata={"help": "bundled dataset name or folder of train/dev/test.txt"}
    )
    train_file: str = ""
    validation_file: str = ""
    test_file: str = ""
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    max_predict_samples: int | None = None
    max_seq_length: int = field(
        default=256, metadata={"help": "sub-token budget of one example (every copy included)"}
    )
    strict_tags: bool = field(default=False, metadata={"help": "refuse invalid IOB2 transitions"})
    augment: str = field(
        default="",
        metadata={
            "help": "augment the training sentences on the fly (Dai & Adel 2020), a comma "
            "list of mention_replacement, label_wise_token_replacement, "
            "shuffle_within_segments (see augment_mode)"
        },
    )
    augment_mode: str = field(
        default="replace",
        metadata={
            "help": "replace (half the sentences swapped for a changed copy each epoch) or "
            "add (one changed copy of each sentence added; epochs twice as long)"
        },
    )
    augment_rate: float = field(
        default=0.3,
        metadata={"help": "augmentation: the chance of changing each token, mention or segment"},
    )

    def __post_init__(self) -> None:
        self.augment = ",".join(parse_augment(self.augment, self.augment_rate))
        if self.augment_mode not in AUGMENT_MODES:
            raise InputError(
                f"--augment_mode {self.augment_mode!r}: expected one of {', '.join(AUGMENT_MODES)}"
            )
        _positive("max_seq_length", self.max_seq_length)


@dataclass
class NERTrainingArguments(TrainingArguments):
    """transformers' ``TrainingArguments``, with llmner's additions and defaults.

    Defaults that differ from transformers': one epoch, 16 sentences a step, validation
    and a checkpoint every epoch keeping the best by strict F1, length-grouped batches,
    ``learning_rate`` and ``bf16`` decided at run time (by the model's kind; by the device).
    """

    output_dir: str | None = field(default="runs/latest", metadata={"help": "the run directory"})
    learning_rate: float | None = field(
        default=None, metadata={"help": "peak learning rate (default: by model kind)"}
    )
    num_train_epochs: float = 1.0
    per_device_train_batch_size: int = 16
    per_device_eval_batch_size: int = 32
    warmup_steps: float = field(
        default=0.03, metadata={"help": "warmup steps; a value below 1 is a fraction of them"}
    )
    eval_strategy: str = field(default="epoch", metadata={"help": "epoch, steps or no"})
    save_strategy: str = field(default="epoch", metadata={"help": "follows eval_strategy"})
    save_total_limit: int | None = 2
    load_best_model_at_end: bool = True
    metric_for_best_model: str | None = "f1"
    logging_steps: float = 10
    train_sampling_strategy: str = "group_by_length"
    remove_unused_columns: bool = False
    ddp_find_unused_parameters: bool | None = False
    bf16: bool | None = field(
        default=None,
        metadata={
            "help": "bfloat16 autocast for training. Default: on where the device computes "
            "bf16 natively (CUDA with bf16, CPUs where oneDNN reports bf16 support)"
        },
    )
    # llmner's additions
    head_learning_rate: float | None = field(
        default=None, metadata={"help": "learning rate of the new head (default: learning_rate)"}
    )
    early_stopping_patience: int = field(
        default=2, metadata={"help": "epochs without validation gain before stopping; 0 = off"}
    )
    max_tokens_per_batch: int | None = field(
        default=None,
        metadata={
            "help": "token budget of one training or prediction batch, padding included; "
            "each optimizer step keeps per_device_train_batch_size x "
            "gradient_accumulation_steps sentences. Default on the CPU: 512, or the "
            "longest example; off on a GPU; 0 turns it off"
        },
    )
    eval_dequantized: bool = field(
        default=True,
        metadata={"help": "on the CPU, score 4-bit models with their NF4 weights dequantized"},
    )
    eval_dtype: str = field(
        default="float32",
        metadata={"help": "on the CPU, the dtype the final scoring computes in (or bfloat16)"},
    )
    score_raw_text: bool = field(
        default=True,
        metadata={
            "help": "also score the test split as raw text (its words joined, split by the "
            "run's splitter): metrics.json's raw_text, beside F1 on the data's words"
        },
    )

    def __post_init__(self) -> None:
        if str(self.resume_from_checkpoint).lower() in ("true", "latest"):
            self.resume_from_checkpoint = "latest"  # Trainer's word for the newest one
        elif str(self.resume_from_checkpoint).lower() in ("false", "none", ""):
            self.resume_from_checkpoint = None
        for name in ("learning_rate", "num_train_epochs", "per_device_train_batch_size"):
            _positive(name, getattr(self, name))
        if self.eval_dtype not in EVAL_DTYPE_NAMES:
            expected = " or ".join(EVAL_DTYPE_NAMES)
            raise InputError(f"eval_dtype {self.eval_dtype!r}: expected {expected}")
        if self.max_tokens_per_batch is not None and self.max_tokens_per_batch < 0:
            raise InputError(
                "max_tokens_per_batch must be positive (or 0 for off), got "
                f"{self.max_tokens_per_batch}"
            )
        strategy = getattr(self.eval_strategy, "value", self.eval_strategy)
        if strategy not in ("epoch", "steps", "no"):
            raise InputError(f"eval_strategy {strategy!r}: expected epoch, steps or no")
        if strategy == "no":
            self.load_best_model_at_end = False
        elif getattr(self.save_strategy, "value", self.save_strategy) == "epoch":
            self.save_strategy = strategy  # checkpoints where the validation scores are
            if strategy == "steps" and self.eval_steps:
                self.save_steps = self.eval_steps
        # A machine without CUDA trains on its CPU whatever was asked; transformers checks
        # --bf16 against the device it is told of (llmner's own check names the CPU).
        self.use_cpu = self.use_cpu or not torch.cuda.is_available()
        try:
            super().__post_init__()
        except ValueError as e:  # TrainingArguments' own checks of the combination
            raise InputError(f"training arguments: {str(e).splitlines()[0]}") from None
