"""Data augmentation for NER: three of the simple operations of Dai & Adel (2020, COLING,
"An Analysis of Simple Data Augmentation for Named Entity Recognition"), on IOB2 sentences.

* ``label_wise_token_replacement``: each token, with probability ``rate``, becomes a token
  drawn from the training tokens with the same tag (a ``B-PER`` token for a ``B-PER``,
  an ``O`` token for an ``O``); the tags do not change.
* ``mention_replacement``: each mention, with probability ``rate``, becomes a mention of
  the same type drawn from the training split; its ``B-``/``I-`` tags follow the new length.
* ``shuffle_within_segments``: the sentence is cut into segments (each mention, each run
  of ``O``); each segment, with probability ``rate``, has its tokens shuffled; the tags do
  not change.

Every operation keeps the sentence's structure: the same sequence of segments (mentions
of the same types, in the same order, between the same runs of ``O``), so the tags stay
valid IOB2. Tokens and mentions are drawn by occurrence (frequent ones more often) from
the training sentences only, never from validation or test.

:class:`Augmenter` applies them on the fly, one epoch at a time: in epoch ``e`` (random
numbers seeded with ``seed + e``) each training sentence is, with probability
:data:`AUGMENTED_SHARE`, replaced by a copy changed by one of the chosen operations (drawn
uniformly). The paper trains on the original sentences plus augmented copies; replacing
half of them each epoch keeps that mix without lengthening the epoch. With ``share=1``
every sentence gets a copy: what ``--augment_mode add`` trains on beside the originals.

Example:
    >>> segments(["O", "O", "B-PER", "I-PER", "B-PER", "O"])
    [('O', 0, 2), ('PER', 2, 4), ('PER', 4, 5), ('O', 5, 6)]
    >>> pool = AugmentPool.from_sentences([Sentence(["met", "Bo", "Li"], ["O", "B-PER", "I-PER"])])
    >>> s = Sentence(["Ann", "ran"], ["B-PER", "O"])
    >>> out = mention_replacement(s, 1.0, pool, random.Random(1))
    >>> out.tokens, out.tags
    (['Bo', 'Li', 'ran'], ['B-PER', 'I-PER', 'O'])
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from llmner.data.schemes import tags_to_spans
from llmner.data.types import Sentence
from llmner.errors import InputError

__all__ = [
    "AUGMENTATIONS",
    "AUGMENTED_SHARE",
    "AUGMENT_MODES",
    "AugmentPool",
    "Augmenter",
    "label_wise_token_replacement",
    "mention_replacement",
    "parse_augment",
    "segments",
    "shuffle_within_segments",
]

#: The share of training sentences replaced by an augmented copy in each epoch.
AUGMENTED_SHARE = 0.5
#: How copies enter an epoch: ``replace`` their originals (:data:`AUGMENTED_SHARE` of the
#: sentences), or ``add`` one copy of every sentence beside the originals.
AUGMENT_MODES = ("replace", "add")


def segments(tags: list[str]) -> list[tuple[str, int, int]]:
    """The sentence cut into ``(type, start, end)`` segments: each mention, and each run
    of ``O`` between them (type ``"O"``); ``end`` exclusive."""
    out: list[tuple[str, int, int]] = []
    pos = 0
    for etype, start, end in tags_to_spans(tags):
        if start > pos:
            out.append(("O", pos, start))
        out.append((etype, start, end))
        pos = end
    if pos < len(tags):
        out.append(("O", pos, len(tags)))
    return out


@dataclass
class AugmentPool:
    """What the operations draw from: training tokens by tag, mentions by type."""

    tokens: dict[str, list[str]] = field(default_factory=dict)
    mentions: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)

    @classmethod
    def from_sentences(cls, sentences: list[Sentence]) -> AugmentPool:
        pool = cls()
        for s in sentences:
            for token, tag in zip(s.tokens, s.tags):
                pool.tokens.setdefault(tag, []).append(token)
            for etype, start, end in tags_to_spans(s.tags):
                pool.mentions.setdefault(etype, []).append(tuple(s.tokens[start:end]))
        return pool


def label_wise_token_replacement(
    sentence: Sentence, rate: float, pool: AugmentPool, rng: random.Random
) -> Sentence:
    """Each token, with probability ``rate``, replaced by a training token of its tag."""
    tokens = [
        rng.choice(pool.tokens[tag]) if rng.random() < rate and pool.tokens.get(tag) else token
        for token, tag in zip(sentence.tokens, sentence.tags)
    ]
    return Sentence(tokens, list(sentence.tags), id=sentence.id)


def mention_replacement(
    sentence: Sentence, rate: float, pool: AugmentPool, rng: random.Random
) -> Sentence:
    """Each mention, with probability ``rate``, replaced by a training mention of its type."""
    tokens: list[str] = []
    tags: list[str] = []
    for etype, start, end in segments(sentence.tags):
        words = sentence.tokens[start:end]
        if etype != "O" and pool.mentions.get(etype) and rng.random() < rate:
            words = list(rng.choice(pool.mentions[etype]))
        tokens += words
        tags += (
            ["O"] * len(words)
            if etype == "O"
            else [f"B-{etype}"] + [f"I-{etype}"] * (len(words) - 1)
        )
    return Sentence(tokens, tags, id=sentence.id)


def shuffle_within_segments(
    sentence: Sentence, rate: float, pool: AugmentPool, rng: random.Random
) -> Sentence:
    """Each segment (a mention, a run of ``O``), with probability ``rate``, shuffled."""
    tokens: list[str] = []
    for _, start, end in segments(sentence.tags):
        words = sentence.tokens[start:end]
        if len(words) > 1 and rng.random() < rate:
            words = rng.sample(words, len(words))
        tokens += words
    return Sentence(tokens, list(sentence.tags), id=sentence.id)


Operation = Callable[[Sentence, float, AugmentPool, random.Random], Sentence]

AUGMENTATIONS: dict[str, Operation] = {
    "mention_replacement": mention_replacement,
    "label_wise_token_replacement": label_wise_token_replacement,
    "shuffle_within_segments": shuffle_within_segments,
}


def parse_augment(spec: str | list | tuple | None, rate: float = 0.0) -> tuple[str, ...]:
    """The operations named in ``spec`` (a comma list), checked with their ``rate``.

    Example:
        >>> parse_augment("mention_replacement, shuffle_within_segments", 0.3)
        ('mention_replacement', 'shuffle_within_segments')
        >>> parse_augment("synonyms", 0.3)
        Traceback (most recent call last):
        ...
        llmner.errors.InputError: --augment: unknown operation 'synonyms'; expected a comma list of mention_replacement, label_wise_token_replacement, shuffle_within_segments
    """  # noqa: E501
    if isinstance(spec, (list, tuple)):
        spec = ",".join(str(s) for s in spec)
    names = tuple(n.strip() for n in (spec or "").split(",") if n.strip())
    for name in names:
        if name not in AUGMENTATIONS:
            raise InputError(
                f"--augment: unknown operation {name!r}; expected a comma list of "
                + ", ".join(AUGMENTATIONS)
            )
    if not 0.0 <= rate <= 1.0:
        raise InputError(f"--augment_rate {rate}: expected a probability in [0, 1]")
    return names


class Augmenter:
    """Augmented copies of the training sentences, epoch by epoch (see the module).

    Args:
        operations: names from :data:`AUGMENTATIONS`.
        rate: the probability of changing each token, mention or segment.
        train_sentences: the training split, the only source of replacements.
        seed: epoch ``e`` draws from ``random.Random(seed + e)``.

    ``counts`` totals, over the epochs augmented so far: ``epochs``, ``augmented``
    (sentences that went through an operation), ``changed`` (those trained on with a
    change), ``refused`` (changed copies refused by the caller, the original kept) and
    each operation's changed sentences.
    """

    def __init__(
        self, operations: tuple[str, ...], rate: float, train_sentences: list[Sentence], seed: int
    ) -> None:
        self.operations = tuple(operations)
        self.rate = rate
        self.seed = seed
        self.pool = AugmentPool.from_sentences(train_sentences)
        self.counts: Counter = Counter()

    def epoch(
        self,
        sentences: list[Sentence],
        epoch: int,
        accept: Callable[[Sentence, Sentence], bool] | None = None,
        share: float = AUGMENTED_SHARE,
    ) -> list[Sentence]:
        """``sentences`` as epoch ``epoch`` sees them: each, with probability ``share``,
        replaced by a copy changed by one operation; the same for the same seed and
        epoch. A copy that ``accept(original, copy)`` refuses is replaced by the original
        (counted ``refused``)."""
        rng = random.Random(self.seed + epoch)
        out = []
        for s in sentences:
            if not self.operations or (share < 1 and rng.random() >= share):
                out.append(s)
                continue
            name = rng.choice(self.operations)
            new = AUGMENTATIONS[name](s, self.rate, self.pool, rng)
            changed = new.tokens != s.tokens or new.tags != s.tags
            if changed and accept is not None and not accept(s, new):
                self.counts.update(augmented=1, refused=1)
                out.append(s)
                continue
            self.counts.update(augmented=1, changed=int(changed), **{name: int(changed)})
            out.append(new if changed else s)
        self.counts["epochs"] += 1
        return out

    def summary(self) -> dict:
        """What ``metrics.json`` records: the options and the counts."""
        return {
            "operations": list(self.operations),
            "rate": self.rate,
            "epochs": self.counts["epochs"],
            "sentences_augmented": self.counts["augmented"],
            "sentences_changed": self.counts["changed"],
            "sentences_refused": self.counts["refused"],
            "changed_by_operation": {n: self.counts[n] for n in self.operations},
        }
