"""Fast generation: batches sorted by length, left padding, KV cache, greedy, stopping at
the end marker; and the logits processor that applies the answer automata.

:class:`VocabTrie` holds the UTF-8 bytes of every ordinary vocabulary token (byte-level
BPE, sentencepiece with byte fallback, or whatever ``decode`` gives). At each step a
depth-first walk of the trie, pruned by the sentence's automaton, yields the allowed
token ids; the end marker is allowed only where the automaton accepts.
"""

from __future__ import annotations

import math

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList

from llmner.formats.generative.constrain import Automaton

__all__ = ["ConstrainedAnswers", "VocabTrie", "generate", "token_bytes"]

_TRIES: dict[int, VocabTrie] = {}


def _byte_decoder() -> dict[str, int]:
    """GPT-2's printable stand-ins for bytes, reversed."""
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = list(bs), 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs)}


def token_bytes(tokenizer) -> list[bytes | None]:
    """The bytes each token id writes; ``None`` for special and added tokens."""
    pieces = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    skip = set(tokenizer.all_special_ids) | set(getattr(tokenizer, "added_tokens_decoder", {}))
    backend = getattr(tokenizer, "backend_tokenizer", None)
    decoder = str(getattr(backend, "decoder", "")) if backend is not None else ""
    table = _byte_decoder() if "ByteLevel" in decoder else None
    out: list[bytes | None] = []
    for i, piece in enumerate(pieces):
        if i in skip or piece is None:
            out.append(None)
        elif table is not None and all(c in table for c in piece):
            out.append(bytes(table[c] for c in piece))
        elif len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            out.append(bytes([int(piece[3:5], 16)]))
        elif "▁" in piece:
            out.append(piece.replace("▁", " ").encode("utf-8"))
        else:
            out.append(tokenizer.decode([i]).encode("utf-8"))
    return [b if b else None for b in out]


class VocabTrie:
    """A byte trie over a tokenizer's vocabulary; cached per tokenizer with :meth:`of`."""

    def __init__(self, tokenizer) -> None:
        self.bytes = token_bytes(tokenizer)
        self.root: tuple[dict, list] = ({}, [])
        for i, tb in enumerate(self.bytes):
            if tb is None:
                continue
            node = self.root
            for b in tb:
                node = node[0].setdefault(b, ({}, []))
            node[1].append(i)

    @classmethod
    def of(cls, tokenizer) -> VocabTrie:
        key = id(tokenizer)
        if key not in _TRIES:
            _TRIES[key] = cls(tokenizer)
        return _TRIES[key]

    def allowed(self, automaton: Automaton, states: frozenset) -> list[int]:
        """Token ids whose bytes keep ``automaton`` alive from ``states``."""
        out: list[int] = []
        todo = [(self.root, states)]
        while todo:
            node, st = todo.pop()
            for b, nxt in automaton.transitions(st).items():
                child = node[0].get(b)
                if child is not None:
                    out.extend(child[1])
                    todo.append((child, nxt))
        return out

    def advance(self, automaton: Automaton, states: frozenset | None, token: int):
        """The state set after writing ``token``; ``None`` once the automaton fails."""
        tb = self.bytes[token] if 0 <= token < len(self.bytes) else None
        if states is None or tb is None:
            return None
        for b in tb:
            states = automaton.transitions(states).get(b)
            if states is None:
                return None
        return states


class ConstrainedAnswers(LogitsProcessor):
    """Masks every token that would leave a row's automaton.

    Args:
        automata: one per batch row.
        trie: the vocabulary trie.
        end_ids: tokens that end an answer; allowed only where the automaton accepts.
        prompt_len: the padded prompt length (generation starts after it).
    """

    def __init__(self, automata: list[Automaton], trie: VocabTrie, end_ids, prompt_len: int):
        self.automata, self.trie, self.end_ids = automata, trie, list(end_ids)
        self.prompt_len = prompt_len
        self.states: list[frozenset | None] = [a.start() for a in automata]
        self.done = [False] * len(automata)
        self._allowed: list[dict] = [{} for _ in automata]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor):
        mask = torch.full_like(scores, -math.inf)
        for row, automaton in enumerate(self.automata):
            if input_ids.shape[1] > self.prompt_len and not self.done[row]:
                last = int(input_ids[row, -1])
                if last in self.end_ids:
                    self.done[row] = True
                else:
                    self.states[row] = self.trie.advance(automaton, self.states[row], last)
            st = self.states[row]
            if self.done[row]:
                mask[row] = 0
                continue
            if st is None:  # cannot happen when every step was masked; end cleanly
                mask[row, self.end_ids] = 0
                continue
            if st not in self._allowed[row]:
                ids = self.trie.allowed(automaton, st)
                if automaton.accepts(st) or not ids:
                    ids = ids + self.end_ids
                self._allowed[row][st] = torch.tensor(ids, dtype=torch.long)
            mask[row, self._allowed[row][st]] = 0
        return scores + mask


class TokenLogProbs:
    """Records the log-probability of each chosen token (a ``LogitsProcessor`` placed
    last, so the probabilities are those of the distribution actually decoded from, after
    constraints). Keeps one step's distribution at a time, not all of them."""

    def __init__(self, prompt_len: int):
        self.prompt_len = prompt_len
        self.previous: torch.Tensor | None = None
        self.values: list[torch.Tensor] = []

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor):
        if self.previous is not None:
            self.values.append(self.previous.gather(1, input_ids[:, -1:]).squeeze(1))
        self.previous = torch.log_softmax(scores.float(), dim=-1)
        return scores

    def finish(self, sequences: torch.LongTensor) -> torch.Tensor:
        """(rows, new tokens) log-probabilities of the generated tokens."""
        if self.previous is not None and sequences.shape[1] > self.prompt_len + len(self.values):
            self.values.append(self.previous.gather(1, sequences[:, -1:]).squeeze(1))
        if not self.values:
            return torch.zeros((sequences.shape[0], 0))
        return torch.stack(self.values, dim=1).cpu()


@torch.inference_mode()
def generate(
    model,
    prompts: list[list[int]],
    max_new_tokens: list[int],
    *,
    pad_id: int,
    end_ids: list[int],
    batch_size: int = 32,
    automata: list[Automaton] | None = None,
    trie: VocabTrie | None = None,
    logprobs: list[list[float]] | None = None,
) -> list[list[int]]:
    """Greedy answers (token ids, end marker cut) for ``prompts``, in input order.

    Prompts are sorted by length (longest first, so memory trouble shows at once) and
    left-padded in batches; each batch runs one cached ``model.generate`` that stops when
    every row wrote an end marker or the largest ``max_new_tokens`` of the batch is
    reached. With ``automata`` (and ``trie``), decoding is constrained row by row. When a
    list is passed as ``logprobs``, it is filled with each answer's token log-probabilities.
    """
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    device = next(model.parameters()).device
    out: list[list[int]] = [[] for _ in prompts]
    logprob_rows: list[list[float]] = [[] for _ in prompts]
    model.eval()
    for b in range(0, len(order), batch_size):
        rows = order[b : b + batch_size]
        width = max(len(prompts[i]) for i in rows)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        attn = torch.zeros((len(rows), width), dtype=torch.long)
        for r, i in enumerate(rows):
            ids[r, width - len(prompts[i]) :] = torch.tensor(prompts[i])
            attn[r, width - len(prompts[i]) :] = 1
        processors = LogitsProcessorList()
        if automata is not None:
            rows_automata = [automata[i] for i in rows]
            processors.append(ConstrainedAnswers(rows_automata, trie, end_ids, width))
        recorder = TokenLogProbs(width) if logprobs is not None else None
        if recorder is not None:
            processors.append(recorder)
        config = GenerationConfig(
            max_new_tokens=max(max_new_tokens[i] for i in rows),
            do_sample=False,
            num_beams=1,
            use_cache=True,
            eos_token_id=list(end_ids),
            pad_token_id=pad_id,
        )
        gen = model.generate(
            input_ids=ids.to(device),
            attention_mask=attn.to(device),
            generation_config=config,
            logits_processor=processors,
        )
        scores = recorder.finish(gen) if recorder is not None else None
        for r, i in enumerate(rows):
            new = gen[r, width:].tolist()
            cut = next((k for k, t in enumerate(new) if t in end_ids), len(new))
            out[i] = new[:cut]
            if scores is not None:
                logprob_rows[i] = scores[r, :cut].tolist()
    if logprobs is not None:
        logprobs[:] = logprob_rows
    return out
