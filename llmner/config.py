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

from llmner.data.augment import AUGMENT_MODES, parse_augment
from llmner.errors import InputError

EVAL_DTYPE_NAMES = ("float32", "bfloat16")
"""What a model can be scored in (``--eval_dtype``, ``--dtype`` of evaluate and predict)."""

__all__ = ["KIND_DEFAULTS", "FinetuneConfig", "given_options", "load_config", "parse_args"]


#: Defaults that depend on the model's kind: an encoder baseline is never crippled by the
#: decoder's setting (LoRA on a 22M encoder scores half of full fine-tuning).
KIND_DEFAULTS = {
    "decoder": {"quantization": "4bit", "use_lora": True, "learning_rate": 3e-4},
    "encoder": {"quantization": "none", "use_lora": False, "learning_rate": 3e-4},
}


@dataclass
class FinetuneConfig:
    """Everything a fine-tuning run needs. Every field is a ``--flag`` of the recipe."""

    # model
    model_name_or_path: str = field(
        default="smollm2-135m", metadata={"help": "a model name (llmner models), hub id or folder"}
    )
    format: str = field(default="tagging", metadata={"help": "tagging or generative"})
    quantization: str | None = field(
        default=None,
        metadata={"help": "4bit (NF4), 8bit or none (default: by model kind, see below)"},
    )
    double_quant: bool = field(default=True, metadata={"help": "4-bit double quantization"})
    quant_storage: str = field(
        default="uint8", metadata={"help": "4-bit storage dtype: uint8, or bfloat16 for FSDP"}
    )
    use_lora: bool | None = field(
        default=None,
        metadata={
            "help": "LoRA adapter; false trains every weight. Defaults by model kind: "
            "decoders 4bit + LoRA, encoders every weight trained unquantized (the setting "
            "they are tuned for), both at learning_rate 3e-4"
        },
    )
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: str = field(
        default="", metadata={"help": "comma list; empty means every attention/MLP projection"}
    )
    model_kind: str | None = field(
        default=None,
        metadata={"help": "encoder or decoder (default: from the model); picks defaults"},
    )
    init_adapter: str = field(
        default="",
        metadata={
            "help": "start from a trained run: its directory, its adapter/ or an exported "
            "adapter, on the same base model and format. LoRA weights and head are loaded; "
            "head rows of labels both runs know are kept, new labels get fresh rows "
            "(recorded under init_from in config.yaml). An encoder run that trained every "
            "weight starts from all of its weights"
        },
    )
    num_layers: int | None = field(
        default=None,
        metadata={
            "help": "keep only the first K decoder layers (the head reads layer K); the "
            "rest are never loaded"
        },
    )
    # tagging options
    repeat: int | None = field(
        default=None,
        metadata={
            "help": "K copies of the sentence before the tagged one, so every token sees "
            "the whole sentence (1 is echo)"
        },
    )
    echo: bool = field(default=False, metadata={"help": "feed the sentence twice (repeat 1)"})
    bidirectional: str = field(
        default="none", metadata={"help": "lift the causal mask: none, all, upper:K or indices"}
    )
    label_all_tokens: bool = False
    decode: str = field(default="viterbi", metadata={"help": "viterbi or argmax"})
    # generative options
    prompt: str = field(default="", metadata={"help": "prompt template name (generative)"})
    constrained: bool = field(default=True, metadata={"help": "constrained decoding"})
    num_examples: int = field(default=0, metadata={"help": "k training examples in the prompt"})
    alignment: str = field(
        default="strict", metadata={"help": "mentions to tokens: strict, contract or expand"}
    )
    describe_labels: bool = field(
        default=False, metadata={"help": "show each type's description in the prompt"}
    )
    window_words: int = field(
        default=128, metadata={"help": "longer sentences are cut into pieces of this many words"}
    )
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
    augment: str = field(
        default="",
        metadata={
            "help": "augment the training sentences on the fly (Dai & Adel 2020), a comma "
            "list of mention_replacement, label_wise_token_replacement, "
            "shuffle_within_segments: each epoch half the sentences (seeded by seed + "
            "epoch) are replaced by a copy changed by one of them (see augment_mode)"
        },
    )
    augment_mode: str = field(
        default="replace",
        metadata={
            "help": "augmentation: replace (half the sentences swapped for a copy each epoch; "
            "epochs keep their length) or add (every sentence kept and one copy of each "
            "added, as Dai & Adel train; epochs twice as long)"
        },
    )
    augment_rate: float = field(
        default=0.3,
        metadata={"help": "augmentation: the chance of changing each token, mention or segment"},
    )
    # training
    output_dir: str = "runs/latest"
    num_train_epochs: float = 1.0
    max_steps: int = -1
    learning_rate: float | None = field(
        default=None, metadata={"help": "peak learning rate (default: by model kind)"}
    )
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
    trainer_args: dict = field(
        default_factory=dict,
        init=False,
        metadata={
            "help": "any other transformers TrainingArguments (--optim, --save_steps, "
            "--max_grad_norm, --report_to, --torch_compile, ...), passed to Trainer as given"
        },
    )
    eval_dequantized: bool = field(
        default=True,
        metadata={
            "help": "on the CPU, score 4-bit models with their NF4 weights dequantized "
            "once (same values; faster where bitsandbytes has no fast CPU kernel)"
        },
    )
    eval_dtype: str = field(
        default="float32",
        metadata={
            "help": "on the CPU, the dtype the final scoring computes in: float32, or "
            "bfloat16 (about twice as fast on CPUs with native bf16; bf16 rounding)"
        },
    )

    def __post_init__(self) -> None:
        from llmner.formats import FORMATS

        self._apply_kind_defaults()

        if str(self.resume_from_checkpoint).lower() in ("true", "latest"):
            self.resume_from_checkpoint = "latest"  # Trainer's word for the newest one
        elif str(self.resume_from_checkpoint).lower() in ("false", "none", ""):
            self.resume_from_checkpoint = None

        if self.format not in FORMATS:
            raise InputError(f"format {self.format!r} is unknown; expected one of {tuple(FORMATS)}")
        if self.quantization not in ("4bit", "8bit", "none"):
            raise InputError(
                f"quantization {self.quantization!r} is unknown; expected 4bit, 8bit or none"
            )
        if self.quantization != "none" and not self.use_lora:
            raise InputError("a quantized model can only be trained with LoRA (use_lora: true)")
        if self.quant_storage not in ("uint8", "bfloat16", "float16", "float32"):
            raise InputError(f"quant_storage {self.quant_storage!r}: expected uint8 or bfloat16")
        if self.eval_dtype not in EVAL_DTYPE_NAMES:
            expected = " or ".join(EVAL_DTYPE_NAMES)
            raise InputError(f"eval_dtype {self.eval_dtype!r}: expected {expected}")
        quantized = self.quantization != "none"
        if self.eval_dtype != "float32" and quantized and not self.eval_dequantized:
            raise InputError(
                "eval_dtype bfloat16 scores a quantized model dequantized: "
                "expected eval_dequantized: true"
            )
        options = self.format_options()  # each format's own checks
        if self.format == "tagging":
            self.repeat, self.echo = options.repeat, options.echo
        for other in set(FORMATS) - {self.format}:
            for name in _option_fields(other) - _option_fields(self.format):
                if getattr(self, name) != FinetuneConfig.__dataclass_fields__[name].default:
                    raise InputError(
                        f"{name} is a {other} option; it does not apply to {self.format} runs"
                    )
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
        self.augment = ",".join(parse_augment(self.augment, self.augment_rate))
        if self.augment_mode not in AUGMENT_MODES:
            raise InputError(
                f"--augment_mode {self.augment_mode!r}: expected one of {', '.join(AUGMENT_MODES)}"
            )
        if self.eval_strategy not in ("epoch", "steps", "no"):
            raise InputError(f"eval_strategy {self.eval_strategy!r}: expected epoch, steps or no")

    def _apply_kind_defaults(self) -> None:
        """Fill the options left unset with the defaults of the model's kind, and record
        the kind (``model_kind``) so a comparison can say which setting each side used."""
        if self.model_kind not in (None, *KIND_DEFAULTS):
            raise InputError(
                f"model_kind {self.model_kind!r} is unknown; expected one of {tuple(KIND_DEFAULTS)}"
            )
        unset = [k for k in KIND_DEFAULTS["decoder"] if getattr(self, k) is None]
        if unset or self.model_kind is None:
            from llmner.models.loading import model_kind

            self.model_kind = self.model_kind or model_kind(self.model_name_or_path)
        for key in unset:
            setattr(self, key, KIND_DEFAULTS[self.model_kind][key])

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FinetuneConfig:
        """A config from a mapping of option names (a YAML file, a sweep trial, a
        recorded ``config.yaml``): ``TrainingArguments`` names go to ``trainer_args``;
        anything else unknown is refused."""
        data = dict(data)
        trainer = dict(data.pop("trainer_args", None) or {})
        names = _init_fields()
        for key in list(data):
            if key not in names:
                if key not in _trainer_fields():
                    raise InputError(f"unknown option {key!r}; see --help for the options")
                trainer[key] = data.pop(key)
        cfg = cls(**data)
        cfg.trainer_args = trainer
        return cfg

    def format_options(self):
        """The options dataclass of this run's format, from the flat flags (validated)."""
        from llmner.formats import FORMATS

        cls = FORMATS[self.format].options
        values = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(cls)
            if f.name in FinetuneConfig.__dataclass_fields__
        }
        values["max_length"] = self.max_seq_length
        if "seed" in values:
            values["seed"] = self.seed
        return cls(**values)


def _option_fields(format_name: str) -> set[str]:
    """The config fields that are options of ``format_name`` (``max_length`` and ``seed``
    are shared fields of the config)."""
    from llmner.formats import FORMATS

    return {f.name for f in dataclasses.fields(FORMATS[format_name].options)} & (
        set(FinetuneConfig.__dataclass_fields__) - {"max_seq_length", "seed"}
    )


def _init_fields() -> set[str]:
    return {f.name for f in dataclasses.fields(FinetuneConfig) if f.init}


def _trainer_fields() -> set[str]:
    """``TrainingArguments`` options that llmner passes through to Trainer."""
    from transformers import TrainingArguments

    return {f.name for f in dataclasses.fields(TrainingArguments) if f.init} - _init_fields()


def load_config(path: str | Path) -> dict:
    """Read a YAML config; unknown keys are an error naming the file and the line.

    Keys are llmner's options or any other ``TrainingArguments`` field (passed through)."""
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
    known = _init_fields() | _trainer_fields() | {"trainer_args"}
    for key in data:
        if key not in known:
            line = next(
                (i for i, s in enumerate(text.splitlines(), 1) if s.startswith(f"{key}:")), None
            )
            raise InputError(f"unknown option {key!r}; see --help for the options", str(path), line)
    return data


def given_options(parsed, argv: list[str]) -> dict:
    """The values in ``parsed`` (an argparse namespace) of the options ``argv`` names as
    flags (``--name``, ``--name=value``, ``--no_name``), leaving out the parser's defaults."""
    flags = {a.split("=", 1)[0].lstrip("-").replace("-", "_") for a in argv if a[:2] == "--"}
    return {k: v for k, v in vars(parsed).items() if k in flags or f"no_{k}" in flags}


def parse_args(argv: list[str] | None = None) -> FinetuneConfig:
    """``--config FILE.yaml`` gives defaults; flags on the command line override them.

    As in trl's scripts, two dataclasses are parsed: llmner's :class:`FinetuneConfig`, then
    ``TrainingArguments`` for every flag llmner does not define itself (``--optim``,
    ``--save_steps``, ``--max_grad_norm``, ``--report_to``, ``--torch_compile``, ...),
    which reach Trainer as given and are recorded under ``trainer_args``.
    """
    from transformers import HfArgumentParser, TrainingArguments

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = HfArgumentParser(FinetuneConfig)
    parser.add_argument("--config", default=None, help="a YAML file of options")
    known, _ = parser.parse_known_args(argv)
    from_file = load_config(known.config) if known.config else {}
    trainer = dict(from_file.pop("trainer_args", None) or {})
    trainer.update({k: from_file.pop(k) for k in list(from_file) if k in _trainer_fields()})
    parser.set_defaults(**from_file)
    try:
        cfg, *outputs = parser.parse_args_into_dataclasses(argv, return_remaining_strings=True)
    except TypeError as e:  # HfArgumentParser builds the dataclass, whose checks may raise
        raise InputError(str(e)) from None
    rest = next((o for o in outputs if isinstance(o, list)), [])
    if rest:
        parsed, unknown = HfArgumentParser(TrainingArguments).parse_known_args(rest)
        given = given_options(parsed, rest)
        ours = sorted(set(given) - _trainer_fields())
        if unknown or ours:
            raise InputError(f"unknown arguments {unknown or ours}; see --help")
        trainer.update(given)
    cfg.trainer_args = trainer
    return cfg
