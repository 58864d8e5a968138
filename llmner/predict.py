"""Raw text in, entities with character offsets out.

    >>> import llmner                                          # doctest: +SKIP
    >>> ner = llmner.load("runs/bc5cdr-tagging")                 # doctest: +SKIP
    >>> ner.predict(["Aspirin can cause Reye syndrome."])          # doctest: +SKIP
    [[{'start': 0, 'end': 7, 'label': 'Chemical', 'text': 'Aspirin'}, ...]]

A text is split into sentences and words with :mod:`llmner.data.text`, the words are
tagged by the run's own format, and each entity's word span is mapped back to the
characters of the original text, so ``text[start:end] == entity["text"]`` always holds.

Long inputs: the tagging format splits a sentence longer than its ``max_length`` into
overlapping windows and takes each word's label from the window where it has the most
context, so every word is tagged. The generative format has no windows of its own; here a
sentence longer than ``max_words`` words is cut into consecutive pieces of at most that
many words before prompting.
"""

from __future__ import annotations

from pathlib import Path

from llmner.data.schemes import tags_to_spans
from llmner.data.text import Token, gaps_to_spaces, split_sentences, tokenize
from llmner.data.types import Sentence

__all__ = ["NERModel", "entities_from_tags", "load", "sentences_from_text"]


def sentences_from_text(text: str, max_words: int | None = None) -> list[list[Token]]:
    """The words of each sentence of ``text``, with offsets into ``text``.

    Args:
        text: any string.
        max_words: cut sentences longer than this into consecutive pieces.

    Example:
        >>> [[t.text for t in s] for s in sentences_from_text("Hi Bo. Go now!")]
        [['Hi', 'Bo', '.'], ['Go', 'now', '!']]
        >>> [len(s) for s in sentences_from_text("a b c d e", max_words=2)]
        [2, 2, 1]
    """
    out = []
    for start, end in split_sentences(text):
        tokens = tokenize(text[start:end], offset=start)
        step = max_words or len(tokens) or 1
        out.extend(tokens[i : i + step] for i in range(0, len(tokens), step))
    return [s for s in out if s]


def entities_from_tags(text: str, tokens: list[Token], tags: list[str]) -> list[dict]:
    """Entities with character offsets into ``text`` from one tag per token.

    Example:
        >>> t = "Ada met Bo Li."
        >>> entities_from_tags(t, tokenize(t), ["B-PER", "O", "B-PER", "I-PER", "O"])
        [{'start': 0, 'end': 3, 'label': 'PER', 'text': 'Ada'}, {'start': 8, 'end': 13, 'label': 'PER', 'text': 'Bo Li'}]
    """  # noqa: E501
    out = []
    for label, first, last in tags_to_spans(tags):
        start, end = tokens[first].start, tokens[last - 1].end
        out.append({"start": start, "end": end, "label": label, "text": text[start:end]})
    return out


def _as_sentence(tokens: list[Token], source: str) -> Sentence:
    return Sentence(
        [t.text for t in tokens], ["O"] * len(tokens), spaces=gaps_to_spaces(source, tokens)
    )


class NERModel:
    """A trained model with its format: tags sentences, finds entities in raw text.

    Build it with :func:`load`. Attributes ``model``, ``tokenizer``, ``format`` and
    ``source`` (the :class:`~llmner.adapters.source.ModelSource`) are public.
    """

    def __init__(
        self, model, tokenizer, fmt, source, batch_size: int = 16, max_words: int = 128
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.format = fmt
        self.source = source
        self.batch_size = batch_size
        self.max_words = max_words

    @property
    def labels(self):
        return self.format.labels

    def tag(self, sentences: list[Sentence]) -> list[list[str]]:
        """IOB2 tags for already tokenised sentences (e.g. read from CoNLL)."""
        if not sentences:
            return []
        return self.format.predict(self.model, sentences, batch_size=self.batch_size).tags

    def predict(self, texts: list[str] | str) -> list[list[dict]]:
        """Entities in each text: dicts with ``start``, ``end``, ``label`` and ``text``.

        A single string is taken as a list of one text. Generative models give no
        per-entity score through their format's ``predict``, so no ``score`` key is set.
        """
        if isinstance(texts, str):
            texts = [texts]
        max_words = self.max_words if self.format.name == "generative" else None
        pieces = [
            (i, toks)
            for i, text in enumerate(texts)
            for toks in sentences_from_text(text, max_words)
        ]
        tags = self.tag([_as_sentence(toks, texts[i]) for i, toks in pieces])
        out: list[list[dict]] = [[] for _ in texts]
        for (i, toks), t in zip(pieces, tags):
            out[i].extend(entities_from_tags(texts[i], toks, t))
        return out


def load(
    path: str | Path,
    quantization: str | None = None,
    batch_size: int = 16,
    max_length: int | None = None,
) -> NERModel:
    """Load a run directory, its ``adapter/``, an exported or a merged folder for prediction.

    Args:
        path: the folder.
        quantization: how to load an adapter's base model (``4bit``, ``8bit``, ``none``);
            ``None`` loads it as it was trained.
        batch_size: sentences (tagging windows) per forward pass.
        max_length: the tagging window in sub-tokens (default: the run's).

    On the CPU a 4-bit adapter predicts through
    :func:`~llmner.models.quantization.dequantize_for_inference`: its NF4 weights are
    dequantized once and the LoRA update merged in, which gives the quantized model's
    predictions several times faster than bitsandbytes' 4-bit CPU kernels.
    """
    from llmner.adapters.source import build_format_from, load_model, locate

    source = locate(path)
    model, tokenizer = load_model(source, quantization)
    fmt = build_format_from(source, tokenizer, max_length)
    return NERModel(model, tokenizer, fmt, source, batch_size)
