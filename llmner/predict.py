"""Raw text in, entities with character offsets out.

    >>> import llmner                                          # doctest: +SKIP
    >>> ner = llmner.load("runs/bc5cdr-tagging")                 # doctest: +SKIP
    >>> ner.predict(["Aspirin can cause Reye syndrome."])          # doctest: +SKIP
    [[{'start': 0, 'end': 7, 'label': 'Chemical', 'text': 'Aspirin'}, ...]]

A text is split into sentences (:mod:`llmner.data.sentences`) and words by the run's own
splitter (:mod:`llmner.data.text`; the run's ``splitter``, the one that reproduces its
training words, ``llmner`` for runs that record none), the words are tagged by the run's
own format, and each entity's word span is mapped back to the
characters of the original text, so ``text[start:end] == entity["text"]`` always holds.

Long inputs: the tagging format splits a sentence longer than its ``max_length`` into
overlapping windows and takes each word's label from the window where it has the most
context, so every word is tagged. The generative format has no windows of its own; here a
sentence longer than ``max_words`` words is cut into consecutive pieces of at most that
many words before prompting.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from llmner.data.conll import read_conll, write_conll
from llmner.data.sentences import entities_from_tags, sentence_of, sentences_from_text, text_pieces
from llmner.data.text import DEFAULT_SPLITTER, Token, get_splitter
from llmner.data.types import Sentence
from llmner.errors import InputError
from llmner.rundir.source import build_format_from, load_model, local_folder, locate

__all__ = [
    "INPUT_FORMATS",
    "FilePrediction",
    "NERModel",
    "entities_from_tags",
    "load",
    "predict_file",
    "predict_input",
    "read_texts",
    "sentences_from_text",
    "sniff_format",
]


class NERModel:
    """A trained model with its format: tags sentences, finds entities in raw text.

    Build it with :func:`load`. Attributes ``model``, ``tokenizer``, ``format``,
    ``source`` (the :class:`~llmner.rundir.source.ModelSource`) and ``splitter`` (the
    word splitter's name) are public.

    Raises:
        InputError: ``splitter`` is unknown or needs a package that is not installed.
    """

    def __init__(
        self,
        model,
        tokenizer,
        fmt,
        source,
        batch_size: int = 16,
        max_words: int = 128,
        splitter: str = DEFAULT_SPLITTER,
    ) -> None:
        get_splitter(splitter)  # fails now rather than at the first text
        self.splitter = splitter
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

        A single string is taken as a list of one text. Entities of generative models
        carry a ``score``: the geometric mean probability of the answer tokens that wrote
        the entity (see ``mention_confidences``).
        """
        if isinstance(texts, str):
            texts = [texts]
        return self.predict_words(texts, text_pieces(texts, self.piece_words, self.splitter))

    @property
    def piece_words(self) -> int | None:
        """The most words of a sentence the model is given at once (``None``: all)."""
        return self.max_words if self.format.cuts_raw_text else None

    def predict_words(
        self, texts: list[str], pieces: list[tuple[int, list[Token]]]
    ) -> list[list[dict]]:
        """Entities in each text from words already split: as :meth:`predict`, with the
        sentences given as ``(text index, words with offsets into that text)``."""
        sentences = [sentence_of(toks, texts[i]) for i, toks in pieces]
        if not sentences:
            return [[] for _ in texts]
        pred = self.format.predict(self.model, sentences, batch_size=self.batch_size)
        scores = pred.scores or [None] * len(pred.tags)
        out: list[list[dict]] = [[] for _ in texts]
        for (i, toks), t, sc in zip(pieces, pred.tags, scores):
            out[i].extend(entities_from_tags(texts[i], toks, t, sc))
        return out


def load(
    path: str | Path,
    quantization: str | None = None,
    batch_size: int = 16,
    max_length: int | None = None,
    dtype: str | None = None,
    splitter: str | None = None,
    verbose: bool = False,
) -> NERModel:
    """Load a run directory, its ``adapter/``, an exported or a merged folder for prediction.

    Args:
        path: the folder, or a hub repository id of an exported adapter (downloaded).
        quantization: how to load an adapter's base model (``4bit``, ``8bit``, ``none``);
            ``None`` loads it as it was trained.
        batch_size: sentences (tagging windows) per forward pass.
        max_length: the tagging window in sub-tokens (default: the run's).
        dtype: what the model computes in on the CPU: ``float32`` (default) or
            ``bfloat16`` (about twice as fast where the CPU has native bf16, at bf16's
            rounding).
        splitter: the word splitter for raw text (default: the run's ``splitter``,
            ``llmner`` when it records none); see :data:`llmner.data.text.SPLITTERS`.
        verbose: show transformers' progress bars while loading (by default a load
            prints nothing).

    On the CPU a 4-bit adapter predicts through
    :func:`~llmner.models.quantization.dequantize_for_inference`: its NF4 weights are
    dequantized once and the LoRA update merged in, which gives the quantized model's
    predictions in plain fp32 layers rather than through bitsandbytes' 4-bit CPU kernels.
    """
    source = locate(local_folder(path))
    model, tokenizer = load_model(source, quantization, dtype, verbose)
    fmt = build_format_from(source, tokenizer, max_length)
    return NERModel(model, tokenizer, fmt, source, batch_size, splitter=splitter or source.splitter)


# -- files ----------------------------------------------------------------------------
INPUT_FORMATS = ("auto", "text", "jsonl", "conll")


def sniff_format(path: str | Path) -> str:
    """``jsonl`` for ``.jsonl``/``.json``, ``conll`` when every line is ``TOKEN ... TAG``
    (blank lines apart), else ``text``."""
    path = Path(path)
    if path.suffix in (".jsonl", ".json"):
        return "jsonl"
    tag = re.compile(r"^(O|[BIESLU]-\S+)$")
    lines = [ln.split() for ln in path.read_text(encoding="utf-8").splitlines()[:200]]
    lines = [ln for ln in lines if ln]
    if lines and all(len(ln) >= 2 and tag.match(ln[-1]) for ln in lines):
        return "conll"
    return "text"


def read_texts(path: str | Path, fmt: str, whole_file: bool = False) -> list[dict]:
    """Records with a ``text`` (and an ``id`` when the JSONL record had one)."""
    path = Path(path)
    if fmt == "text":
        text = path.read_text(encoding="utf-8")
        return [{"text": text}] if whole_file else [{"text": ln} for ln in text.splitlines()]
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(
                f"not valid JSON ({e.msg}); expected one object a line", str(path), n
            ) from None
        text = (
            rec.get("text", (rec.get("data") or {}).get("text")) if isinstance(rec, dict) else None
        )
        if not isinstance(text, str):
            raise InputError('no "text" string; expected {"text": ...}', str(path), n)
        out.append({"id": rec["id"], "text": text} if "id" in rec else {"text": text})
    return out


@dataclass
class FilePrediction:
    """What :func:`predict_input` found in a file.

    Attributes:
        records: one ``{"text", "entities"[, "id"]}`` per text, JSONL record or CoNLL
            sentence (a sentence's text: its words joined as ``Sentence.text`` joins them).
        sentences: CoNLL input's sentences, else ``None``.
        tags: the tags predicted for ``sentences`` on the file's own words.
    """

    records: list[dict]
    sentences: list[Sentence] | None = None
    tags: list[list[str]] | None = None


def predict_input(
    ner: NERModel, input_path: str | Path, input_format: str = "auto", whole_file: bool = False
) -> FilePrediction:
    """Entities in a text, JSONL or CoNLL file (a CoNLL file is tagged on its own words)."""
    fmt = sniff_format(input_path) if input_format == "auto" else input_format
    if fmt != "conll":
        records = read_texts(input_path, fmt, whole_file)
        for rec, ents in zip(records, ner.predict([r["text"] for r in records])):
            rec["entities"] = ents
        return FilePrediction(records)

    sentences = read_conll(input_path)
    tags = ner.tag(sentences)
    records = []
    for s, t in zip(sentences, tags):
        toks = [Token(w, a, b) for w, (a, b) in zip(s.tokens, s.offsets())]
        records.append({"text": s.text, "entities": entities_from_tags(s.text, toks, t)})
    return FilePrediction(records, sentences, tags)


def predict_file(
    ner: NERModel,
    input_path: str | Path,
    output_path: str | Path,
    input_format: str = "auto",
    whole_file: bool = False,
    output_format: str | None = None,
) -> int:
    """Predict a text, JSONL or CoNLL file; returns the number of records written.

    Text and JSONL inputs give JSONL ``{"text", "entities": [...]}``. CoNLL input gives
    CoNLL (token, the file's tag, the predicted tag) unless ``output_format="jsonl"``,
    which writes each sentence as a record with offsets into its space-joined text. A
    spaCy ``DocBin`` is written by :func:`llmner.integrations.spacy.predict_docbin`.
    """
    if output_format not in (None, "conll", "jsonl"):
        raise ValueError(
            f"output_format {output_format!r}: expected conll or jsonl (a spaCy DocBin: "
            "llmner.integrations.spacy.predict_docbin)"
        )
    found = predict_input(ner, input_path, input_format, whole_file)
    if found.sentences is not None and (output_format or "conll") == "conll":
        rows = [(s.tokens, s.tags, t) for s, t in zip(found.sentences, found.tags)]
        write_conll(output_path, rows)
        return len(rows)
    with open(output_path, "w", encoding="utf-8") as f:
        for rec in found.records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return len(found.records)
