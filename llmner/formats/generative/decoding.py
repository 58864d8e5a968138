"""Fast generation: batches sorted by length, left padding, KV cache, greedy, stopping at
the end marker; and the logits processor that applies the answer automata.

:class:`VocabTrie` holds the UTF-8 bytes of every ordinary vocabulary token (byte-level
BPE, sentencepiece with byte fallback, or whatever ``decode`` gives). At each step a
depth-first walk of the trie, pruned by the sentence's automaton, yields the allowed
token ids; the end marker is allowed only where the automaton accepts.
"""

from __future__ import annotations

import copy
import math
import weakref

import torch
from transformers import GenerationConfig, LogitsProcessor, LogitsProcessorList

from llmner.formats.generative.constrain import Automaton

__all__ = ["ConstrainedAnswers", "VocabTrie", "generate", "shared_prefix_length", "token_bytes"]

#: A shared prompt prefix shorter than this is not worth a separate forward pass.
MIN_SHARED_PREFIX = 8

_TRIE_ATTR = "_llmner_vocab_trie"
# Tries by vocabulary content; entries live as long as a tokenizer holds them.
_TRIES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _vocab_key(tokenizer) -> str:
    """A digest of the vocabulary (token strings and ids): equal vocabularies share a trie."""
    import hashlib

    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    return hashlib.sha256(repr(vocab).encode("utf-8")).hexdigest()


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
        """The trie of ``tokenizer``'s vocabulary, built once per vocabulary: keyed by
        the vocabulary's content (not the object's ``id``, which a later tokenizer can
        reuse), and held weakly by the tokenizer so it is freed with it."""
        trie = getattr(tokenizer, _TRIE_ATTR, None)
        if trie is None:
            key = _vocab_key(tokenizer)
            trie = _TRIES.get(key)
            if trie is None:
                trie = _TRIES[key] = cls(tokenizer)
            setattr(tokenizer, _TRIE_ATTR, trie)
        return trie

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
        self.dead_ends = [False] * len(automata)  # answers ended where nothing could follow
        self._allowed: list[dict] = [{} for _ in automata]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor):
        # One device-to-host copy of the last tokens and one host-to-device copy of the
        # allowed ids per step, whatever the batch size (no per-row synchronisation).
        last = input_ids[:, -1].tolist() if input_ids.shape[1] > self.prompt_len else None
        rows: list[torch.Tensor] = []
        cols: list[torch.Tensor] = []
        free: list[int] = []
        for row, automaton in enumerate(self.automata):
            if last is not None and not self.done[row]:
                if last[row] in self.end_ids:
                    self.done[row] = True
                else:
                    self.states[row] = self.trie.advance(automaton, self.states[row], last[row])
            st = self.states[row]
            if self.done[row]:
                free.append(row)
                continue
            if st is None:  # cannot happen when every step was masked; end cleanly
                self.dead_ends[row] = True
                allowed = torch.tensor(self.end_ids, dtype=torch.long)
            else:
                if st not in self._allowed[row]:
                    ids = self.trie.allowed(automaton, st)
                    dead = not ids and not automaton.accepts(st)  # nothing continues
                    if automaton.accepts(st) or not ids:
                        ids = ids + self.end_ids
                    self._allowed[row][st] = (torch.tensor(ids, dtype=torch.long), dead)
                allowed, dead = self._allowed[row][st]
                self.dead_ends[row] |= dead
            cols.append(allowed)
            rows.append(torch.full((len(allowed),), row, dtype=torch.long))
        mask = torch.full_like(scores, -math.inf)
        if cols:
            index = torch.stack([torch.cat(rows), torch.cat(cols)]).to(scores.device)
            mask[index[0], index[1]] = 0
        if free:
            mask[free] = 0
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


def shared_prefix_length(prompts: list[list[int]]) -> int:
    """Tokens that every prompt starts with, leaving each prompt at least one of its own
    (generation needs one uncached input token per row)."""
    if not prompts:
        return 0
    first, n = prompts[0], min(len(p) for p in prompts) - 1
    for p in prompts[1:]:
        k = 0
        while k < n and p[k] == first[k]:
            k += 1
        n = k
    return max(n, 0)


def _sliding_window(model) -> int | None:
    """The model's attention window when some layers attend to a window only."""
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "get_text_config"):
        config = config.get_text_config()
    window = getattr(config, "sliding_window", None)
    if not window or getattr(config, "use_sliding_window", True) is False:
        return None
    return int(window)


def _prefix_cache(model, prefix: list[int], device):
    """The KV cache of ``prefix`` (batch of one) and the ``generate`` keyword that takes
    it (``cache`` in recent transformers 5 releases, ``past_key_values`` before)."""
    out = model(input_ids=torch.tensor([prefix], device=device), use_cache=True)
    if "cache" in getattr(type(out), "__dataclass_fields__", {}):
        return out.cache, "cache"
    return out.past_key_values, "past_key_values"


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
    reuse_prefix: bool = True,
    stats: dict | None = None,
) -> list[list[int]]:
    """Greedy answers (token ids, end marker cut) for ``prompts``, in input order.

    Prompts are sorted by length (longest first, so memory trouble shows at once) and
    left-padded in batches; each batch runs one cached ``model.generate`` that stops when
    every row wrote an end marker or the largest ``max_new_tokens`` of the batch is
    reached. With ``automata`` (and ``trie``), decoding is constrained row by row. When a
    list is passed as ``logprobs``, it is filled with each answer's token log-probabilities.
    Each row keeps at most its own ``max_new_tokens`` (a batch generates up to the largest),
    so answers do not depend on which sentences share a batch. A dict passed as ``stats``
    gets ``dead_ends`` (constrained answers ended because no token could continue them)
    and ``cut_at_budget`` (answers that reached their ``max_new_tokens`` without an end
    marker).

    With ``reuse_prefix``, the tokens every prompt starts with (the system turn, the
    instruction, the label list, the examples) run through the model once; each batch
    starts from a copy of that cache, and the padding goes between the shared prefix and
    each row's own tokens (``[prefix][pad...][own tokens]``), where the attention mask
    hides it and the position ids skip it, so the answers are those of unpadded prompts.
    Models whose sliding attention window is shorter than prompt plus answer pad on the
    left instead (padding inside the window would hide real tokens).
    """
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    counted = {"dead_ends": 0, "cut_at_budget": 0}
    device = next(model.parameters()).device
    out: list[list[int]] = [[] for _ in prompts]
    logprob_rows: list[list[float]] = [[] for _ in prompts]
    model.eval()
    shared = shared_prefix_length(prompts) if reuse_prefix else 0
    window = _sliding_window(model)
    # padding inside the sequence would take places in a sliding window
    if window is not None and prompts and max(map(len, prompts)) + max(max_new_tokens) > window:
        shared = 0
    prefix_cache = cache_key = None
    if shared >= MIN_SHARED_PREFIX:
        prefix_cache, cache_key = _prefix_cache(model, prompts[0][:shared], device)
    else:
        shared = 0
    for b in range(0, len(order), batch_size):
        rows = order[b : b + batch_size]
        width = max(len(prompts[i]) for i in rows)
        ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
        attn = torch.zeros((len(rows), width), dtype=torch.long)
        ids[:, :shared] = torch.tensor(prompts[rows[0]][:shared])
        attn[:, :shared] = 1
        for r, i in enumerate(rows):
            own = prompts[i][shared:]
            ids[r, width - len(own) :] = torch.tensor(own)
            attn[r, width - len(own) :] = 1
        extra = {}
        if prefix_cache is not None:
            cache = copy.deepcopy(prefix_cache)
            cache.batch_repeat_interleave(len(rows))
            extra[cache_key] = cache
        processors = LogitsProcessorList()
        constraint = None
        if automata is not None:
            rows_automata = [automata[i] for i in rows]
            constraint = ConstrainedAnswers(rows_automata, trie, end_ids, width)
            processors.append(constraint)
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
            **extra,
        )
        scores = recorder.finish(gen) if recorder is not None else None
        for r, i in enumerate(rows):
            new = gen[r, width : width + max_new_tokens[i]].tolist()
            cut = next((k for k, t in enumerate(new) if t in end_ids), None)
            if cut is None:
                cut = len(new)
                counted["cut_at_budget"] += 1
            out[i] = new[:cut]
            if scores is not None:
                logprob_rows[i] = scores[r, :cut].tolist()
        if constraint is not None:
            counted["dead_ends"] += sum(constraint.dead_ends)
    if logprobs is not None:
        logprobs[:] = logprob_rows
    if stats is not None:
        stats.update(counted)
    return out
