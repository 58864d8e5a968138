"""One entry point from "where the data is" to a list of IOB2 sentences.

A source is one of:

- a bundled dataset name (``bc5cdr``, ``wnut17``) or a folder of ``train.txt``/``dev.txt``/
  ``test.txt``, with a ``split``;
- a ``.jsonl`` or ``.json`` file of texts with character-offset spans;
- any other file: CoNLL columns;
- a ``datasets.Dataset`` (or a ``DatasetDict`` with a ``split``);
- ``hf:ID`` or ``hf:ID:CONFIG``: a hub dataset (needs the network).

Example:
    >>> sentences = load_sentences("wnut17", split="validation")
    >>> len(sentences), sentences[0].id
    (1009, 'dev.txt:1')
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from llmner.data.conll import ConllStats, read_conll
from llmner.data.hf import from_hf_dataset, load_hf
from llmner.data.jsonl import read_jsonl
from llmner.data.registry import BUNDLED, get_dataset
from llmner.data.types import LabelSet, Sentence
from llmner.errors import InputError

__all__ = ["SPLITS", "is_dataset_name", "labels_for", "load_sentences", "load_splits"]

SPLITS = ("train", "validation", "test")
_ALIASES = {"dev": "validation", "valid": "validation", "val": "validation"}
JSON_SUFFIXES = (".jsonl", ".json")


def _types(labels: LabelSet | Iterable[str] | None) -> list[str] | None:
    if labels is None:
        return None
    return list(labels.types) if isinstance(labels, LabelSet) else list(labels)


def is_dataset_name(source: str | Path) -> bool:
    """Whether ``source`` names a dataset with splits (a bundled name or a folder) rather
    than one file."""
    return str(source) in BUNDLED or Path(source).is_dir()


def load_sentences(
    source: Any,
    split: str | None = None,
    labels: LabelSet | Iterable[str] | None = None,
    strict: bool = False,
    stats: ConllStats | None = None,
) -> list[Sentence]:
    """Read sentences from a bundled name, a file, a ``datasets.Dataset`` or ``hf:ID``.

    Args:
        source: see the module docstring.
        split: ``train``, ``validation`` (or ``dev``) or ``test``; needed for a named
            dataset, a folder, a ``DatasetDict`` or a hub id (default ``train`` there).
        labels: the allowed entity types; any other type is an error. A bundled dataset
            checks against its own label set when this is None.
        strict: refuse invalid IOB2 transitions instead of repairing them.
        stats: collects what a CoNLL read repaired.

    Raises:
        InputError: an unknown source or split, or a malformed file (naming file and line).
    """
    split = _ALIASES.get(split, split) if split else None
    allowed = _types(labels)
    if hasattr(source, "column_names"):  # a datasets.Dataset or DatasetDict
        if isinstance(source.column_names, dict):
            source = source[_hf_split(split, list(source.column_names))]
        return from_hf_dataset(source, strict=strict)
    if isinstance(source, str) and source.startswith("hf:"):
        return load_hf(source[3:], split or "train", strict=strict)
    if is_dataset_name(source):
        spec = get_dataset(str(source))
        if split is None:
            raise InputError(f"{source} is a dataset; name a split, one of {list(SPLITS)}")
        if allowed is None and spec.labels.types:
            allowed = list(spec.labels.types)
        source = spec.split_path(split)
    path = Path(source)
    if path.suffix.lower() in JSON_SUFFIXES:
        return read_jsonl(path, labels=allowed)
    return read_conll(path, strict=strict, stats=stats, allowed_types=allowed)


def _hf_split(split: str | None, available: list[str]) -> str:
    if split is None:
        raise InputError(f"a DatasetDict needs a split; found {available}")
    for name in (split, *[k for k, v in _ALIASES.items() if v == split]):
        if name in available:
            return name
    raise InputError(f"no split {split!r}; found {available}")


def load_splits(
    source: Any,
    labels: LabelSet | Iterable[str] | None = None,
    strict: bool = False,
    splits: Iterable[str] = SPLITS,
) -> dict[str, list[Sentence]]:
    """Every split of a dataset: ``{"train": [...], "validation": [...], "test": [...]}``.

    ``source`` is anything :func:`load_sentences` takes with a split, or a mapping from
    split name to a source (``{"train": "a.conll", "validation": "b.jsonl"}``). A folder
    may lack some splits; they are left out (``train`` must be there).

    Example:
        >>> {k: len(v) for k, v in load_splits("wnut17").items()}
        {'train': 3394, 'validation': 1009, 'test': 1287}
    """
    if isinstance(source, dict):
        return {
            _ALIASES.get(k, k): load_sentences(v, labels=labels, strict=strict)
            for k, v in source.items()
        }
    out = {}
    for split in splits:
        if is_dataset_name(source) and not get_dataset(str(source)).split_path(split).exists():
            if split == "train":
                raise InputError(f"{source} has no training split (train.txt)")
            continue
        out[split] = load_sentences(source, split=split, labels=labels, strict=strict)
    return out


def labels_for(source: Any, sentences: list[Sentence]) -> LabelSet:
    """The label set of a source: a bundled dataset's own (with descriptions), else the
    types that occur in ``sentences``, sorted, with the descriptions a dataset folder's
    spec has for them (a folder named ``conll*``: CoNLL-2003's).

    Example:
        >>> labels_for("bc5cdr", []).types
        ['Chemical', 'Disease']
        >>> from llmner.data.types import Sentence
        >>> labels_for("x.conll", [Sentence(["Oslo"], ["B-LOC"])]).types
        ['LOC']
    """
    if isinstance(source, (str, Path)) and str(source) in BUNDLED:
        return BUNDLED[str(source)].labels
    found = LabelSet.from_sentences(sentences)
    if isinstance(source, (str, Path)) and is_dataset_name(source):
        # a folder named conll* gets CoNLL-2003's descriptions for the types it has
        known = get_dataset(str(source)).labels.descriptions
        return LabelSet(found.types, {t: known[t] for t in found.types if t in known})
    return found
