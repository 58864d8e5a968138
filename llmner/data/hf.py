"""Hugging Face ``datasets``: a ``Dataset`` with ``tokens`` and ``ner_tags`` to sentences.

``ner_tags`` may hold ``ClassLabel`` ids (as on the hub: ``conll2003``, ``wnut_17``, ...)
or tag strings. Tags are read in any scheme (IOB1/IOB2/BIOES) and kept as IOB2, with
invalid transitions repaired as :func:`llmner.data.conll.read_conll` does.

``datasets`` is imported only where a hub dataset is loaded, so reading an in-memory
dataset costs nothing extra.
"""

from __future__ import annotations

from typing import Any

from llmner.data.schemes import invalid_transitions, repair_iob2, to_iob2
from llmner.data.types import LabelSet, Sentence
from llmner.errors import InputError

__all__ = ["from_hf_dataset", "hf_labels", "load_hf"]


def _tag_names(dataset: Any, column: str) -> list[str] | None:
    """The ``ClassLabel`` names of a ``Sequence(ClassLabel)`` column, or None for strings."""
    feature = dataset.features.get(column)
    inner = getattr(feature, "feature", None)
    return list(inner.names) if hasattr(inner, "names") else None


def hf_labels(dataset: Any, tags_column: str = "ner_tags") -> LabelSet:
    """The entity types of a dataset's ``ClassLabel`` tags, in the order they first occur.

    Example:
        >>> from datasets import ClassLabel, Dataset, Features, Sequence, Value
        >>> names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
        >>> features = Features({"tokens": Sequence(Value("string")),
        ...                      "ner_tags": Sequence(ClassLabel(names=names))})
        >>> ds = Dataset.from_dict({"tokens": [["Ann"]], "ner_tags": [[1]]}, features=features)
        >>> hf_labels(ds).types
        ['PER', 'LOC']
    """
    names = _tag_names(dataset, tags_column)
    if names is None:
        raise InputError(f"column {tags_column!r} holds no ClassLabel names")
    types: list[str] = []
    for name in names:
        if name != "O" and name[2:] not in types:
            types.append(name[2:])
    return LabelSet(types)


def from_hf_dataset(
    dataset: Any,
    tokens_column: str = "tokens",
    tags_column: str = "ner_tags",
    scheme: str = "iob2",
    strict: bool = False,
    name: str = "hf",
) -> list[Sentence]:
    """Sentences from a ``datasets.Dataset`` with a token column and a tag column.

    Args:
        dataset: a ``datasets.Dataset`` (or anything with ``features`` and rows as dicts).
        tokens_column: the column of token lists.
        tags_column: the column of tag lists: ``ClassLabel`` ids or strings.
        scheme: the tag scheme of the dataset (``iob1``, ``iob2`` or ``bioes``).
        strict: refuse invalid IOB2 transitions instead of repairing them.
        name: the prefix of each sentence's id (``name:row``).

    Raises:
        InputError: a missing column, a tag id outside the names, a bad tag.

    Example:
        >>> from datasets import Dataset
        >>> ds = Dataset.from_dict({"tokens": [["Ann", "ran"]], "ner_tags": [["B-PER", "O"]]})
        >>> [(s.tokens, s.tags, s.id) for s in from_hf_dataset(ds)]
        [(['Ann', 'ran'], ['B-PER', 'O'], 'hf:0')]
    """
    for column in (tokens_column, tags_column):
        if column not in dataset.column_names:
            raise InputError(f"{name}: no column {column!r}; found {dataset.column_names}")
    names = _tag_names(dataset, tags_column)
    sentences = []
    for i, row in enumerate(dataset):
        where = f"{name}:{i}"
        tags = [_tag_name(t, names, where) for t in row[tags_column]]
        if strict and scheme == "iob2" and invalid_transitions(tags):
            bad = invalid_transitions(tags)[0]
            raise InputError(
                f"{where}: invalid transition to {tags[bad]!r} at token {bad}; "
                "expected IOB2, or run without strict mode to repair it"
            )
        try:
            sentences.append(
                Sentence(list(row[tokens_column]), repair_iob2(to_iob2(tags, scheme)), id=where)
            )
        except (ValueError, KeyError) as e:
            raise InputError(f"{where}: {e}") from None
    return sentences


def _tag_name(tag: Any, names: list[str] | None, where: str) -> str:
    if names is not None and isinstance(tag, int):
        if not 0 <= tag < len(names):
            raise InputError(f"{where}: tag id {tag} outside the {len(names)} ClassLabel names")
        tag = names[tag]
    if not isinstance(tag, str) or not (tag == "O" or (len(tag) > 2 and tag[1] == "-")):
        raise InputError(f"{where}: unknown tag {tag!r}; expected O or B-/I-/E-/S- and a type")
    return tag


def load_hf(
    hub_id: str, split: str = "train", strict: bool = False, **kwargs: Any
) -> list[Sentence]:
    """Load ``split`` of a hub dataset with ``datasets.load_dataset`` (needs the network).

    ``hub_id`` may name a configuration after a colon: ``"org/name:config"``.
    """
    import datasets  # about 1 s (pyarrow, pandas): keeps llmner.data and `llmner --help` quick

    path, _, config = hub_id.partition(":")
    dataset = datasets.load_dataset(path, config or None, split=split, **kwargs)
    return from_hf_dataset(dataset, strict=strict, name=f"hf:{hub_id}/{split}")
