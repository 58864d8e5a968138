"""The options of each task format: one validated dataclass per format.

A run's options are part of its :class:`~llmner.config.RunConfig` (flags, or a YAML
``format_options`` mapping), written to ``config.yaml`` under ``format_options`` and read
back through the same constructor wherever the run is rebuilt (``evaluate``, ``predict``, ``merge``,
``export``, the benchmarks), so a value that is accepted once is accepted everywhere and a
bad one is refused in one line naming it.

Example:
    >>> TaggingOptions(repeat=2).copies
    3
    >>> TaggingOptions(echo=True).repeat
    1
    >>> TaggingOptions(repeat=0).copies
    1
    >>> TaggingOptions(repeat=-1)
    Traceback (most recent call last):
    ...
    llmner.errors.InputError: repeat must be 0 or more (copies before the tagged one), got -1
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llmner.errors import InputError
from llmner.formats.generative.templates import load_template
from llmner.models.attention import parse_layers

__all__ = ["DECODERS", "GenerativeOptions", "TaggingOptions"]

DECODERS = ("viterbi", "argmax")


def _choice(name: str, value, choices) -> None:
    if value not in choices:
        raise InputError(f"{name} {value!r} is unknown; expected one of {tuple(choices)}")


@dataclass
class TaggingOptions:
    """Token classification: how each word sees its sentence and how tags are decoded.

    Attributes:
        repeat: ``K`` copies of the sentence before the tagged one, so that every tagged
            token attends to the whole sentence through the causal mask (``0``: the
            sentence once; ``1`` is ``echo``; ``None``: not given, which a run fills by
            the model's kind and a recorded run reads as ``0``).
        echo: the same as ``repeat: 1`` (kept for configs that name it).
        bidirectional: lift the causal mask: ``none``, ``all``, ``upper:K`` or indices.
        label_all_tokens: label every sub-token, not only each word's first.
        decode: ``viterbi`` (best valid IOB2 sequence) or ``argmax``.
        max_length: sub-token budget of one window, every copy included.
    """

    repeat: int | None = None
    echo: bool = False
    bidirectional: str = "none"
    label_all_tokens: bool = False
    decode: Literal["viterbi", "argmax"] = "viterbi"
    max_length: int = 256

    def __post_init__(self) -> None:
        if self.echo and self.repeat not in (None, 1):
            raise InputError(f"echo means repeat 1; got both echo and repeat {self.repeat}")
        if self.echo:
            self.repeat = 1
        if self.repeat is not None and self.repeat < 0:
            raise InputError(
                f"repeat must be 0 or more (copies before the tagged one), got {self.repeat}"
            )
        self.echo = self.repeat == 1
        _choice("decode", self.decode, DECODERS)
        if self.max_length < 8:
            raise InputError(f"max_seq_length must be at least 8, got {self.max_length}")
        if (self.max_length - 4) // self.copies < 1:
            raise InputError(
                f"repeat {self.repeat} leaves no room for a word in max_seq_length "
                f"{self.max_length}: {self.copies} copies need at least "
                f"{4 + self.copies} sub-tokens; expected a smaller repeat or a larger "
                "max_seq_length"
            )

        try:
            parse_layers(self.bidirectional, 1 << 20)
        except ValueError:
            raise InputError(
                f"bidirectional {self.bidirectional!r} is not a layer choice; expected none, "
                "all, upper:K or comma-separated layer indices"
            ) from None

    @property
    def copies(self) -> int:
        """How many times the sentence is fed (the tagged copy included)."""
        return 1 + (self.repeat or 0)


@dataclass
class GenerativeOptions:
    """Generation: the prompt, decoding and how answers are mapped back to tokens.

    Attributes:
        prompt: a template name (``inline``, ``list``, ``json``: newest version) or a
            pinned ``<name>.v<N>``.
        constrained: decode with the answer automaton.
        num_examples: few-shot examples per prompt, drawn from the training split.
        alignment: ``strict``, ``contract`` or ``expand`` (mentions to tokens).
        describe_labels: show each type's description in the prompt.
        window_words: sentences longer than this are cut into pieces.
        max_length: truncate training examples to this many tokens.
        seed: seeds the choice of examples.
    """

    prompt: str = "inline"
    constrained: bool = True
    num_examples: int = 0
    alignment: Literal["strict", "contract", "expand"] = "strict"
    describe_labels: bool = False
    window_words: int = 128
    max_length: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        _choice("alignment", self.alignment, ("strict", "contract", "expand"))
        if self.num_examples < 0:
            raise InputError(f"num_examples must be 0 or more, got {self.num_examples}")
        if self.window_words < 1:
            raise InputError(f"window_words must be positive, got {self.window_words}")
        self.prompt = self.prompt or "inline"
        load_template(self.prompt)  # an unknown prompt is refused here, naming the choices
