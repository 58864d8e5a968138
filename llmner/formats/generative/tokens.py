"""Byte automata as token constraints.

:class:`VocabTrie` holds the UTF-8 bytes of every ordinary vocabulary token (byte-level
BPE, sentencepiece with byte fallback, or whatever ``decode`` gives). A depth-first walk
of the trie, pruned by a sentence's automaton, yields the token ids that keep the
automaton alive (see :mod:`llmner.formats.generative.constrain`).
:class:`ConstrainedAnswers` keeps one automaton state per batch row, chooses each row's
next token among the allowed ids (the end marker only where the automaton accepts),
names the token a row is forced to write when it is the only one allowed, and drafts
the tokens a row most likely writes next.
"""

from __future__ import annotations

import hashlib
import math
import weakref

import torch

from llmner.formats.generative.constrain import Automaton

__all__ = ["ConstrainedAnswers", "VocabTrie", "token_bytes"]

_TRIE_ATTR = "_llmner_vocab_trie"
# Tries by vocabulary content; entries live as long as a tokenizer holds them.
_TRIES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _vocab_key(tokenizer) -> str:
    """A digest of the vocabulary (token strings and ids): equal vocabularies share a trie."""
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

    def longest_match(self, data: bytes, limit: int) -> list[int]:
        """Up to ``limit`` tokens that write a prefix of ``data``, each the longest
        vocabulary entry that fits there (a guess at how the model spells it)."""
        out: list[int] = []
        i = 0
        while len(out) < limit and i < len(data):
            node, j, best = self.root, i, None
            while j < len(data):
                node = node[0].get(data[j])
                if node is None:
                    break
                j += 1
                if node[1]:
                    best = (node[1][0], j)
            if best is None:
                break
            out.append(best[0])
            i = best[1]
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


class ConstrainedAnswers:
    """The automaton state of each batch row, what it allows, and what it guesses.

    Args:
        automata: one per batch row.
        trie: the vocabulary trie.
        end_ids: tokens that end an answer; allowed only where the automaton accepts.

    Call :meth:`advance` with each token a row writes, :meth:`best` to choose a row's next
    token from its logits, :meth:`forced` to learn whether the choice is already made, and
    :meth:`draft` for the tokens the row most likely writes next.
    """

    def __init__(self, automata: list[Automaton], trie: VocabTrie, end_ids) -> None:
        self.automata, self.trie, self.end_ids = automata, trie, list(end_ids)
        self.states: list[frozenset | None] = [a.start() for a in automata]
        self.done = [False] * len(automata)
        self.dead_ends = [False] * len(automata)  # answers ended where nothing could follow
        # per row: state -> (allowed ids in ascending order, dead end, forced token or None)
        self._allowed: list[dict] = [{} for _ in automata]
        self._stuck = (sorted(self.end_ids), True, None)

    def advance(self, row: int, token: int) -> None:
        """Row ``row`` wrote ``token``."""
        if self.done[row]:
            return
        if token in self.end_ids:
            self.done[row] = True
        else:
            self.states[row] = self.trie.advance(self.automata[row], self.states[row], token)

    def _entry(self, row: int, st) -> tuple[list[int], bool, int | None]:
        if st is None:  # cannot happen when every step was masked; end cleanly
            return self._stuck
        hit = self._allowed[row].get(st)
        if hit is None:
            automaton = self.automata[row]
            ids = self.trie.allowed(automaton, st)
            accepts = automaton.accepts(st)
            forced = ids[0] if len(ids) == 1 and not accepts else None
            dead = not ids and not accepts  # nothing continues
            if accepts or not ids:
                ids = ids + self.end_ids
            hit = self._allowed[row][st] = (sorted(set(ids)), dead, forced)
        return hit

    def forced(self, row: int) -> int | None:
        """The token row ``row`` must write next when its automaton allows exactly one
        (and cannot end there): greedy decoding picks it whatever the logits."""
        if self.done[row]:
            return None
        return self._entry(row, self.states[row])[2]

    def draft(self, row: int, limit: int) -> tuple[list[int], list]:
        """Up to ``limit`` tokens row ``row`` most likely writes next (the automaton's
        :meth:`~llmner.formats.generative.constrain.Automaton.continuation`, spelled
        with the longest vocabulary entries, cut where the automaton would refuse), and
        the state before each of them and after the last."""
        st = self.states[row]
        if self.done[row] or st is None or limit <= 0:
            return [], [st]
        automaton = self.automata[row]
        tokens, states = [], [st]
        for token in self.trie.longest_match(automaton.continuation(st), limit):
            st = self.trie.advance(automaton, st, token)
            if st is None:
                break
            tokens.append(token)
            states.append(st)
        return tokens, states

    def best(self, scores: torch.Tensor, rows: list[int], states: list) -> tuple[list, list]:
        """Greedy constrained choices: for each line ``i`` of ``scores`` (n, vocabulary),
        the allowed token of row ``rows[i]`` in automaton state ``states[i]`` with the
        highest score (the lowest id among equals, as ``argmax`` over masked logits), and
        its log-probability under the distribution restricted to the allowed tokens. One
        gather over the allowed ids of every line and one copy to the host, whatever n."""
        entries = [self._entry(r, st) for r, st in zip(rows, states)]
        for r, (_, dead, _) in zip(rows, entries):
            self.dead_ends[r] |= dead
        width = max(len(ids) for ids, _, _ in entries)
        index = torch.zeros((len(entries), width), dtype=torch.long)
        valid = torch.zeros((len(entries), width), dtype=torch.bool)
        for i, (ids, _, _) in enumerate(entries):
            index[i, : len(ids)] = torch.tensor(ids, dtype=torch.long)
            valid[i, : len(ids)] = True
        index, valid = index.to(scores.device), valid.to(scores.device)
        values = scores.gather(1, index).masked_fill(~valid, -math.inf)
        top, at = values.max(1)
        logprob = top - values.logsumexp(1)
        return index.gather(1, at[:, None])[:, 0].tolist(), logprob.tolist()
