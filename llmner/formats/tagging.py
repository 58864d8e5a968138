"""NER as token classification: one label per word, read from its first sub-token.

Sub-token alignment follows transformers' ``run_ner.py``: the first sub-token of each word
carries the word's label and the others ``-100`` (or, with ``label_all_tokens``, the
word's label with ``B-`` turned into ``I-``). Words are mapped to sub-tokens through the
tokenizer's character offsets on the sentence text, so the model sees the sentence as
ordinary text whatever its tokenizer does with pre-split words.

Two options let every token of a decoder see the whole sentence:

* ``repeat`` (``echo`` is ``repeat: 1``): the sentence is fed ``K + 1`` times and only the
  last copy is tagged; its tokens attend to the complete earlier copies through the
  ordinary causal mask (arXiv 2601.17585 reports gains up to 8 copies).
* ``bidirectional``: the causal mask is lifted in some layers
  (:mod:`llmner.models.attention`).

Sentences longer than ``max_length`` sub-tokens are split into overlapping windows of
words; at prediction time each word takes its label from the window in which it has the
most context, so no word is ever left untagged.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from datasets import Dataset
from transformers import DataCollatorForTokenClassification

from llmner import progress
from llmner.data.batching import pack_by_tokens
from llmner.data.types import LabelSet, Sentence
from llmner.errors import InputError
from llmner.formats.base import Prediction, TaskFormat
from llmner.formats.options import TaggingOptions
from llmner.formats.windows import context_margin, windows
from llmner.models.attention import set_bidirectional

__all__ = ["TaggingFormat", "align_labels", "viterbi_bio", "word_ids_from_offsets"]


def word_ids_from_offsets(
    offsets: list[tuple[int, int]], word_spans: list[tuple[int, int]]
) -> list[int | None]:
    """The word each sub-token belongs to, from character offsets.

    Example:
        >>> word_ids_from_offsets([(0, 0), (0, 5), (5, 10), (5, 6)], [(0, 5), (6, 10)])
        [None, 0, 1, None]
    """
    out: list[int | None] = []
    w = 0
    for start, end in offsets:
        while w < len(word_spans) and word_spans[w][1] <= start:
            w += 1
        if (
            end > start
            and w < len(word_spans)
            and start < word_spans[w][1]
            and end > word_spans[w][0]
        ):
            out.append(w)
        else:
            out.append(None)
    return out


def align_labels(
    word_ids: list[int | None],
    tags: list[str],
    label2id: dict[str, int],
    label_all_tokens: bool = False,
) -> list[int]:
    """Sub-token labels: the first sub-token of a word gets its tag, the rest ``-100``.

    Example:
        >>> l2i = {"O": 0, "B-PER": 1, "I-PER": 2}
        >>> align_labels([None, 0, 0, 1], ["B-PER", "O"], l2i)
        [-100, 1, -100, 0]
        >>> align_labels([None, 0, 0, 1], ["B-PER", "O"], l2i, label_all_tokens=True)
        [-100, 1, 2, 0]
    """
    labels, prev = [], None
    for w in word_ids:
        if w is None:
            labels.append(-100)
        elif w != prev:
            labels.append(label2id[tags[w]])
        elif label_all_tokens:
            tag = tags[w]
            labels.append(label2id["I-" + tag[2:] if tag.startswith("B-") else tag])
        else:
            labels.append(-100)
        prev = w if w is not None else prev
    return labels


def _allowed(labels: list[str]) -> np.ndarray:
    """allowed[i, j]: may label j follow label i in IOB2?"""
    n = len(labels)
    ok = np.ones((n, n), dtype=bool)
    for j, b in enumerate(labels):
        if b.startswith("I-"):
            for i, a in enumerate(labels):
                ok[i, j] = a[2:] == b[2:] and a != "O"
    return ok


def viterbi_bio(logprobs: np.ndarray, labels: list[str]) -> list[str]:
    """The most probable tag sequence that is valid IOB2 (no ``I-X`` after ``O``/``Y``).

    Example:
        >>> lp = np.log(np.array([[0.1, 0.2, 0.7], [0.1, 0.1, 0.8]]))
        >>> viterbi_bio(lp, ["O", "B-PER", "I-PER"])
        ['B-PER', 'I-PER']
    """
    ok = _allowed(labels)
    start_ok = np.array([not lab.startswith("I-") for lab in labels])
    penalty = np.where(ok, 0.0, -np.inf)
    score = np.where(start_ok, logprobs[0], -np.inf)
    back = []
    for t in range(1, len(logprobs)):
        cand = score[:, None] + penalty
        back.append(cand.argmax(0))
        score = cand.max(0) + logprobs[t]
    best = [int(score.argmax())]
    for b in reversed(back):
        best.append(int(b[best[-1]]))
    return [labels[i] for i in reversed(best)]


class TaggingFormat(TaskFormat):
    """Token classification on any ``*ForTokenClassification`` model.

    Args:
        labels: the label set; the head predicts ``labels.bio_labels``.
        tokenizer: a fast tokenizer (character offsets are needed).
        echo: feed the sentence twice and tag the second copy (``repeat=1``).
        label_all_tokens: label every sub-token, not only the first of each word.
        max_length: sub-token budget per window, both copies included.
        decode: ``viterbi`` (best valid IOB2 sequence) or ``argmax``.
        max_tokens_per_batch: token budget of a prediction batch, padding included
            (at most ``batch_size`` windows still); ``None`` batches by count only.
        repeat: feed ``repeat`` copies of the sentence before the tagged one.
    """

    name = "tagging"
    task = "token-classification"

    def __init__(
        self,
        labels: LabelSet,
        tokenizer,
        echo: bool = False,
        label_all_tokens: bool = False,
        max_length: int = 256,
        decode: str = "viterbi",
        bidirectional: str = "none",
        max_tokens_per_batch: int | None = None,
        repeat: int | None = None,
    ) -> None:
        super().__init__(labels, tokenizer)
        self.options = TaggingOptions(
            repeat=repeat,
            echo=echo,
            bidirectional=bidirectional,
            label_all_tokens=label_all_tokens,
            decode=decode,
            max_length=max_length,
        )
        self.repeat = self.options.repeat
        self.echo = self.options.echo
        self.label_all_tokens = label_all_tokens
        self.max_length = max_length
        self.decode = decode
        self.bidirectional = bidirectional
        self.max_tokens_per_batch = max_tokens_per_batch

    @classmethod
    def from_options(
        cls,
        options: TaggingOptions,
        labels: LabelSet,
        tokenizer,
        train_sentences=None,
        max_tokens_per_batch: int | None = None,
    ) -> TaggingFormat:
        return cls(
            labels,
            tokenizer,
            label_all_tokens=options.label_all_tokens,
            max_length=options.max_length,
            decode=options.decode,
            bidirectional=options.bidirectional,
            max_tokens_per_batch=max_tokens_per_batch,
            repeat=options.repeat,
        )

    def prepare_model(self, model) -> list[int]:
        """Lift the causal mask in the layers ``bidirectional`` names."""
        return set_bidirectional(model, self.bidirectional)

    def describe(self) -> dict:
        return {"format": self.name, **dataclasses.asdict(self.options)}

    # -- encoding ---------------------------------------------------------------------
    def _encode_words(self, words: list[str]) -> tuple[list[int], list[int | None]]:
        """Token ids and, for the tagged (last) copy, the word of each sub-token."""
        ids, wids, _ = self._encode_copies(words)
        return ids, wids

    def _encode_copies(self, words: list[str]) -> tuple[list[int], list[int | None], int]:
        """Token ids, the word of each sub-token of the tagged copy (``None`` elsewhere),
        and where the tagged copy starts. Each repeated copy is the sentence after a
        space, so it is tokenised as the continuation of the text before it."""
        text = " ".join(words)
        spans, pos = [], 0
        for w in words:
            spans.append((pos, pos + len(w)))
            pos += len(w) + 1
        enc = self.tokenizer(text, return_offsets_mapping=True, add_special_tokens=True)
        ids = list(enc["input_ids"])
        if not self.repeat:
            return ids, word_ids_from_offsets(enc["offset_mapping"], spans), 0
        enc2 = self.tokenizer(" " + text, return_offsets_mapping=True, add_special_tokens=False)
        shifted = [(max(s - 1, 0), max(e - 1, 0)) for s, e in enc2["offset_mapping"]]
        copy = list(enc2["input_ids"])
        start = len(ids) + len(copy) * (self.repeat - 1)
        ids = ids + copy * self.repeat
        return ids, [None] * start + word_ids_from_offsets(shifted, spans), start

    def _word_lengths(self, words: list[str]) -> list[int]:
        """Sub-tokens of each word in the tagged copy; a token of no word (a lone space
        before digits, say) counts with the next word, so windows never overflow."""
        _, wids, start = self._encode_copies(words)
        counts = [0] * len(words)
        pending = 0
        for w in wids[start:]:
            if w is None:
                pending += 1
            else:
                counts[w] += 1 + pending
                pending = 0
        if counts:
            counts[-1] += pending
        return counts

    def _windows(self, sentence: Sentence) -> list[tuple[int, int]]:
        lengths = self._word_lengths(sentence.tokens)
        budget = (self.max_length - 4) // self.options.copies
        return windows(lengths, budget)

    def encode_sentence(self, sentence: Sentence) -> list[dict]:
        """Features for one sentence: one dict per window (usually one)."""
        out = []
        for start, end in self._windows(sentence):
            words, tags = sentence.tokens[start:end], sentence.tags[start:end]
            ids, wids = self._encode_words(words)
            if len(ids) > self.max_length:
                raise InputError(
                    f"sentence {sentence.id or repr(sentence.text[:40])}: the word "
                    f"{words[0]!r} alone needs {len(ids)} sub-tokens with "
                    f"{self.options.copies} copies, over max_seq_length {self.max_length}; "
                    "expected a smaller repeat or a larger max_seq_length"
                )
            labels = align_labels(wids, tags, self.labels.label2id, self.label_all_tokens)
            out.append(
                {
                    "input_ids": ids,
                    "attention_mask": [1] * len(ids),
                    "labels": labels,
                    "length": len(ids),
                }
            )
        return out

    def encode(self, sentences: list[Sentence]):
        rows = [f for s in sentences for f in self.encode_sentence(s)]
        return Dataset.from_list(rows)

    def collator(self):
        return DataCollatorForTokenClassification(self.tokenizer, pad_to_multiple_of=None)

    # -- prediction -------------------------------------------------------------------
    @torch.no_grad()
    def predict(self, model, sentences: list[Sentence], batch_size: int = 32) -> Prediction:
        """Tags for each sentence; batches are formed from windows sorted by length."""
        items = []  # (sentence index, window start, window end, ids, word ids)
        for si, s in enumerate(sentences):
            for start, end in self._windows(s):
                ids, wids = self._encode_words(s.tokens[start:end])
                items.append((si, start, end, ids, wids))
        order = sorted(range(len(items)), key=lambda i: len(items[i][3]))
        label_names = self.labels.bio_labels
        word_lp: list[list[np.ndarray | None]] = [[None] * len(s) for s in sentences]
        word_ctx: list[list[int]] = [[-1] * len(s) for s in sentences]
        device = next(model.parameters()).device
        model.eval()
        pad = self.tokenizer.pad_token_id
        lengths = [len(items[i][3]) for i in order]
        budget = max([self.max_tokens_per_batch or 0, *lengths]) if lengths else 0
        if self.max_tokens_per_batch:
            groups = pack_by_tokens(lengths, budget, max_examples=batch_size)
        else:
            groups = [
                list(range(b, min(b + batch_size, len(order))))
                for b in range(0, len(order), batch_size)
            ]
        shown = progress.bar(len(items), "tagging", unit="window")
        for group in groups:
            batch = [items[order[j]] for j in group]
            shown.update(len(batch))
            width = max(len(it[3]) for it in batch)
            ids = torch.full((len(batch), width), pad, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, it in enumerate(batch):
                ids[r, : len(it[3])] = torch.tensor(it[3])
                mask[r, : len(it[3])] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
            logp = torch.log_softmax(logits.float(), -1).cpu().numpy()
            for r, (si, start, end, _, wids) in enumerate(batch):
                self._collect(logp[r], wids, si, start, end, word_lp, word_ctx)
        shown.close()
        # a word the tokenizer writes no sub-token for (a character it drops) gets "O"
        no_token = np.full(len(label_names), -1e4, dtype=np.float32)
        no_token[label_names.index("O")] = 0.0
        untokenized = 0
        for row in word_lp:
            for g, x in enumerate(row):
                if x is None:
                    row[g], untokenized = no_token, untokenized + 1
        tags = []
        for si, s in enumerate(sentences):
            lp = np.stack([x for x in word_lp[si]]) if len(s) else np.zeros((0, len(label_names)))
            if len(s) == 0:
                tags.append([])
            elif self.decode == "viterbi":
                tags.append(viterbi_bio(lp, label_names))
            else:
                tags.append([label_names[i] for i in lp.argmax(-1)])
        return Prediction(
            tags, {"num_windows": len(items), "num_words_without_subtokens": untokenized}
        )

    @staticmethod
    def _collect(logp, wids, si, start, end, word_lp, word_ctx) -> None:
        """Keep, for each word, the first sub-token's scores from its best-centred window."""
        seen = set()
        for pos, w in enumerate(wids):
            if w is None or w in seen:
                continue
            seen.add(w)
            context = context_margin(w, end - start)
            g = start + w
            if context > word_ctx[si][g]:
                word_ctx[si][g] = context
                word_lp[si][g] = logp[pos]
