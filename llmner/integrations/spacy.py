"""A spaCy component that sets ``doc.ents`` with an llmner model, and spaCy ``DocBin`` output.

    >>> import spacy                                                       # doctest: +SKIP
    >>> nlp = spacy.blank("en")                                            # doctest: +SKIP
    >>> nlp.add_pipe("llmner", config={"model": "runs/x"})                 # doctest: +SKIP
    >>> doc = nlp("Aspirin can cause Reye syndrome.")                      # doctest: +SKIP
    >>> [(e.text, e.label_, e._.llmner_score) for e in doc.ents]           # doctest: +SKIP
    [('Aspirin', 'Chemical', None), ('Reye syndrome', 'Disease', None)]
    >>> doc.user_data["llmner"]                                            # doctest: +SKIP
    {'entities': 2, 'misaligned': 0, 'adjusted': 0, 'overlapping': 0}

The factory is registered through the ``spacy_factories`` entry point (pyproject.toml), so
spaCy imports this module when it builds a ``Language``; the model itself (torch,
transformers) is imported only when a component is made.

Which words the model tags is the component's ``tokens`` option:

* ``"words"`` (the default): the words :meth:`NERModel.predict` makes from ``doc.text``
  with the run's splitter, the words the run was trained on (the same entities as
  ``llmner.load(...).predict``); each entity is snapped to spaCy's tokens with
  ``Doc.char_span`` and the component's ``alignment_mode``. ``contract`` is the default,
  as in spacy-llm: a span never takes characters the model did not label, and where
  spaCy's tokens hold our boundary (for ``HIV`` in ``HIV-1``, one spaCy token) the mention
  is dropped and counted rather than grown to the whole token (``expand`` grows it;
  ``strict`` keeps exact matches only).
* ``"doc"``: the ``Doc``'s own tokens, in the ``Doc``'s sentences when a component before
  this one set them (else llmner's sentence splitter, never cutting a token). Every
  mention falls on token boundaries, so none is dropped for alignment, as in
  spacy-transformers; the model then tags words split as spaCy splits them, not as its
  training data did (``recipes/raw_text.py spacy`` measures both modes).

Spans that overlap are resolved by ``spacy.util.filter_spans`` (the longest wins).
"""

import logging
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span
from spacy.util import filter_spans, minibatch
from spacy.vocab import Vocab

from llmner.data.schemes import tags_to_spans
from llmner.data.sentences import cut_words, sentences_from_text, split_sentences
from llmner.data.text import Token
from llmner.errors import InputError
from llmner.predict import NERModel, load, predict_input

__all__ = [
    "ALIGNMENT_MODES",
    "SCORE_ATTR",
    "USER_DATA_KEY",
    "DEFAULT_TOKENS",
    "TOKEN_MODES",
    "LlmnerComponent",
    "doc_from_entities",
    "doc_words",
    "doc_from_tags",
    "docs_from_records",
    "docs_from_sentences",
    "make_component",
    "predict_docbin",
    "set_entities",
    "write_docbin",
]

ALIGNMENT_MODES = ("strict", "contract", "expand")
# What the model tags: the Doc's tokens, or llmner's words of doc.text.
TOKEN_MODES = ("doc", "words")
DEFAULT_TOKENS = "words"
# ``span._.llmner_score``: the entity's score (generative models), ``None`` without one.
SCORE_ATTR = "llmner_score"
# ``doc.user_data["llmner"]``: what became of the model's mentions in this doc.
USER_DATA_KEY = "llmner"
COUNT_KEYS = ("entities", "misaligned", "adjusted", "overlapping")

logger = logging.getLogger("llmner")

if not Span.has_extension(SCORE_ATTR):
    Span.set_extension(SCORE_ATTR, default=None)


def set_entities(doc: Doc, entities: list[dict], alignment_mode: str = "contract") -> dict:
    """Set ``doc.ents`` (every other token ``O``) from entities with offsets into ``doc.text``.

    Returns the counts stored in ``doc.user_data["llmner"]``: ``entities`` (given),
    ``misaligned`` (no spaCy span in this mode: dropped), ``adjusted`` (kept with other
    boundaries, ``contract``/``expand`` only) and ``overlapping`` (dropped by
    ``filter_spans``).
    """
    counts = dict.fromkeys(COUNT_KEYS, 0)
    counts["entities"] = len(entities)
    spans = []
    for e in entities:
        span = doc.char_span(e["start"], e["end"], label=e["label"], alignment_mode=alignment_mode)
        if span is None or not len(span):
            counts["misaligned"] += 1
            continue
        counts["adjusted"] += (span.start_char, span.end_char) != (e["start"], e["end"])
        spans.append((span, e.get("score")))
    kept = filter_spans([s for s, _ in spans])
    counts["overlapping"] = len(spans) - len(kept)
    doc.set_ents(kept, default="outside")
    ids = {id(s) for s in kept}
    for span, score in spans:
        if id(span) in ids and score is not None:
            span._.set(SCORE_ATTR, score)
    doc.user_data[USER_DATA_KEY] = counts
    return counts


def doc_words(doc: Doc, max_words: int | None = None) -> list[list[Token]]:
    """The ``Doc``'s tokens (whitespace tokens left out) as sentences of words: the
    ``Doc``'s sentences when set, else :func:`~llmner.data.sentences.split_sentences` of
    its text, a token going to the sentence it starts in; sentences longer than
    ``max_words`` are cut into consecutive pieces.
    """
    words = [Token(t.text, t.idx, t.idx + len(t.text)) for t in doc if not t.is_space]
    if doc.has_annotation("SENT_START"):
        starts = [s.start_char for s in doc.sents]
    else:
        starts = [s for s, _ in split_sentences(doc.text)]
    groups: dict[int, list[Token]] = {}
    for w in words:
        groups.setdefault(max(bisect_right(starts, w.start) - 1, 0), []).append(w)
    return [piece for group in groups.values() for piece in cut_words(group, max_words)]


class LlmnerComponent:
    """Sets ``doc.ents`` with an llmner run, adapter, exported or merged model.

    Args:
        nlp: the pipeline (unused; spaCy passes it).
        name: the component's name in the pipeline.
        model: the folder :func:`llmner.load` takes (a hub id of an exported adapter too).
        alignment_mode: ``strict``, ``contract`` or ``expand`` (see ``Doc.char_span``);
            with ``tokens="doc"`` every mention is already on token boundaries.
        batch_size: sentences per forward pass; also texts per prediction call when
            :meth:`pipe` is given none (``nlp.pipe`` always gives its own).
        quantization: how to load an adapter's base (``4bit``, ``8bit``, ``none``; ``None``:
            as trained).
        max_length: the tagging window in sub-tokens (default: the run's).
        tokens: what the model tags: ``doc`` (the ``Doc``'s tokens) or ``words`` (llmner's
            words of ``doc.text``, snapped back to the tokens).
        splitter: with ``tokens="words"``, the word splitter (default: the run's).

    Attributes:
        ner: the :class:`~llmner.predict.NERModel`.
        counts: the counts of :func:`set_entities` summed over every doc, plus ``docs``.

    Raises:
        InputError: ``model`` is not a model llmner can load, or a bad ``alignment_mode``,
            ``tokens`` or ``splitter``.
    """

    def __init__(
        self,
        nlp: Language | None,
        name: str,
        model: str,
        alignment_mode: str = "contract",
        batch_size: int = 16,
        quantization: str | None = None,
        max_length: int | None = None,
        tokens: str = DEFAULT_TOKENS,
        splitter: str | None = None,
    ) -> None:
        for what, value, allowed in (
            ("alignment_mode", alignment_mode, ALIGNMENT_MODES),
            ("tokens", tokens, TOKEN_MODES),
        ):
            if value not in allowed:
                raise InputError(f"{what} {value!r}: expected one of {', '.join(allowed)}")
        self.name = name
        self.alignment_mode = alignment_mode
        self.batch_size = batch_size
        self.tokens = tokens
        self.ner: NERModel = load(
            model,
            quantization=quantization,
            batch_size=batch_size,
            max_length=max_length,
            splitter=splitter,
        )
        self.counts: Counter = Counter()

    def __call__(self, doc: Doc) -> Doc:
        return self._annotate([doc])[0]

    def pipe(self, stream: Iterable[Doc], batch_size: int | None = None) -> Iterator[Doc]:
        """Docs in batches of ``batch_size``, each batch one prediction call."""
        for docs in minibatch(stream, size=batch_size or self.batch_size):
            yield from self._annotate(docs)

    def _predict(self, docs: list[Doc]) -> list[list[dict]]:
        texts = [d.text for d in docs]
        if self.tokens == "words":
            return self.ner.predict(texts)
        pieces = [
            (i, words) for i, d in enumerate(docs) for words in doc_words(d, self.ner.piece_words)
        ]
        return self.ner.predict_words(texts, pieces)

    def _annotate(self, docs: list[Doc]) -> list[Doc]:
        batch: Counter = Counter(docs=len(docs))
        for doc, entities in zip(docs, self._predict(docs)):
            batch.update(set_entities(doc, entities, self.alignment_mode))
        self.counts.update(batch)
        if batch["misaligned"] or batch["overlapping"]:
            logger.warning(
                "spaCy component %r: of %d mentions, %d could not be aligned to spaCy's tokens "
                "(alignment_mode=%r) and %d overlapped another; both dropped",
                self.name, batch["entities"], batch["misaligned"], self.alignment_mode,
                batch["overlapping"],
            )  # fmt: skip
        return docs


@Language.factory(
    "llmner",
    default_config={
        "alignment_mode": "contract",
        "batch_size": 16,
        "quantization": None,
        "max_length": None,
        "tokens": DEFAULT_TOKENS,
        "splitter": None,
    },
    assigns=["doc.ents"],
)
def make_component(
    nlp: Language,
    name: str,
    model: str,
    alignment_mode: str,
    batch_size: int,
    quantization: str | None,
    max_length: int | None,
    tokens: str,
    splitter: str | None,
) -> LlmnerComponent:
    """The ``llmner`` factory: ``nlp.add_pipe("llmner", config={"model": "runs/x"})``."""
    return LlmnerComponent(
        nlp, name, model, alignment_mode, batch_size, quantization, max_length, tokens, splitter
    )


# -- DocBin output (llmner predict --output x.spacy) ------------------------------------
def doc_from_tags(
    vocab: Vocab,
    words: list[str],
    spaces: list[bool] | None = None,
    tags: list[str] | None = None,
) -> Doc:
    """A Doc of exactly the given words (``spaces``: a space after each but the last
    when not given) with one entity per IOB2 span of ``tags``; with no ``tags`` the Doc
    has no entity annotation at all, as a Doc to predict on must (spaCy's NER keeps
    entities already set on a Doc)."""
    if spaces is None:
        spaces = [True] * (len(words) - 1) + [False] if words else []
    doc = Doc(vocab, words=words, spaces=spaces)
    if tags is not None:
        doc.set_ents(
            [Span(doc, first, last, label=label) for label, first, last in tags_to_spans(tags)],
            default="outside",
        )
    return doc


def doc_from_entities(
    vocab: Vocab, text: str, entities: list[dict], splitter: str | None = None
) -> Doc:
    """A Doc of ``text`` split into llmner's words by ``splitter`` (the one that found
    ``entities``), so every entity falls on token boundaries; whitespace other than one
    space after a word becomes a token, as spaCy's tokenizer does, so ``doc.text == text``."""
    words: list[str] = []
    spaces: list[bool] = []
    pos = 0
    for token in [t for s in sentences_from_text(text, splitter=splitter) for t in s] + [None]:
        gap = text[pos : len(text) if token is None else token.start]
        if gap.startswith(" ") and words:
            spaces[-1], gap = True, gap[1:]
        if gap:
            words.append(gap)
            spaces.append(False)
        if token is not None:
            words.append(token.text)
            spaces.append(False)
            pos = token.end
    doc = Doc(vocab, words=words, spaces=spaces)
    set_entities(doc, entities, "strict")
    return doc


def write_docbin(path: str | Path, docs: Iterable[Doc]) -> int:
    """Write ``docs`` as a spaCy ``DocBin`` (user data kept: counts, scores, ids)."""
    docbin = DocBin(store_user_data=True)
    n = 0
    for doc in docs:
        docbin.add(doc)
        n += 1
    docbin.to_disk(path)
    return n


def docs_from_records(records: list[dict], splitter: str | None = None) -> list[Doc]:
    """One Doc per ``{"text", "entities"[, "id"]}`` record (the id in ``user_data["id"]``),
    of the words ``splitter`` made when the entities were found."""
    vocab = Vocab()
    docs = []
    for rec in records:
        doc = doc_from_entities(vocab, rec["text"], rec["entities"], splitter)
        if "id" in rec:
            doc.user_data["id"] = rec["id"]
        docs.append(doc)
    return docs


def docs_from_sentences(sentences: list, tags: list[list[str]]) -> list[Doc]:
    """One Doc per :class:`~llmner.data.types.Sentence`, of its words, with ``tags``."""
    vocab = Vocab()
    docs = []
    for s, t in zip(sentences, tags):
        spaces = list(s.spaces) if s.spaces is not None else [True] * len(s)
        spaces = [sp and i < len(s) - 1 for i, sp in enumerate(spaces)]
        docs.append(doc_from_tags(vocab, s.tokens, spaces, t))
    return docs


def predict_docbin(
    ner: NERModel,
    input_path: str | Path,
    output_path: str | Path,
    input_format: str = "auto",
    whole_file: bool = False,
) -> int:
    """``llmner predict --output x.spacy``: a spaCy ``DocBin`` of a text, JSONL or CoNLL
    file's entities (:func:`~llmner.predict.predict_input`), one Doc per text, record or
    CoNLL sentence (of the file's words), ``doc.ents`` set; returns the number of Docs."""
    found = predict_input(ner, input_path, input_format, whole_file)
    if found.sentences is not None:
        return write_docbin(output_path, docs_from_sentences(found.sentences, found.tags))
    return write_docbin(output_path, docs_from_records(found.records, ner.splitter))
