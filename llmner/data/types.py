"""The objects that flow through llmner: a sentence with its tags, a label set."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LabelSet", "Sentence"]


@dataclass
class Sentence:
    """One sentence: its tokens and one IOB2 tag per token.

    Args:
        tokens: the words of the sentence.
        tags: one IOB2 tag per token (``O``, ``B-TYPE``, ``I-TYPE``).
        id: a stable identifier, e.g. ``"train.txt:12"`` (file and first line).
        spaces: whether each token is followed by a space in the original text; ``None``
            means "one space between tokens", as in CoNLL files.

    Example:
        >>> s = Sentence(["Apple", "rose"], ["B-ORG", "O"])
        >>> s.text
        'Apple rose'
        >>> s.offsets()
        [(0, 5), (6, 10)]
    """

    tokens: list[str]
    tags: list[str]
    id: str = ""
    spaces: list[bool] | None = None

    def __post_init__(self) -> None:
        if len(self.tokens) != len(self.tags):
            raise ValueError(
                f"sentence {self.id!r}: {len(self.tokens)} tokens but {len(self.tags)} tags"
            )

    def __len__(self) -> int:
        return len(self.tokens)

    def offsets(self) -> list[tuple[int, int]]:
        """Character offsets of each token in :attr:`text`."""
        spans, pos = [], 0
        for i, tok in enumerate(self.tokens):
            spans.append((pos, pos + len(tok)))
            pos += len(tok) + (1 if self._space_after(i) else 0)
        return spans

    def _space_after(self, i: int) -> bool:
        if i == len(self.tokens) - 1:
            return False
        return True if self.spaces is None else self.spaces[i]

    @property
    def text(self) -> str:
        """The sentence as text, tokens joined as :attr:`spaces` says."""
        return "".join(t + (" " if self._space_after(i) else "") for i, t in enumerate(self.tokens))


@dataclass
class LabelSet:
    """The entity types of a dataset, in a fixed order, with optional descriptions.

    Args:
        types: entity types, e.g. ``["Chemical", "Disease"]``.
        descriptions: a natural-language description per type (used in prompts).

    Example:
        >>> ls = LabelSet(["PER", "LOC"])
        >>> ls.bio_labels
        ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC']
        >>> ls.label2id["I-LOC"]
        4
    """

    types: list[str]
    descriptions: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(set(self.types)) != len(self.types):
            raise ValueError(f"duplicate entity types in {self.types}")
        unknown = set(self.descriptions) - set(self.types)
        if unknown:
            raise ValueError(f"descriptions for unknown types {sorted(unknown)}")

    @property
    def bio_labels(self) -> list[str]:
        """``O`` then ``B-``/``I-`` for each type: the classification head's labels."""
        return ["O"] + [f"{p}-{t}" for t in self.types for p in ("B", "I")]

    @property
    def label2id(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.bio_labels)}

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.bio_labels))

    @classmethod
    def from_sentences(cls, sentences: list[Sentence], descriptions: dict | None = None):
        """The types that occur in ``sentences``, sorted by name."""
        types = sorted({tag[2:] for s in sentences for tag in s.tags if tag != "O"})
        return cls(types, dict(descriptions or {}))

    def to_dict(self) -> dict:
        return {"types": list(self.types), "descriptions": dict(self.descriptions)}

    @classmethod
    def from_dict(cls, d: dict) -> LabelSet:
        return cls(list(d["types"]), dict(d.get("descriptions") or {}))
