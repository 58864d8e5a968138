"""Where an llmner model lives on disk, and loading it again.

Four kinds of folder hold a model llmner can use:

* a **run directory** (``config.yaml`` + ``adapter/``), written by ``run_finetune``;
* its **adapter folder** (``adapter_config.json``; the run's ``config.yaml`` one level up);
* an **exported** or **combined** adapter folder (``adapter_config.json`` + ``llmner.yaml``);
* a **merged** model folder (``config.json`` + ``llmner.yaml``), loadable without peft.

``llmner.yaml`` holds what the run's ``config.yaml`` holds (the resolved config, the label
set, the format options and, for generative runs, the prompt): enough to rebuild the
format that turns the model's outputs into entities.

Example:
    >>> describe_base({"model_name_or_path": "smollm2-135m"})
    'HuggingFaceTB/SmolLM2-135M-Instruct'
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from llmner.data.text import DEFAULT_SPLITTER
from llmner.data.types import LabelSet
from llmner.errors import InputError
from llmner.io import parse_yaml
from llmner.models.hub import could_be_hub_id, hub_offline
from llmner.models.registry import MODELS
from llmner.rundir import flat_config

# The loaders below import the formats, torch, transformers and peft when called:
# locate() and local_folder() are the command line's check of --model, which answers before
# any of them loads (a mistyped folder in 0.3 s, not 9 s).

__all__ = [
    "META_FILE",
    "ModelSource",
    "build_format_from",
    "describe_base",
    "load_model",
    "local_folder",
    "locate",
    "merged_config",
    "needs_llmner_inputs",
]

META_FILE = "llmner.yaml"


@dataclass
class ModelSource:
    """A located model folder.

    Attributes:
        kind: ``adapter`` (peft adapter files) or ``merged`` (a full model).
        path: the folder holding the weights.
        meta: the run's resolved config with ``labels``, ``format_options``, ``prompt``
            and ``splitter``.
    """

    kind: str
    path: Path
    meta: dict

    @property
    def labels(self) -> LabelSet:
        return LabelSet.from_dict(self.meta["labels"])

    @property
    def format(self) -> str:
        return self.meta.get("format", "tagging")

    @property
    def task(self) -> str:
        from llmner.formats import FORMATS  # on use: see the note above __all__

        return FORMATS[self.format].task

    def format_options(self):
        """The run's format options, read back through their dataclass."""
        from llmner.formats import options_from_record  # on use: see the note above __all__

        return options_from_record(self.format, self.meta.get("format_options") or {}, self.meta)

    @property
    def splitter(self) -> str:
        """The word splitter for raw text: the run's ``splitter`` (how its training words
        relate to their text), ``llmner`` for a run that records none."""
        return self.meta.get("splitter") or DEFAULT_SPLITTER

    @property
    def quantization(self) -> str:
        return self.meta.get("quantization", "none") if self.kind == "adapter" else "none"

    def adapter_config(self) -> dict:
        return json.loads((self.path / "adapter_config.json").read_text(encoding="utf-8"))

    def load_base(self, quantization: str, dtype=None):
        """The adapter's base model, loaded as the run's config says (task, labels,
        double quantization, kept layers) in ``quantization`` and ``dtype``."""
        from llmner.models.loading import load_base_model  # on use: see the note above __all__

        return load_base_model(
            self.base_model(),
            self.task,
            self.labels,
            quantization,
            self.meta.get("double_quant", True),
            dtype=dtype,
            num_layers=self.meta.get("num_layers"),
        )

    def base_model(self) -> str:
        """What to load the base from: the run's model name (portable), else peft's record."""
        name = self.meta.get("model_name_or_path")
        if name:
            return name
        return self.adapter_config()["base_model_name_or_path"]


def describe_base(meta: dict) -> str:
    """The base model as others can find it: a hub id for llmner's named models."""
    name = str(meta.get("model_name_or_path", ""))
    return MODELS[name].hub_id if name in MODELS else name


def _read_yaml(path: Path) -> dict:
    data = parse_yaml(path.read_text(encoding="utf-8"), path) or {}
    if not isinstance(data, dict) or "labels" not in data:
        raise InputError("no 'labels' entry; expected an llmner run config", str(path))
    data = flat_config(data)
    if path.name == META_FILE:
        _resolve_base(data, path.parent)
    return data


def _resolve_base(meta: dict, folder: Path) -> None:
    """An exported folder records a local base model relative to itself (``../base``, no
    absolute path of the machine that made it): found from the folder, not from the
    current directory, while the two stay side by side."""
    name = str(meta.get("model_name_or_path") or "")
    if name.startswith(("./", "../")) and (folder / name).is_dir():
        meta["model_name_or_path"] = str((folder / name).resolve())


def local_folder(path: str | Path) -> Path:
    """``path`` itself, or for a hub repository id of an exported adapter (``owner/name``)
    its downloaded snapshot; with ``HF_HUB_OFFLINE`` set, the snapshot already in the local
    cache, as for a base model.

    Raises:
        InputError: a hub id that cannot be fetched (offline, unknown, no network), in
            one line; a missing local folder is left to :func:`locate` to name.
    """
    expected = "expected a run directory, adapter or model folder"
    if Path(path).exists() or not (len(Path(path).parts) == 2 and could_be_hub_id(str(path))):
        return Path(path)
    from huggingface_hub import snapshot_download  # optional: pip install 'llmner[hub]'

    offline = hub_offline()
    try:  # offline, the snapshot already in the local cache
        return Path(snapshot_download(str(path), local_files_only=offline))
    except Exception as e:  # not found, no network, no permission: all mean "not here"
        if offline:
            raise InputError(
                "no such folder, and not in the local Hugging Face cache (offline: not looked "
                f"up on the hub); {expected}",
                path,
            ) from None
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise InputError(
            f"no such folder, and no hub repository that could be fetched ({why}); {expected}",
            str(path),
        ) from None


def locate(path: str | Path) -> ModelSource:
    """Find the weights and the llmner metadata of a run, adapter, exported or merged folder.

    Raises:
        InputError: the folder is none of these, naming what was looked for.
    """
    path = Path(path)
    if not path.is_dir():
        raise InputError(
            "no such folder; expected a run directory, adapter or model folder", str(path)
        )
    if (path / "adapter_config.json").exists():
        for meta in (path / META_FILE, path.parent / "config.yaml"):
            if meta.exists():
                return ModelSource("adapter", path, _read_yaml(meta))
        raise InputError(
            f"an adapter without llmner metadata: no {META_FILE} here and no "
            "config.yaml in the run directory above",
            str(path),
        )
    if (path / "adapter" / "adapter_config.json").exists() and (path / "config.yaml").exists():
        return ModelSource("adapter", path / "adapter", _read_yaml(path / "config.yaml"))
    if (path / "config.json").exists() and (path / META_FILE).exists():
        return ModelSource("merged", path, _read_yaml(path / META_FILE))
    raise InputError(
        "not an llmner model: expected a run directory (config.yaml + adapter/), an adapter "
        f"folder (adapter_config.json) or a merged folder (config.json + {META_FILE})",
        str(path),
    )


def needs_llmner_inputs(source: ModelSource) -> list[str]:
    """Why a tagging model cannot be run by transformers alone: the options that make
    llmner build its inputs or lift its causal mask (empty when it can)."""
    if source.task != "token-classification":
        return []
    options = source.format_options()
    why = []
    if options.copies > 1:
        why.append(f"the sentence is fed {options.copies} times and the last copy tagged")
    if options.bidirectional not in ("none", "", None):
        why.append(f"the causal mask is lifted in layers {options.bidirectional!r}")
    return why


def build_format_from(
    source: ModelSource,
    tokenizer,
    max_length: int | None = None,
    constrained: bool | None = None,
    max_tokens_per_batch: int | None = None,
):
    """The run's format, rebuilt from its recorded options (a generative run's prompt
    pinned to the recorded version).

    Args:
        source: from :func:`locate`.
        tokenizer: the model's tokenizer.
        max_length: overrides the tagging window (sub-tokens).
        constrained: overrides a generative run's decoding mode.
        max_tokens_per_batch: token budget of a prediction batch (default: the
            machine's, see :func:`~llmner.models.numerics.resolve_token_budget`).
    """
    from llmner.formats import build_format  # on use: see the note above __all__
    from llmner.models.numerics import resolve_token_budget

    options = source.format_options()
    if max_length is not None and source.format == "tagging":
        options = dataclasses.replace(options, max_length=max_length)
    if constrained is not None and source.format == "generative":
        options = dataclasses.replace(options, constrained=constrained)
    return build_format(
        source.format,
        options,
        source.labels,
        tokenizer,
        max_tokens_per_batch=resolve_token_budget(
            max_tokens_per_batch
            if max_tokens_per_batch is not None
            else source.meta.get("max_tokens_per_batch")
        ),
    )


def load_model(
    source: ModelSource, quantization: str | None = None, dtype=None, verbose: bool = False
):
    """The model of ``source``, ready for prediction (eval mode).

    Args:
        source: from :func:`locate`.
        quantization: how to load an adapter's base; ``None`` means as it was trained.
        dtype: what the model computes in where it is not quantized: ``float32`` (the
            default) or ``bfloat16``, a name or a ``torch.dtype``. On the CPU a 4-bit model
            is dequantized and then cast to it; on a GPU a 4-bit model keeps its NF4
            weights and compute dtype.
        verbose: show transformers' progress bars while loading (off by default: a
            load is a phase, not news).

    Returns:
        ``(model, tokenizer)``, an adapter's model prepared by
        :func:`~llmner.models.quantization.prepare_for_inference` as a run's scoring
        prepares it (on the CPU a 4-bit model is dequantized once with its LoRA update
        merged: the fast CPU path).
    """
    import torch  # on use: see the note above __all__
    from transformers import AutoTokenizer

    from llmner.models.loading import progress_bars
    from llmner.models.quantization import prepare_for_inference, resolve_eval_dtype

    dtype = None if dtype is None else resolve_eval_dtype(dtype)
    config = merged_config(source) if source.kind == "merged" else None
    with progress_bars(verbose):
        # With the config given, the tokenizer does not read a guarded config.json, whose
        # auto_map would make transformers ask whether to run its code.
        kwargs = {"config": config} if config is not None else {}
        tokenizer = AutoTokenizer.from_pretrained(source.path, **kwargs)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if source.kind == "merged":
            model = _load_merged(source, config, dtype)
        else:
            from peft import PeftModel  # on use: see the note above __all__

            quant = source.quantization if quantization is None else quantization
            # On the CPU a quantized base loads as training loaded it and is cast only once
            # dequantized: quantizing weights already cast to bf16 gives other NF4 values
            # than those the adapter was trained on.
            cpu_quantized = quant != "none" and not torch.cuda.is_available()
            base = source.load_base(quant, None if cpu_quantized else dtype)
            model = PeftModel.from_pretrained(base, source.path)
            prepare_for_inference(model, dtype or torch.float32)
    build_format_from(source, tokenizer).prepare_model(model)
    return model.eval(), tokenizer


def merged_config(source: ModelSource):
    """The transformers config of a merged folder, read without its guard.

    An echo, repeat or bidirectional merge points its ``config.json`` at a guard that
    refuses plain transformers loading (see :mod:`llmner.adapters.merge`); llmner builds
    those inputs itself, so it reads the real model type (``llmner_model_type``) and
    drops the ``auto_map``. Nothing asks whether to run the guard's code.
    """
    from transformers import AutoConfig  # on use: see the note above __all__

    values = json.loads((source.path / "config.json").read_text(encoding="utf-8"))
    if "llmner_model_type" not in values:
        return AutoConfig.from_pretrained(source.path)
    values.pop("auto_map", None)
    values.pop("model_type")
    return AutoConfig.for_model(values.pop("llmner_model_type"), **values)


def _load_merged(source: ModelSource, config, dtype):
    # on use: see the note above __all__
    from transformers import AutoModelForCausalLM, AutoModelForTokenClassification

    import llmner.models.heads  # noqa: F401  (registers heads transformers lacks: Gemma 3)

    cls = (
        AutoModelForTokenClassification
        if source.task == "token-classification"
        else AutoModelForCausalLM
    )
    kwargs = {"dtype": dtype} if dtype is not None else {}
    return cls.from_pretrained(source.path, config=config, **kwargs)
