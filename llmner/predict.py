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

__all__ = [
    "INPUT_FORMATS",
    "NERModel",
    "entities_from_tags",
    "load",
    "predict_file",
    "read_texts",
    "sentences_from_text",
    "sniff_format",
]


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


def entities_from_tags(
    text: str, tokens: list[Token], tags: list[str], scores: dict | None = None
) -> list[dict]:
    """Entities with character offsets into ``text`` from one tag per token; with
    ``scores`` (``{(first token, end token): confidence}``), each entity found there gets
    a ``score``.

    Example:
        >>> t = "Ada met Bo Li."
        >>> entities_from_tags(t, tokenize(t), ["B-PER", "O", "B-PER", "I-PER", "O"])
        [{'start': 0, 'end': 3, 'label': 'PER', 'text': 'Ada'}, {'start': 8, 'end': 13, 'label': 'PER', 'text': 'Bo Li'}]
    """  # noqa: E501
    out = []
    for label, first, last in tags_to_spans(tags):
        start, end = tokens[first].start, tokens[last - 1].end
        entity = {"start": start, "end": end, "label": label, "text": text[start:end]}
        if scores and (first, last) in scores:
            entity["score"] = round(float(scores[(first, last)]), 4)
        out.append(entity)
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

        A single string is taken as a list of one text. Entities of generative models
        carry a ``score``: the geometric mean probability of the answer tokens that wrote
        the entity (see ``mention_confidences``).
        """
        if isinstance(texts, str):
            texts = [texts]
        max_words = self.max_words if self.format.cuts_raw_text else None
        pieces = [
            (i, toks)
            for i, text in enumerate(texts)
            for toks in sentences_from_text(text, max_words)
        ]
        sentences = [_as_sentence(toks, texts[i]) for i, toks in pieces]
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
        verbose: show transformers' progress bars while loading (by default a load
            prints nothing).

    On the CPU a 4-bit adapter predicts through
    :func:`~llmner.models.quantization.dequantize_for_inference`: its NF4 weights are
    dequantized once and the LoRA update merged in, which gives the quantized model's
    predictions several times faster than bitsandbytes' 4-bit CPU kernels.
    """
    from llmner.adapters.source import build_format_from, load_model, local_folder, locate

    source = locate(local_folder(path))
    model, tokenizer = load_model(source, quantization, dtype, verbose)
    fmt = build_format_from(source, tokenizer, max_length)
    return NERModel(model, tokenizer, fmt, source, batch_size)


# -- files ----------------------------------------------------------------------------
INPUT_FORMATS = ("auto", "text", "jsonl", "conll")


def sniff_format(path: str | Path) -> str:
    """``jsonl`` for ``.jsonl``/``.json``, ``conll`` when every line is ``TOKEN ... TAG``
    (blank lines apart), else ``text``."""
    import re

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
    import json

    from llmner.errors import InputError

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
    which writes each sentence as a record with offsets into its space-joined text.
    ``output_format="spacy"`` writes a spaCy ``DocBin`` instead: one Doc per text, record
    or CoNLL sentence (of the file's words), ``doc.ents`` set (needs spaCy).
    """
    import json

    from llmner.data.conll import read_conll

    if output_format == "spacy":
        from llmner.integrations import require_spacy

        require_spacy("writing a .spacy file")
        from llmner.integrations.spacy import docs_from_records, docs_from_sentences, write_docbin
    fmt = sniff_format(input_path) if input_format == "auto" else input_format
    if fmt == "conll":
        sentences = read_conll(input_path)
        tags = ner.tag(sentences)
        if output_format == "spacy":
            return write_docbin(output_path, docs_from_sentences(sentences, tags))
        if (output_format or "conll") == "conll":
            from llmner.data.conll import write_conll

            write_conll(output_path, [(s.tokens, s.tags, t) for s, t in zip(sentences, tags)])
            return len(sentences)
        records = []
        for s, t in zip(sentences, tags):
            toks = [Token(w, a, b) for w, (a, b) in zip(s.tokens, s.offsets())]
            records.append({"text": s.text, "entities": entities_from_tags(s.text, toks, t)})
    else:
        records = read_texts(input_path, fmt, whole_file)
        for rec, ents in zip(records, ner.predict([r["text"] for r in records])):
            rec["entities"] = ents
    if output_format == "spacy":
        return write_docbin(output_path, docs_from_records(records))
    with open(output_path, "w", encoding="utf-8") as f:
        for rec in records:
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return len(records)
