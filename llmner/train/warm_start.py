"""Starting a run from a trained one: ``--init_adapter PATH``.

``PATH`` is a run directory, its ``adapter/`` folder or an exported adapter (found by
:func:`~llmner.rundir.source.locate`), on the same base model and format as the new
run. A LoRA run starts from its LoRA weights (the adapter's rank, alpha and target
modules) and, for tagging, its head. A run that trained every weight (an encoder
baseline, ``use_lora: false``) saved a whole model in ``adapter/``: the new run starts
from all of its weights.

The head has one row per IOB2 label (weights and bias). The new run's labels come from
its own training data, so the sets may differ:

* a label both runs have keeps its trained row, copied bit for bit;
* a label only the new run has gets a fresh row (the head's ordinary initialisation);
* a label only the old run had is dropped.

What was kept, new and dropped is recorded under ``init_from`` in ``config.yaml``.
Generative runs have no head: the new labels reach the model through the prompt, which
lists the run's types.

Example:
    >>> from llmner.data.types import LabelSet
    >>> label_map(LabelSet(["PER", "LOC"]), LabelSet(["ORG", "PER"]))
    {'O': 0, 'B-PER': 1, 'I-PER': 2}
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model_state_dict, set_peft_model_state_dict
from safetensors.torch import load_file

from llmner.data.types import LabelSet
from llmner.errors import InputError
from llmner.models.loading import head_module_names
from llmner.rundir import ADAPTER_DIR, read_config
from llmner.rundir.source import ModelSource, describe_base, locate

__all__ = ["InitSource", "label_map", "locate_init"]

logger = logging.getLogger(__name__)

EXPECTED = (
    "expected a run directory (config.yaml + adapter/), its adapter/ folder or an exported "
    "adapter (adapter_config.json + llmner.yaml)"
)


def label_map(old: LabelSet, new: LabelSet) -> dict[str, int]:
    """For each label of ``new`` that ``old`` has, its row in ``old``'s head."""
    return {lab: old.label2id[lab] for lab in new.bio_labels if lab in old.label2id}


@dataclasses.dataclass
class InitSource:
    """A checked ``--init_adapter``: ``source`` holds its weights and metadata; ``full``
    says it is a whole model rather than a LoRA adapter. ``record`` is filled by
    :meth:`load_into` for ``config.yaml``."""

    given: str
    source: ModelSource
    full: bool
    record: dict = dataclasses.field(default_factory=dict)

    def lora_config(self, dropout: float):
        """The adapter's ``LoraConfig``, trainable, with the run's dropout."""
        cfg = LoraConfig.from_pretrained(str(self.source.path))
        return dataclasses.replace(cfg, inference_mode=False, lora_dropout=dropout)

    def weights_as_given(self) -> str:
        """The weights' folder written from the path the user gave (``runs/x/adapter``
        for ``--init_adapter runs/x``), so that a run's record names no folder of the
        machine it ran on; absolute only where the user's path was."""
        given = Path(self.given)
        try:
            return str(given / self.source.path.relative_to(given.resolve()))
        except ValueError:
            return str(self.source.path)

    def load_into(self, model, labels: LabelSet) -> dict:
        """Load the trained weights into ``model`` (the new run's model, its LoRA
        adapter added from :meth:`lora_config`); returns and keeps :attr:`record`."""
        old = self.source.labels
        kept = label_map(old, labels)
        if self.full:
            _load_full(model, self.source.path, kept, self.given)
        else:
            _load_lora(model, self.source.path, kept, self.given)
        heads = head_module_names(_base(model))
        self.record = {
            "path": self.given,
            "weights": self.weights_as_given(),
            "kind": "full" if self.full else "lora",
            "kept_labels": list(kept),
            "new_labels": [lab for lab in labels.bio_labels if lab not in kept],
            "dropped_labels": [lab for lab in old.bio_labels if lab not in labels.label2id],
            "head": heads[0] if heads else None,
        }
        logger.info(
            "--init_adapter %s: %d labels kept, %d new",
            self.given,
            len(kept),
            len(self.record["new_labels"]),
        )
        return self.record


def _full_model_source(path: Path) -> ModelSource | None:
    """A run that trained every weight: ``config.yaml`` beside a whole model in
    ``adapter/`` (or that folder itself)."""
    for weights, run in ((path / ADAPTER_DIR, path), (path, path.parent)):
        if (weights / "config.json").is_file() and "labels" in read_config(run):
            return ModelSource("merged", weights, read_config(run))
    return None


def locate_init(cfg) -> InitSource:
    """Find and check ``cfg.model.init_adapter`` against the run ``cfg`` describes.

    Raises:
        InputError: one line naming ``--init_adapter`` and what was expected: the path
            is not an llmner adapter, or it was trained on another base model, format,
            number of layers, LoRA shape, or with(out) LoRA where the run is the other.
    """
    given = cfg.model.init_adapter
    path = Path(given)
    source = _full_model_source(path) if path.is_dir() else None
    if source is None:
        try:
            source = locate(path)
        except InputError:
            raise InputError(f"--init_adapter {given}: not an llmner adapter; {EXPECTED}") from None
    full = source.kind == "merged"
    if full and cfg.model.use_lora:
        raise InputError(
            f"--init_adapter {given}: a whole model (trained without LoRA, or merged); "
            f"expected a LoRA adapter for this LoRA run ({EXPECTED}), or use_lora false"
        )
    if not full and not cfg.model.use_lora:
        raise InputError(
            f"--init_adapter {given}: a LoRA adapter; expected a run that trained every "
            "weight for this run (use_lora false), or use_lora true"
        )
    _check_same(
        given,
        "base model",
        _base_name(source),
        _base_name({"model_name_or_path": cfg.model.model_name_or_path}),
    )
    _check_same(given, "format", source.format, cfg.model.format)
    _check_same(given, "num_layers", source.meta.get("num_layers"), cfg.model.num_layers)
    init = InitSource(given, source, full)
    if not full:
        _check_lora_shape(init, cfg)
    return init


def _base_name(meta: dict | ModelSource) -> str:
    """The base model, comparable across runs: a hub id for named models, a resolved
    path for folders."""
    if isinstance(meta, ModelSource):
        meta = {"model_name_or_path": meta.meta.get("model_name_or_path") or meta.base_model()}
    name = describe_base(meta)
    return str(Path(name).resolve()) if Path(name).is_dir() else name


def _check_same(given: str, what: str, theirs, ours) -> None:
    if theirs != ours:
        raise InputError(
            f"--init_adapter {given}: trained with {what} {theirs}; expected the run's "
            f"{what}, {ours}"
        )


def _check_lora_shape(init: InitSource, cfg) -> None:
    lora = init.lora_config(cfg.model.lora_dropout)
    ours = (cfg.model.lora_r, cfg.model.lora_alpha)
    if (lora.r, lora.lora_alpha) != ours:
        raise InputError(
            f"--init_adapter {init.given}: LoRA r={lora.r}, alpha={lora.lora_alpha}; "
            f"expected the run's lora_r and lora_alpha ({ours[0]}, {ours[1]}) to match"
        )
    targets = {t for t in cfg.model.lora_target_modules.split(",") if t}
    if targets and targets != set(lora.target_modules):
        raise InputError(
            f"--init_adapter {init.given}: LoRA on {sorted(lora.target_modules)}; expected "
            f"the run's lora_target_modules, {sorted(targets)}, to match (or leave it empty)"
        )


def _base(model):
    """The transformers model under a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def _merge_rows(fresh: torch.Tensor, trained: torch.Tensor, kept: dict[str, int], new_ids):
    """``fresh`` with the rows of ``kept`` labels replaced by their trained rows."""
    out = fresh.detach().clone()
    for label, old_id in kept.items():
        out[new_ids[label]] = trained[old_id].to(out.dtype)
    return out


def _load_lora(model, folder: Path, kept: dict[str, int], given: str) -> None:
    tensors = load_file(str(folder / "adapter_model.safetensors"))
    current = get_peft_model_state_dict(model)
    label2id = _base(model).config.label2id
    heads = set(model.peft_config["default"].modules_to_save or [])
    state = {}
    for key, value in tensors.items():
        if key.split(".")[2] in heads and key in current:
            state[key] = _merge_rows(current[key], value, kept, label2id)
        else:
            state[key] = value
    result = set_peft_model_state_dict(model, state)
    unexpected = [k for k in result.unexpected_keys if "lora_" in k]
    missing = [k for k in current if k not in state]
    if unexpected or missing:
        raise InputError(
            f"--init_adapter {given}: its LoRA weights do not fit this model "
            f"({(unexpected or missing)[0]}, ...); expected an adapter of the same architecture"
        )


def _load_full(model, folder: Path, kept: dict[str, int], given: str) -> None:
    base = _base(model)
    state: dict[str, torch.Tensor] = {}
    for file in sorted(folder.glob("*.safetensors")):
        state.update(load_file(str(file)))
    heads = head_module_names(base)
    own = base.state_dict()
    head_keys = [k for k in state if k.split(".")[0] in heads]
    for key in head_keys:
        if key in own:
            state[key] = _merge_rows(own[key], state[key], kept, base.config.label2id)
    result = base.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if k.split(".")[0] not in heads]
    if missing or result.unexpected_keys or not state:
        first = (missing or result.unexpected_keys or ["no weights found"])[0]
        raise InputError(
            f"--init_adapter {given}: its weights do not fit this model ({first}, ...); "
            "expected a model of the same architecture"
        )
