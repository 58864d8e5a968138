"""The interface both task formulations implement.

A format turns sentences into training features for one kind of model and turns the
model's outputs back into IOB2 tags. Everything else (loading, training, scoring, the run
directory) is shared.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from llmner.data.types import LabelSet, Sentence

__all__ = ["Prediction", "TaskFormat"]


@dataclass
class Prediction:
    """Predicted IOB2 tags, one list per input sentence, plus format-specific counts
    (e.g. parse failures) that go into ``metrics.json`` as they are, and, where the
    format has them, a confidence per entity: ``scores[i][(start, end)]`` for the entity
    on tokens ``start:end`` of sentence ``i``."""

    tags: list[list[str]]
    metrics: dict = field(default_factory=dict)
    scores: list[dict] | None = None


class TaskFormat(ABC):
    """One way of casting NER for a model.

    Attributes:
        name: the value of ``--format``.
        task: ``"token-classification"`` or ``"causal-lm"``: which model class to load.
    """

    name: str
    task: str
    #: raw text is cut into sentences of at most ``NERModel.max_words`` words before
    #: prediction (the generative answer budget grows with the sentence)
    cuts_raw_text: bool = False

    def __init__(self, labels: LabelSet, tokenizer) -> None:
        self.labels = labels
        self.tokenizer = tokenizer

    @classmethod
    @abstractmethod
    def from_options(cls, options, labels: LabelSet, tokenizer, train_sentences=None, **runtime):
        """The format built from its options dataclass (see :mod:`llmner.formats.options`)."""

    def prepare_model(self, model) -> list[int]:
        """What the format needs of the model it runs on, applied in place after loading
        (e.g. lifting the causal mask); returns the layers it changed."""
        return []

    @abstractmethod
    def encode(self, sentences: list[Sentence]):
        """Training features (a ``datasets.Dataset`` with ``input_ids`` and ``labels``)."""

    def encode_sentence(self, sentence: Sentence) -> list[dict]:
        """The training features of one sentence (one per window or piece); what
        per-epoch re-encoding (augmentation) uses."""
        return list(self.encode([sentence]))

    @abstractmethod
    def collator(self):
        """A callable that pads a list of encoded features into a batch."""

    @abstractmethod
    def predict(self, model, sentences: list[Sentence], batch_size: int = 32) -> Prediction:
        """IOB2 tags for ``sentences``; one process, no sharding (the caller shards)."""

    def describe(self) -> dict:
        """What a run records about this format (options, prompt name and hash, ...)."""
        return {"format": self.name}
