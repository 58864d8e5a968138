"""Training on augmented sentences, re-encoded at the start of each epoch.

The hook is ``TrainerCallback.on_epoch_begin``: ``Trainer`` calls it before it iterates
the epoch's data loader, so :class:`AugmentedTrainSet` swaps in the epoch's features
first, and the loader (and any sampler) reads them by index as usual. The epoch number
is taken from ``state.epoch``, which makes a resumed run draw what an uninterrupted one
draws (:class:`~llmner.data.augment.Augmenter` seeds epoch ``e`` with ``seed + e``).

Why not a ``datasets`` transform: ``set_transform`` runs per item and knows nothing of
the epoch. Why not ``set_epoch`` on the dataset: Accelerate forwards an epoch to the
dataset only when the batch sampler has no ``set_epoch`` of its own, which
llmner's token-budget sampler has.

Two modes (``--augment_mode``): ``replace`` swaps about half the sentences for a copy each
epoch; ``add`` keeps every original and adds one copy of each (the features are the
originals' followed by the copies', so an epoch is twice as long).

Samplers plan each epoch from the number of features, so an augmented copy must encode
to as many features (windows, pieces) as its original; one that does not (it crossed a
window boundary) is refused and the original trained on instead. The token-budget
sampler plans its batches from the original lengths (:attr:`AugmentedTrainSet.lengths`):
an augmented batch can exceed the budget by as much as its copies are longer.
"""

from __future__ import annotations

import math

from torch.utils.data import Dataset
from transformers import TrainerCallback

from llmner.data.augment import AUGMENTED_SHARE, Augmenter
from llmner.data.types import Sentence

__all__ = ["AugmentCallback", "AugmentedTrainSet", "augmented_train_set"]


class AugmentedTrainSet(Dataset):
    """The training features of ``sentences``, re-encoded each epoch from the
    :class:`Augmenter`'s copies (the original sentences' until :meth:`set_epoch`).

    Args:
        fmt: the run's :class:`~llmner.formats.base.TaskFormat` (``encode_sentence``).
        sentences: the training sentences.
        augmenter: draws each epoch's copies.
        mode: ``replace`` or ``add`` (see the module).
    """

    def __init__(
        self, fmt, sentences: list[Sentence], augmenter: Augmenter, mode: str = "replace"
    ) -> None:
        self.fmt = fmt
        self.sentences = sentences
        self.augmenter = augmenter
        self.mode = mode
        encoded = [fmt.encode_sentence(s) for s in sentences]
        self._originals = {id(s): rows for s, rows in zip(sentences, encoded)}
        self._copies: dict[int, list[dict]] = {}  # those _accept encoded in this epoch
        originals = [row for rows in encoded for row in rows]
        self._kept: list[dict] = originals if mode == "add" else []  # rows every epoch keeps
        # until the first epoch: the original sentences (twice over in add mode)
        self.rows: list[dict] = self._kept + originals
        self.epoch: int | None = None

    def _accept(self, original: Sentence, copy: Sentence) -> bool:
        try:
            rows = self.fmt.encode_sentence(copy)
        except ValueError:  # e.g. a generative answer cut away entirely
            return False
        self._copies[id(copy)] = rows
        return len(rows) == len(self._originals[id(original)])

    def set_epoch(self, epoch: int) -> None:
        """The features of epoch ``epoch`` (drawn once per epoch)."""
        if epoch == self.epoch:
            return
        share = 1.0 if self.mode == "add" else AUGMENTED_SHARE
        copies = self.augmenter.epoch(self.sentences, epoch, accept=self._accept, share=share)
        rows = self._kept + [row for s in copies for row in self._rows_of(s)]
        self._copies = {}
        if len(rows) != len(self.rows):  # _accept keeps the count of each sentence
            raise RuntimeError("augmentation changed the number of training features")
        self.rows, self.epoch = rows, epoch

    def _rows_of(self, sentence: Sentence) -> list[dict]:
        if id(sentence) in self._originals:
            return self._originals[id(sentence)]
        return self._copies[id(sentence)]

    @property
    def lengths(self) -> list[int]:
        """Each feature's length in tokens, as the sampler plans with them."""
        return [row["length"] for row in self.rows]

    def summary(self) -> dict:
        """What ``metrics.json`` records under ``augmentation``."""
        return {"mode": self.mode, **self.augmenter.summary()}

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict:
        return self.rows[index]


class AugmentCallback(TrainerCallback):
    """Re-encodes :class:`AugmentedTrainSet` at the start of each epoch."""

    def __init__(self, dataset: AugmentedTrainSet) -> None:
        self.dataset = dataset

    def on_epoch_begin(self, args, state, control, **kwargs):
        # At epoch e's start state.epoch is e (or e + a fraction after a mid-epoch resume).
        self.dataset.set_epoch(math.floor((state.epoch or 0) + 1e-6))


def augmented_train_set(cfg, fmt, sentences: list[Sentence]) -> AugmentedTrainSet | None:
    """The run's augmented training set (``None`` without ``cfg.data.augment``)."""
    if not cfg.data.augment:
        return None
    data = cfg.data
    augmenter = Augmenter(
        tuple(data.augment.split(",")), data.augment_rate, sentences, cfg.training.seed
    )
    return AugmentedTrainSet(fmt, sentences, augmenter, data.augment_mode)
