"""Merging an adapter into its base: a standalone model folder that needs no peft.

The merge itself is peft's ``merge_and_unload``. LoRA updates cannot be added into
bitsandbytes 4-bit weights without re-quantizing them (which rounds the update away and
changes every weight of the layer), so a 4-bit run's base is first dequantized with
transformers' ``PreTrainedModel.dequantize``: the merged model holds exactly the NF4
values the adapter was trained and scored against, plus the update, and predicts what
the adapter predicts (``base="quantized"``, the default).

``base="original"`` loads the base's original 16/32-bit weights instead, as the QLoRA
authors merge: a model close to the adapter, but not the one that was scored. The
difference is measured when a ``check`` dataset is given (``llmner merge`` uses the run's
own test split when it can read it) and written into the folder's model card.

A tagging run whose inputs llmner builds (``echo``/``repeat``) or whose causal mask llmner
lifts (``bidirectional``) loads in transformers alone as an ordinary model that would tag
wrongly; its merged folder's ``config.json`` therefore has the model type ``llmner`` and
an ``auto_map`` to a guard module (:data:`GUARD_FILE`), so that ``AutoConfig``,
``AutoModelForTokenClassification`` and ``pipeline("token-classification")`` refuse it:
without ``trust_remote_code`` transformers says the folder holds custom code (the guard,
whose docstring says why); with it, the guard raises a message pointing to
:func:`llmner.load`, which loads the folder correctly.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
import yaml
from peft import PeftModel
from transformers import AutoTokenizer

from llmner.adapters.card import merged_card
from llmner.adapters.export import make_readable
from llmner.data.schemes import tags_to_spans
from llmner.errors import InputError
from llmner.eval.scoring import entity_agreement, score
from llmner.io import atomic_dir, require_empty_folder
from llmner.models.quantization import is_quantized
from llmner.rundir.source import (
    META_FILE,
    ModelSource,
    build_format_from,
    load_model,
    locate,
    needs_llmner_inputs,
)

__all__ = [
    "BASES",
    "DTYPES",
    "GUARD_FILE",
    "agreement",
    "merge_adapter",
    "merge_model",
    "needs_llmner_inputs",
    "save_model_folder",
]

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
BASES = ("quantized", "original")
GUARD_FILE = "llmner_guard.py"
GUARD_MODEL_TYPE = "llmner"


def merge_model(model):
    """Merge a ``PeftModel``'s active LoRA adapter into its base and return the base.

    Raises:
        InputError: ``model`` holds 4-bit or 8-bit bitsandbytes layers.
    """
    if is_quantized(model):
        raise InputError(
            "cannot merge into quantized weights: the LoRA update would be rounded to 4/8 "
            "bits together with the base, changing the model. Load the base in 16 or 32 bits "
            "(quantization='none') and merge that, e.g. with merge_adapter(ADAPTER, OUTPUT) "
            "or `llmner merge`, which does so"
        )
    if not hasattr(model, "merge_and_unload"):
        raise InputError(f"expected a peft model with a LoRA adapter, got {type(model).__name__}")
    return model.merge_and_unload()


def merge_adapter(
    adapter: str | Path,
    output: str | Path,
    dtype: str = "float32",
    base: str = "quantized",
    check=None,
) -> Path:
    """Write ``output``: the merged weights, a config with the label names, the tokenizer,
    ``llmner.yaml`` and a model card.

    Args:
        adapter: a run directory, its ``adapter/`` or an exported adapter folder.
        output: the folder to write (must not exist or be empty).
        dtype: ``float32``, ``bfloat16`` or ``float16``: the merged weights' dtype.
        base: ``quantized`` (default): a 4-bit or 8-bit run's base as the adapter saw it,
            dequantized; ``original``: the base's original weights. The same for runs
            trained without quantization.
        check: sentences (a list of :class:`~llmner.data.types.Sentence`) on which to
            compare the merged model's predictions with the adapter's; the result goes
            into ``llmner.yaml`` (``merge_check``) and the model card.

    Returns:
        ``output``. It loads with ``AutoModelForTokenClassification.from_pretrained`` (causal
        tagging runs; ``id2label`` names the IOB2 labels) or ``AutoModelForCausalLM``
        (generative runs), and always with :func:`llmner.load`, which reads
        ``llmner.yaml`` next to it. See the module docstring for echo, repeat and
        bidirectional runs.
    """
    if dtype not in DTYPES:
        raise InputError(f"unknown dtype {dtype!r}; expected one of {list(DTYPES)}")
    if base not in BASES:
        raise InputError(f"unknown merge base {base!r}; expected one of {list(BASES)}")
    source = locate(adapter)
    if source.kind != "adapter":
        raise InputError("already a merged model; expected an adapter", str(adapter))
    output = require_empty_folder(output)
    merged, tokenizer = _merged_model(source, base, DTYPES[dtype])
    labels = source.labels
    if source.task == "token-classification":
        merged.config.id2label = labels.id2label
        merged.config.label2id = labels.label2id
    quantized = source.quantization in ("4bit", "8bit")
    meta = dict(
        source.meta,
        merged_from=str(adapter),
        merged_dtype=dtype,
        merge_base=base if quantized else "original",
        quantization="none",
        trained_quantization=source.quantization,
    )
    guard = needs_llmner_inputs(source)
    save_model_folder(output, merged, tokenizer, meta, guard=guard)
    del merged
    if check:
        meta["merge_check"] = agreement(adapter, output, check)
        save_model_folder(output, None, None, meta, guard=guard, card_only=True)
    return output


def _tags(path: str | Path, sentences) -> list[list[str]]:
    """The tags a model folder predicts for ``sentences``, loaded as ``llmner.load``
    loads it (from the run-directory layer: adapters sit beside prediction, not above)."""
    source = locate(path)
    model, tokenizer = load_model(source)
    return build_format_from(source, tokenizer).predict(model, sentences, batch_size=16).tags


def _merged_model(source: ModelSource, base: str, dtype: torch.dtype):
    """The adapter merged into the chosen base, unwrapped from peft, in ``dtype``."""
    quant = source.quantization if base == "quantized" else "none"
    model = source.load_base(quant, None if quant in ("4bit", "8bit") else dtype)
    if quant in ("4bit", "8bit"):
        # the NF4 (or int8) values the adapter was trained against, in float32
        model = model.dequantize(dtype=torch.float32)
    model = PeftModel.from_pretrained(model, source.path)
    merged = merge_model(model).to(dtype)
    tokenizer = AutoTokenizer.from_pretrained(source.path)
    return merged.eval(), tokenizer


def agreement(adapter: str | Path, merged: str | Path, sentences) -> dict:
    """How the merged model's predictions compare with the adapter's on ``sentences``:
    entity counts, their agreement (shared entities over all entities found by either),
    identical sentences, and each one's strict F1 against the sentences' tags."""
    gold = [s.tags for s in sentences]
    a, b = _tags(adapter, sentences), _tags(merged, sentences)
    spans_a = {(i, *sp) for i, t in enumerate(a) for sp in tags_to_spans(t)}
    spans_b = {(i, *sp) for i, t in enumerate(b) for sp in tags_to_spans(t)}
    return {
        "sentences": len(sentences),
        "identical_sentences": sum(x == y for x, y in zip(a, b)),
        "adapter_entities": len(spans_a),
        "merged_entities": len(spans_b),
        "shared_entities": len(spans_a & spans_b),
        "entity_agreement": entity_agreement(spans_a, spans_b),
        "adapter_f1": round(score(gold, a)["f1"], 4),
        "merged_f1": round(score(gold, b)["f1"], 4),
    }


def save_model_folder(
    output: str | Path,
    model,
    tokenizer,
    meta: dict,
    guard: list[str] | None = None,
    card_only: bool = False,
) -> None:
    """Write ``output`` atomically: the model's and tokenizer's ``save_pretrained`` files,
    ``meta`` as ``llmner.yaml`` (what :func:`llmner.load` reads), the model card, and for
    a model transformers cannot run alone (``guard``: why) the guard module.

    ``card_only`` rewrites ``llmner.yaml`` and the card of an existing folder.
    """
    output = Path(output)

    def texts(folder: Path) -> None:
        (folder / META_FILE).write_text(yaml.safe_dump(meta, sort_keys=False), encoding="utf-8")
        (folder / "README.md").write_text(merged_card(meta, guard or []), encoding="utf-8")
        if guard:
            (folder / GUARD_FILE).write_text(_guard_module(guard), encoding="utf-8")

    if card_only:
        texts(output)
        return
    with atomic_dir(output) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        texts(tmp)
        if guard:
            _guard_config(tmp / "config.json")
        make_readable(tmp)  # save_pretrained writes the weights private to their owner


def _guard_config(path: Path) -> None:
    """Point ``config.json`` at the guard: an unknown ``model_type`` (the real one kept as
    ``llmner_model_type``) and an ``auto_map`` to the guard module, so transformers refuses
    the folder (as custom code, or with the guard's message under
    ``trust_remote_code=True``) instead of loading it as an ordinary model."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["llmner_model_type"] = config["model_type"]
    config["model_type"] = GUARD_MODEL_TYPE
    config["auto_map"] = {
        "AutoConfig": "llmner_guard.GuardConfig",
        "AutoModelForTokenClassification": "llmner_guard.Guard",
    }
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _guard_module(why: list[str]) -> str:
    reason = "; ".join(why)
    return f'''"""Refuses to load this model in transformers alone: it was trained with llmner
({reason}), and transformers would feed it ordinary inputs and tag wrongly."""

MESSAGE = (
    "This token-classification model was trained with llmner: {reason}. "
    "transformers alone would feed it ordinary inputs and predict wrong tags. "
    "Load it with llmner instead: `import llmner; llmner.load(FOLDER).predict(texts)` "
    "(pip install llmner)."
)


class GuardConfig:
    @classmethod
    def register_for_auto_class(cls, *args, **kwargs):
        return None

    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        raise ValueError(MESSAGE)


class Guard:
    @classmethod
    def from_pretrained(cls, *args, **kwargs):
        raise ValueError(MESSAGE)

    @classmethod
    def from_config(cls, *args, **kwargs):
        raise ValueError(MESSAGE)

    @classmethod
    def register_for_auto_class(cls, *args, **kwargs):
        return None
'''
