"""Loading a base model for a task, quantized or not, with a LoRA adapter on top.

The quantization and LoRA helpers mirror trl's ``get_quantization_config`` and
``get_peft_config``: recipes never build these objects themselves.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import LoraConfig, TaskType
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoModelForTokenClassification,
    AutoTokenizer,
    BitsAndBytesConfig,
)
from transformers.utils import logging as hf_logging

import llmner.models.heads  # noqa: F401  (registers heads transformers lacks: Gemma 3)
from llmner.data.types import LabelSet
from llmner.distributed import state as distributed_state
from llmner.errors import InputError
from llmner.models.hub import load_error
from llmner.models.memory import LORA_TARGETS
from llmner.models.numerics import cpu_bf16_supported
from llmner.models.registry import MODELS, resolve_model

__all__ = [
    "model_kind",
    "LoraOptions",
    "QUANTIZATIONS",
    "load_base_model",
    "load_tokenizer",
    "get_peft_config",
    "get_quantization_config",
    "head_module_names",
    "model_num_layers",
    "progress_bars",
]

logger = logging.getLogger(__name__)

# peft's PeftModel reads ``model.is_gradient_checkpointing``, and its
# ``prepare_model_for_kbit_training`` calls ``gradient_checkpointing_enable``, both of which
# transformers 5 deprecated in favour of their ``activation_checkpointing`` names; every
# 4-bit run and ``PeftModel.from_pretrained`` on a model built here warns, and only peft
# can change it.
warnings.filterwarnings(
    "ignore",
    message=r"`(is_gradient_checkpointing|gradient_checkpointing_enable)` is deprecated",
    category=FutureWarning,
    module=r"transformers\.modeling_utils",
)

QUANTIZATIONS = ("4bit", "8bit", "none")
DEFAULT_TARGETS = LORA_TARGETS  # every attention and MLP projection
# Names of freshly initialised heads that must be trained and saved with the adapter.
_HEADS = ("score", "classifier")
# Kept out of 4-bit/8-bit: the new heads, and the LM head. An explicit skip list replaces
# transformers' default one (which holds ``lm_head``): without it a tied ``lm_head``
# becomes a Linear4bit with no quantization state and fails at its first forward.
_UNQUANTIZED = (*_HEADS, "lm_head")


@dataclass
class LoraOptions:
    """LoRA hyper-parameters; ``target_modules`` empty means the usual projections."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.r <= 0:
            raise ValueError(f"lora r must be positive, got {self.r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"lora dropout must be in [0, 1), got {self.dropout}")


def _compute_dtype() -> torch.dtype:
    """The dtype 4-bit layers compute in: bf16 where the device computes it natively (as
    bf16 autocast, :mod:`llmner.models.numerics`), else fp16 on a GPU and fp32 on a CPU.
    On a CPU where oneDNN reports no bf16 support, bf16 is emulated: five training steps of the
    quick-start decoder took about 20 times as long in bf16 as in fp32 on an AVX2 CPU
    (``docs/results/train-cost.md``)."""
    if torch.cuda.is_available():
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_bf16_supported() else torch.float32


def get_quantization_config(
    quantization: str, double_quant: bool = True, skip=(), quant_storage: str = "uint8"
):
    """A ``BitsAndBytesConfig`` for ``4bit`` (NF4) or ``8bit``; ``None`` for ``none``.

    ``quant_storage`` is the dtype 4-bit weights are stored in: ``uint8`` by default,
    ``bfloat16`` for FSDP, which only shards floating-point tensors.
    """
    if quantization not in QUANTIZATIONS:
        raise InputError(f"unknown quantization {quantization!r}; expected one of {QUANTIZATIONS}")
    if quantization == "none":
        return None

    if quantization == "8bit":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=list(skip) or None)
    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=double_quant,
        bnb_4bit_compute_dtype=_compute_dtype(),
        bnb_4bit_quant_storage=getattr(torch, quant_storage),
        llm_int8_skip_modules=list(skip) or None,
    )


def head_module_names(model) -> list[str]:
    """The task head's module names (``score`` on decoders, ``classifier`` on BERT)."""
    return [n for n in _HEADS if hasattr(model, n)]


def get_peft_config(model, task: str, lora: LoraOptions):
    """A peft ``LoraConfig`` for ``model``; the task head is trained and saved in full."""
    targets = list(lora.target_modules) or _default_targets(model)
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=targets,
        task_type=TaskType.TOKEN_CLS if task == "token-classification" else TaskType.CAUSAL_LM,
        modules_to_save=head_module_names(model) if task == "token-classification" else None,
    )


def _default_targets(model) -> list[str]:
    names = {
        n.rsplit(".", 1)[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)
    }
    targets = [t for t in DEFAULT_TARGETS if t in names]
    if not targets:  # BERT-style encoders
        targets = [t for t in ("query", "key", "value", "dense") if t in names]
    return targets


def _is_hub_id(name_or_path: str) -> bool:
    """Whether ``from_pretrained`` was given the name as a hub id."""
    return name_or_path not in MODELS and not Path(name_or_path).expanduser().exists()


def load_tokenizer(name_or_path: str):
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolve_model(name_or_path))
    except OSError as e:
        raise load_error("the tokenizer of", name_or_path, e, _is_hub_id(name_or_path)) from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_base_model(
    name_or_path: str,
    task: str,
    labels: LabelSet | None = None,
    quantization: str = "none",
    double_quant: bool = True,
    device_map=None,
    dtype: torch.dtype | None = None,
    quant_storage: str = "uint8",
    num_layers: int | None = None,
):
    """Load a model for ``task`` ("token-classification" or "causal-lm").

    For token classification the head is sized to ``labels`` and kept out of
    quantization, so that it trains in full precision and is saved with the adapter.

    ``num_layers`` keeps only the first K decoder layers: the rest are never loaded, so
    they cost neither time nor memory, and the final norm and the head read layer K.
    """
    path = resolve_model(name_or_path)
    kwargs: dict = {}
    qconfig = get_quantization_config(quantization, double_quant, _UNQUANTIZED, quant_storage)
    if qconfig is not None:
        kwargs["quantization_config"] = qconfig
        placement = device_map or _default_device_map()
        if placement is not None:
            kwargs["device_map"] = placement
        kwargs["dtype"] = dtype or _unquantized_dtype(quant_storage)
    elif dtype is not None:
        kwargs["dtype"] = dtype
    if num_layers:
        kwargs.update(_truncated_layers(path, num_layers))
    if task == "token-classification":
        if labels is None:
            raise ValueError("token classification needs a label set")
        kwargs.update(
            num_labels=len(labels.bio_labels),
            id2label=labels.id2label,
            label2id=labels.label2id,
        )
        cls = AutoModelForTokenClassification
    elif task == "causal-lm":
        cls = AutoModelForCausalLM
    else:
        raise ValueError(f"unknown task {task!r}")
    try:
        with _quiet_load_report():
            model, info = cls.from_pretrained(path, output_loading_info=True, **kwargs)
    except OSError as e:
        raise load_error("model", name_or_path, e, _is_hub_id(name_or_path)) from None
    _report_loading(name_or_path, info, task, num_layers)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = model.config.eos_token_id
    return model


@contextlib.contextmanager
def progress_bars(show: bool):
    """transformers' (and huggingface_hub's) progress bars left as they are (``show``) or
    turned off for the block, through transformers' public switch.

    Off, a load prints no ``Loading weights`` bar: in a log that is hundreds of steps of
    nothing. Turned on they are never: ``HF_HUB_DISABLE_PROGRESS_BARS`` keeps its say.
    """
    turn_off = not show and hf_logging.is_progress_bar_enabled()
    if turn_off:
        hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if turn_off:
            hf_logging.enable_progress_bar()


def _drop_load_report(record: logging.LogRecord) -> bool:
    return "LOAD REPORT" not in record.getMessage()


@contextlib.contextmanager
def _quiet_load_report():
    """transformers logs a table of every new or unused weight at each load (the new head
    listed as MISSING); llmner says what matters in one line instead (:func:`_report_loading`).

    A filter drops that one record. Raising the logger's level instead would make
    transformers check the model's tensor-parallel plan and warn that norms and the head
    "were not sharded" (it runs that check when the level is WARNING or above), which
    means nothing in a run without tensor parallelism.
    """
    log = logging.getLogger("transformers.modeling_utils")
    log.addFilter(_drop_load_report)
    try:
        yield
    finally:
        log.removeFilter(_drop_load_report)


def _report_loading(name: str, info: dict, task: str, num_layers: int | None) -> None:
    """One line per surprise: weights missing beyond the new head, or unused beyond the
    dropped layers and what a tagging model does not need (the LM head, BERT's pooler)."""
    heads = tuple(f"{h}." for h in _HEADS)
    missing = [k for k in info.get("missing_keys", ()) if not k.startswith(heads)]
    unexpected = [
        k
        for k in info.get("unexpected_keys", ())
        if not k.startswith(("lm_head.", "pooler.")) and not (num_layers and ".layers." in k)
    ]
    if task == "token-classification":
        logger.info("%s: the token-classification head is new and is trained", name)
    if missing:
        logger.warning(
            "%s: %d weights were not in the checkpoint (%s, ...)", name, len(missing), missing[0]
        )
    if unexpected:
        logger.warning(
            "%s: %d checkpoint weights were not used (%s, ...)",
            name,
            len(unexpected),
            unexpected[0],
        )


ENCODER_TYPES = frozenset(
    {
        "bert",
        "roberta",
        "xlm-roberta",
        "deberta",
        "deberta-v2",
        "distilbert",
        "electra",
        "modernbert",
        "albert",
        "camembert",
        "mpnet",
    }
)


def model_kind(name_or_path: str) -> str:
    """``encoder`` or ``decoder``: a named model's registry entry, else its config's
    ``model_type`` (read from a local folder, or from the hub when reachable); a decoder
    family trained bidirectionally (``use_bidirectional_attention``, as EmbeddingGemma) is
    an encoder; a model whose config cannot be read counts as a decoder, llmner's main kind.

    Example:
        >>> model_kind("minilm-l6"), model_kind("smollm2-135m")
        ('encoder', 'decoder')
    """
    if name_or_path in MODELS:
        return MODELS[name_or_path].kind

    config = Path(name_or_path) / "config.json"
    try:
        if config.is_file():
            fields = json.loads(config.read_text(encoding="utf-8"))
        else:
            fields = AutoConfig.from_pretrained(name_or_path).to_dict()
    except Exception:  # offline, or not a model: the decoder defaults stand
        return "decoder"
    encoder = fields.get("model_type") in ENCODER_TYPES or fields.get("use_bidirectional_attention")
    return "encoder" if encoder else "decoder"


def _load_config(name_or_path: str, path: str):
    """``AutoConfig`` of ``path`` (``name_or_path`` resolved), a failure in one line."""
    try:
        return AutoConfig.from_pretrained(path)
    except OSError as e:
        raise load_error("the config of", name_or_path, e, _is_hub_id(name_or_path)) from None


def model_num_layers(name_or_path: str) -> int | None:
    """The number of decoder (or encoder) layers of a model, read from its config only."""
    config = _load_config(name_or_path, resolve_model(name_or_path))
    config = getattr(config, "text_config", None) or config
    return getattr(config, "num_hidden_layers", None)


def _truncated_layers(path: str, num_layers: int) -> dict:
    """``from_pretrained`` overrides that build only the first ``num_layers`` layers.

    Weights of the dropped layers are then simply not loaded. Models that list a type
    per layer (sliding or full attention) keep the first ``num_layers`` entries.
    """
    config = _load_config(path, path)
    total = getattr(config, "num_hidden_layers", None)
    if total is None or not 1 <= num_layers <= total:
        raise InputError(f"num_layers {num_layers} is outside 1..{total}, the layers of {path}")
    out: dict = {"num_hidden_layers": num_layers}
    layer_types = getattr(config, "layer_types", None)
    if layer_types:
        out["layer_types"] = list(layer_types)[:num_layers]
    return out


def _unquantized_dtype(quant_storage: str) -> torch.dtype:
    """The dtype of what stays unquantized (embeddings, norms, heads) in a quantized model.

    On a GPU it is the compute dtype (bf16 where supported): an fp32 residual stream there
    costs more memory than bf16 LoRA and about a fifth of the speed (measured at 8B, see
    ``docs/results/gpu-bench.md``). Under FSDP it must equal the 4-bit storage dtype.
    On the CPU it is fp32, which bitsandbytes' CPU kernels and the CPU favour.
    """
    if quant_storage != "uint8":
        return getattr(torch, quant_storage)
    return _compute_dtype() if torch.cuda.is_available() else torch.float32


def _default_device_map():
    """bitsandbytes places quantized weights at load time: one device per process (none
    under FSDP or DeepSpeed ZeRO-3, which place the shards themselves)."""
    if os.environ.get("ACCELERATE_USE_FSDP", "").lower() == "true":
        return None
    if os.environ.get("ACCELERATE_DEEPSPEED_ZERO_STAGE") == "3":
        return None
    if torch.cuda.is_available():
        return {"": distributed_state().local_process_index}
    return {"": "cpu"}
