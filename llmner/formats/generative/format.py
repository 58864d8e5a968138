"""The generative formulation: the model writes the entities as text.

``encode`` renders each sentence through a versioned prompt template and trains only on
the answer; ``predict`` generates answers (constrained by default), parses them, aligns
the mentions to tokens and returns IOB2 tags with counts of everything unusable.
"""

from __future__ import annotations

import math

import torch
from datasets import Dataset

from llmner.data.schemes import repair_iob2
from llmner.data.types import LabelSet, Sentence
from llmner.errors import InputError
from llmner.formats.base import Prediction, TaskFormat
from llmner.formats.generative.align import ALIGNMENT_MODES, align_mentions
from llmner.formats.generative.answers import render_answer
from llmner.formats.generative.constrain import build_automaton
from llmner.formats.generative.decoding import VocabTrie, generate
from llmner.formats.generative.encode import CompletionCollator, PromptBuilder, encode_example
from llmner.formats.generative.parse import parse_answer
from llmner.formats.generative.templates import choose_examples, load_template
from llmner.formats.windows import context_margin, windows

__all__ = [
    "DEFAULT_PROMPT",
    "GenerativeFormat",
    "default_lookahead",
    "mention_confidences",
    "rates",
]

DEFAULT_PROMPT = "inline"


def rates(counts: dict[str, int]) -> dict[str, float | int]:
    """The metrics ``predict`` reports, from raw counts.

    Example:
        >>> rates({"outputs": 4, "parse_failures": 1, "mentions": 0, "hallucinated": 0,
        ...        "unknown_type": 0, "overlapping": 0})["parse_failure_rate"]
        0.25
    """
    outputs, mentions = max(counts["outputs"], 1), max(counts["mentions"], 1)
    return {
        "parse_failure_rate": counts["parse_failures"] / outputs,
        "hallucination_rate": counts["hallucinated"] / mentions,
        "unknown_type_rate": counts["unknown_type"] / mentions,
        "num_parse_failures": counts["parse_failures"],
        "num_hallucinated_mentions": counts["hallucinated"],
        "num_unknown_type_mentions": counts["unknown_type"],
        "num_overlapping_mentions": counts["overlapping"],
        "num_mentions": counts["mentions"],
        "num_outputs": counts["outputs"],
    }


def mention_confidences(
    answer: str, token_scores: list[tuple[int, float]], mentions: list
) -> list[float | None]:
    """A confidence per mention: exp of the mean log-probability of the answer tokens
    overlapping the mention's text, found left to right in ``answer``; ``None`` when the
    text cannot be found (e.g. escaped characters).

    Example:
        >>> from llmner.formats.generative.parse import Mention
        >>> conf = mention_confidences("<PER>Ann</PER> ran", [(5, 0.0), (8, -1.0), (18, 0.0)],
        ...                            [Mention("PER", "Ann")])
        >>> round(conf[0], 3)
        0.368
    """
    out: list[float | None] = []
    cursor = 0
    for mention in mentions:
        pos = answer.find(mention.text, cursor)
        if pos < 0 or not mention.text:
            out.append(None)
            continue
        end, start_char, values = pos + len(mention.text), 0, []
        for char_end, logprob in token_scores:
            if char_end > pos and start_char < end:
                values.append(logprob)
            start_char = char_end
        out.append(math.exp(sum(values) / len(values)) if values else None)
        cursor = end
    return out


def default_lookahead(device) -> int:
    """Drafted tokens per pass when none is asked for: 8 on a GPU, 4 elsewhere.

    A pass of a small model on a GPU is bound by kernel launches, so fewer passes is
    nearly all that counts (lookahead 8 was fastest at 1, 8 and 48 sentences per batch on
    an H200); on a CPU a pass costs what it computes, and 4 was fastest at 8 and 24
    sentences per batch, the batched path evaluation takes (8 was fastest one sentence at
    a time; ``docs/results/generation-speed.md``).

    Example:
        >>> default_lookahead(torch.device("cpu")), default_lookahead(torch.device("cuda", 0))
        (4, 8)
    """
    return 8 if torch.device(device).type == "cuda" else 4


class GenerativeFormat(TaskFormat):
    """NER as text generation with a causal LM.

    Args:
        labels: the entity types (and descriptions, shown when ``describe_labels``).
        tokenizer: the model's tokenizer; its chat template is used when it has one.
        prompt: a template name (``inline``, ``list``, ``json``: newest version) or a
            pinned ``<name>.v<N>``.
        constrained: decode with the answer automaton (only parseable answers whose
            mentions are sentence tokens and whose types are in ``labels``).
        examples: how many few-shot examples each prompt shows (from ``train_sentences``).
        train_sentences: the pool for ``examples``.
        alignment: ``strict``, ``contract`` or ``expand`` (see ``align.py``).
        describe_labels: show each type's description in the prompt.
        seed: seeds the choice of examples.
        max_length: truncate training examples to this many tokens (answer tail first).
        window_words: sentences longer than this many words are cut into pieces: for
            training into consecutive pieces, for prediction into overlapping windows whose
            tags are merged (each word takes its tag from the window where it has the most
            context), so no word is left untagged. Counts in ``metrics`` are per piece.
        reuse_prefix: run the prompt prefix that every sentence shares once per
            ``generate_texts`` call and start each batch from its cache (see
            :func:`~llmner.formats.generative.decoding.generate`).
        jump_forward: with ``constrained``, append the tokens the answer automaton forces
            without a forward pass each (same answers and scores, fewer passes). Off by
            default: a batch's passes then run as wide as its longest forced run, about
            twice the token positions at batch 32, and whether that is faster on a real
            model is measured by ``recipes/bench_generation.py --jump-forward``.
        lookahead: with ``constrained``, feed up to this many drafted tokens (the answer
            automaton's guess: the sentence copied on) after each row's next token and keep
            those greedy decoding agrees with (same answers and scores, fewer passes; see
            :mod:`~llmner.formats.generative.decoding`). ``0`` decodes one token per pass;
            ``None`` (the default) takes :func:`default_lookahead` for the model's device:
            the fastest of 0, 4 and 8 measured there (``recipes/results/generation-speed``).

    Example:
        >>> GenerativeFormat(LabelSet(["PER"]), None, alignment="loose")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        llmner.errors.InputError: unknown alignment 'loose'; expected one of ('strict', ...)
    """

    name = "generative"
    task = "causal-lm"
    cuts_raw_text = True

    def __init__(
        self,
        labels: LabelSet,
        tokenizer,
        prompt: str = DEFAULT_PROMPT,
        constrained: bool = True,
        examples: int = 0,
        train_sentences: list[Sentence] | None = None,
        alignment: str = "strict",
        describe_labels: bool = False,
        seed: int = 0,
        max_length: int | None = None,
        window_words: int = 128,
        reuse_prefix: bool = True,
        jump_forward: bool = False,
        lookahead: int | None = None,
    ) -> None:
        super().__init__(labels, tokenizer)
        if alignment not in ALIGNMENT_MODES:
            raise InputError(f"unknown alignment {alignment!r}; expected one of {ALIGNMENT_MODES}")
        if examples and not train_sentences:
            raise InputError(f"examples={examples} needs train_sentences to draw them from")
        self.template = load_template(prompt)
        self.constrained = constrained
        self.alignment = alignment
        self.describe_labels = describe_labels
        self.seed = seed
        self.max_length = max_length
        if window_words < 1:
            raise InputError(f"window_words must be positive, got {window_words}")
        self.window_words = window_words
        self.reuse_prefix = reuse_prefix
        self.jump_forward = jump_forward
        if lookahead is not None and lookahead < 0:
            raise InputError(f"lookahead must be 0 or more, got {lookahead}")
        self.lookahead = lookahead
        self.examples = choose_examples(train_sentences or [], examples, seed)
        self.system_prompt = self.template.render_system(
            self.labels, self.examples, self.describe_labels
        )
        self.builder = PromptBuilder(tokenizer) if tokenizer is not None else None

    @classmethod
    def from_options(
        cls,
        options,
        labels: LabelSet,
        tokenizer,
        train_sentences=None,
        max_tokens_per_batch: int | None = None,
    ) -> GenerativeFormat:
        """The format from its options (``max_tokens_per_batch`` does not bound
        generation batches yet: they are bounded by ``batch_size``)."""
        return cls(
            labels,
            tokenizer,
            prompt=options.prompt,
            constrained=options.constrained,
            examples=options.num_examples,
            train_sentences=train_sentences,
            alignment=options.alignment,
            describe_labels=options.describe_labels,
            seed=options.seed,
            max_length=options.max_length,
            window_words=options.window_words,
        )

    @property
    def answer_format(self) -> str:
        return self.template.answer_format

    def user_prompt(self, sentence: Sentence) -> str:
        """The rendered template for ``sentence`` (the user turn; the template's own system
        turn, if it has one, is ``system_prompt``)."""
        return self.template.render(sentence.text, self.labels, self.examples, self.describe_labels)

    def prompt_ids(self, sentence: Sentence) -> list[int]:
        """The prompt's token ids for ``sentence`` (system turn, user turn, the assistant
        turn's opening), ready to generate from."""
        return self.builder.prompt_ids(self.user_prompt(sentence), self.system_prompt)

    def _pieces(self, sentence: Sentence, overlap: bool) -> list[tuple[int, int]]:
        return windows([1] * len(sentence), self.window_words, 0.5 if overlap else 1.0)

    def _training_pieces(self, sentence: Sentence) -> list[Sentence]:
        s = sentence
        return [
            Sentence(
                s.tokens[a:b], s.tags[a:b], id=s.id if (a, b) == (0, len(s)) else f"{s.id}[{a}:{b}]"
            )
            for a, b in self._pieces(s, overlap=False)
        ]

    def _encode_piece(self, piece: Sentence) -> dict:
        prompt = self.prompt_ids(piece)
        answer = self.builder.answer_ids(render_answer(piece, self.answer_format))
        return encode_example(prompt, answer, self.max_length)

    def encode_sentence(self, sentence: Sentence) -> list[dict]:
        """Features for one sentence, one per piece of at most ``window_words`` words;
        ``ValueError`` when truncation leaves a piece no answer token."""
        return [self._encode_piece(p) for p in self._training_pieces(sentence)]

    def encode(self, sentences: list[Sentence]) -> Dataset:
        """Training features; raises if truncation would leave an example no label."""
        rows, lost = [], []
        for s in (p for sentence in sentences for p in self._training_pieces(sentence)):
            try:
                rows.append(self._encode_piece(s))
            except ValueError:
                lost.append(s.id or repr(s.text[:40]))
        if lost:
            raise InputError(
                f"max_length={self.max_length} cuts every answer token of {len(lost)} "
                f"sentence(s), e.g. {lost[:3]}; raise max_length or use fewer examples"
            )
        self.num_truncated = sum(r["labels"][-1] != self.builder.end_marker for r in rows)
        return Dataset.from_list(rows)

    def collator(self) -> CompletionCollator:
        return CompletionCollator(self.builder.pad_id)

    def max_new_tokens(self, sentence: Sentence, automaton=None) -> int:
        """The answer budget: the longest well-formed answer, in bytes (constrained; pass
        the sentence's ``automaton`` when it is built already), or twice the sentence's
        tokens plus room for marks (unconstrained)."""
        if self.constrained:
            if automaton is None:
                automaton = build_automaton(sentence, self.answer_format, self.labels.types)
            return automaton.max_bytes() + 1
        return 2 * len(self.builder.text_ids(sentence.text)) + 8 * len(sentence) + 8

    def generate_texts(
        self,
        model,
        sentences: list[Sentence],
        batch_size: int = 32,
        token_scores=None,
        stats: dict | None = None,
    ):
        """The raw answers for ``sentences`` (in order), end marker removed.

        When a list is passed as ``token_scores`` it is filled, per answer, with
        ``(end character, log-probability)`` for each generated token; a dict passed as
        ``stats`` gets the counts of :func:`~llmner.formats.generative.decoding.generate`.
        """
        prompts = [self.prompt_ids(s) for s in sentences]
        automata = trie = None
        if self.constrained:
            types = self.labels.types
            automata = [build_automaton(s, self.answer_format, types) for s in sentences]
            trie = VocabTrie.of(self.tokenizer)
        budgets = [
            self.max_new_tokens(s, a)
            for s, a in zip(sentences, automata or [None] * len(sentences))
        ]
        logprobs = [] if token_scores is not None else None
        ids = generate(
            model,
            prompts,
            budgets,
            pad_id=self.builder.pad_id,
            end_ids=self.builder.end_ids,
            batch_size=batch_size,
            automata=automata,
            trie=trie,
            logprobs=logprobs,
            reuse_prefix=self.reuse_prefix,
            jump_forward=self.jump_forward,
            lookahead=default_lookahead(model.device) if self.lookahead is None else self.lookahead,
            stats=stats,
        )
        if token_scores is not None:
            token_scores[:] = [
                [(len(self.builder.decode(x[: k + 1])), lp[k]) for k in range(len(lp))]
                for x, lp in zip(ids, logprobs)
            ]
        return [self.builder.decode(x) for x in ids]

    def tags_from_texts(
        self, sentences: list[Sentence], texts: list[str], token_scores=None
    ) -> Prediction:
        """Parse and align answers; ``metrics`` holds every count (see :func:`rates`).

        With ``token_scores`` (from :meth:`generate_texts`), each entity also gets a
        confidence: the geometric mean probability of the answer tokens that wrote it.
        """
        counts = dict.fromkeys(
            [
                "outputs",
                "parse_failures",
                "mentions",
                "hallucinated",
                "unknown_type",
                "overlapping",
            ],
            0,
        )
        tags, scores = [], []
        for n, (sentence, text) in enumerate(zip(sentences, texts)):
            parsed = parse_answer(text, self.answer_format)
            confidences = None
            if token_scores is not None:
                confidences = mention_confidences(text, token_scores[n], parsed.mentions)
            aligned = align_mentions(
                sentence.tokens, parsed.mentions, self.labels.types, self.alignment, confidences
            )
            scores.append(aligned.scores)
            counts["outputs"] += 1
            counts["parse_failures"] += parsed.failed
            for key, value in aligned.counts.items():
                counts[key] += value
            tags.append(aligned.tags)
        return Prediction(tags, rates(counts), scores if token_scores is not None else None)

    def predict(self, model, sentences: list[Sentence], batch_size: int = 32) -> Prediction:
        """Tags for ``sentences``; long ones are predicted in overlapping windows."""
        spans = [(i, a, b) for i, s in enumerate(sentences) for a, b in self._pieces(s, True)]
        pieces = [Sentence(sentences[i].tokens[a:b], sentences[i].tags[a:b]) for i, a, b in spans]
        token_scores: list = []
        stats: dict = {}
        texts = self.generate_texts(model, pieces, batch_size, token_scores, stats)
        piece_pred = self.tags_from_texts(pieces, texts, token_scores)
        piece_pred.metrics.update(
            num_dead_ends=stats["dead_ends"],
            num_cut_at_budget=stats["cut_at_budget"],
            num_forced_tokens=stats["forced_tokens"],
            num_drafted_tokens=stats["drafted_tokens"],
            num_accepted_tokens=stats["accepted_tokens"],
            num_forward_passes=stats["forward_passes"],
            num_positions=stats["positions"],  # token positions run, padding included
        )
        if len(pieces) == len(sentences):
            return piece_pred
        tags = [["O"] * len(s) for s in sentences]
        context = [[-1] * len(s) for s in sentences]
        for (i, a, b), piece_tags in zip(spans, piece_pred.tags):
            for w, tag in enumerate(piece_tags):
                margin = context_margin(w, b - a)
                if margin > context[i][a + w]:
                    context[i][a + w], tags[i][a + w] = margin, tag
        scores: list[dict] = [{} for _ in sentences]
        for (i, a, _), piece_scores in zip(spans, piece_pred.scores or []):
            for (start, end), value in piece_scores.items():
                scores[i].setdefault((a + start, a + end), value)
        return Prediction([repair_iob2(t) for t in tags], piece_pred.metrics, scores)

    def describe(self) -> dict:
        return {
            "format": self.name,
            "prompt": self.template.name,
            "prompt_version": self.template.version,
            "prompt_sha256": self.template.sha256,
            "answer_format": self.answer_format,
            "constrained": self.constrained,
            "alignment": self.alignment,
            "window_words": self.window_words,
            "num_examples": len(self.examples),
            "describe_labels": self.describe_labels,
            "seed": self.seed,
            "max_length": self.max_length,
        }
