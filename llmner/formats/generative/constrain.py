"""Constrained decoding: the model can only write answers that parse and align.

Each sentence gets an automaton over UTF-8 bytes that accepts exactly the well-formed
answers for it: for ``inline``, a copy of the (escaped) sentence where ``<TYPE>`` may
open at a token start and ``</TYPE>`` close at a later token end; for ``list`` and
``json``, items whose type comes from the label set and whose words are a run of
sentence tokens starting at or after the end of the previous item (so mentions come in
sentence order and a list cannot repeat itself forever). One leading space is allowed
(sentencepiece tokenizers write one).

:class:`~llmner.formats.generative.tokens.VocabTrie` turns these byte automata into
allowed token ids. Answers stay within
:meth:`Automaton.max_bytes` bytes, so a ``max_new_tokens`` of that size never truncates.
"""

from __future__ import annotations

from llmner.data.types import Sentence
from llmner.formats.generative.answers import LIST_SYNTAX, escape

__all__ = ["Automaton", "InlineAutomaton", "ListAutomaton", "build_automaton"]

_LEAD = ("lead",)


class Automaton:
    """A byte-level automaton (sets of sub-states) for the answers to one sentence."""

    def __init__(self, sentence: Sentence, answer_format: str, types: list[str]) -> None:
        text, pieces, where = sentence.text, [], []
        for c in text:
            where.append(sum(map(len, pieces)))
            pieces.append(escape(c, answer_format).encode("utf-8"))
        where.append(sum(map(len, pieces)))
        self.text = b"".join(pieces)
        self.starts = {where[a]: i for i, (a, _) in enumerate(sentence.offsets())}
        self.ends = {where[b]: i for i, (_, b) in enumerate(sentence.offsets())}
        self.n = len(sentence)
        self.types = list(types)
        self._cache: dict = {}

    def start(self) -> frozenset:
        return frozenset(self._closure(self._initial()) | {_LEAD})

    def transitions(self, states: frozenset) -> dict[int, frozenset]:
        """Next byte -> next state set, for every byte some sub-state accepts."""
        hit = self._cache.get(states)
        if hit is None:
            moves: dict[int, set] = {}
            for s in states:
                edges = [(32, t) for t in self._initial()] if s == _LEAD else self._moves(s)
                for b, t in edges:
                    moves.setdefault(b, set()).update(self._closure([t]))
            hit = self._cache[states] = {b: frozenset(t) for b, t in moves.items()}
        return hit

    def accepts(self, states: frozenset) -> bool:
        return any(self._accepting(s) for s in states)

    def continuation(self, states: frozenset) -> bytes:
        """The bytes the answer most likely goes on with from ``states``: the rest of a
        mark being written, then the sentence copied on with no new mark (a guess that
        speculative decoding checks against the model; ``b""`` where there is none)."""
        return b""

    def _closure(self, states) -> set:
        out, todo = set(), list(states)
        while todo:
            s = todo.pop()
            if s not in out:
                out.add(s)
                todo.extend(self._epsilon(s))
        return out

    def max_bytes(self) -> int:
        raise NotImplementedError

    def _initial(self) -> list:
        raise NotImplementedError

    def _moves(self, s):
        raise NotImplementedError

    def _epsilon(self, s) -> list:
        return []

    def _accepting(self, s) -> bool:
        raise NotImplementedError


class InlineAutomaton(Automaton):
    """Sub-states: ``("X", pos, type, opened_at)`` copying, ``("H", pos, typed)`` writing
    an opening mark, ``("Z", pos, type, k)`` writing a closing mark."""

    def __init__(self, sentence, answer_format, types):
        super().__init__(sentence, answer_format, types)
        self.opens = {f"<{t}>".encode(): t for t in self.types}

    def max_bytes(self) -> int:
        marks = max(2 * len(t.encode()) + 5 for t in self.types)
        return 1 + len(self.text) + self.n * marks

    def _initial(self):
        return [("X", 0, None, -1)]

    def _epsilon(self, s):
        if s[0] != "X":
            return []
        _, p, etype, opened = s
        if etype is None and p in self.starts:
            return [("H", p, b"")]
        if etype is not None and p in self.ends and p > opened:
            return [("Z", p, etype, 0)]
        return []

    def _moves(self, s):
        if s[0] == "X":
            if s[1] < len(self.text):
                yield self.text[s[1]], ("X", s[1] + 1, s[2], s[3])
        elif s[0] == "H":
            _, p, typed = s
            for mark, etype in self.opens.items():
                if len(mark) > len(typed) and mark.startswith(typed):
                    nxt = typed + mark[len(typed) : len(typed) + 1]
                    yield nxt[-1], ("X", p, etype, p) if nxt == mark else ("H", p, nxt)
        else:
            _, p, etype, k = s
            mark = f"</{etype}>".encode()
            yield mark[k], ("X", p, None, -1) if k + 1 == len(mark) else ("Z", p, etype, k + 1)

    def _accepting(self, s):
        return s == ("X", len(self.text), None, -1)

    def continuation(self, states):
        copying, marks = [], []
        for s in states:
            if s[0] == "Z":
                return f"</{s[2]}>".encode()[s[3] :] + self.text[s[1] :]
            if s[0] == "X":
                copying.append(s[1])
            elif s[0] == "H":  # an opening mark: guessed once only one type fits
                fits = [m for m in self.opens if m.startswith(s[2]) and len(m) > len(s[2])]
                marks += [fits[0][len(s[2]) :] + self.text[s[1] :]] if len(fits) == 1 else []
        if copying:
            return self.text[min(copying) :]
        return marks[0] if len(marks) == 1 else b""


class ListAutomaton(Automaton):
    """Sub-states: ``("L", rest, cont)`` writing literal bytes, ``("H", typed, cur)``
    writing an item header, ``("C0", cur)`` before the words, ``("C", pos)`` copying
    words, ``("A",)`` done. ``cur`` is the first token the next item may start at."""

    def __init__(self, sentence, answer_format, types):
        super().__init__(sentence, answer_format, types)
        self.syn = LIST_SYNTAX[answer_format]
        self.headers = [self.syn.header.format(type=t).encode() for t in self.types]

    def max_bytes(self) -> int:
        syn = self.syn
        item = max(map(len, self.headers)) + len(syn.after) + len(syn.sep)
        fixed = len(syn.prefix) + len(syn.end) + len(syn.empty)
        return 1 + fixed + len(self.text) + self.n * item

    def _enter(self, rest: str, cont):
        return ("L", rest.encode(), cont) if rest else cont

    def _initial(self):
        syn = self.syn
        return [
            self._enter(syn.empty, ("A",)),
            self._enter(syn.prefix, ("H", b"", 0)),
        ]

    def _epsilon(self, s):
        if s[0] == "C" and s[1] in self.ends:
            i, syn = self.ends[s[1]], self.syn
            out = [self._enter(syn.after + syn.end, ("A",))]
            if i + 1 < self.n:
                out.append(self._enter(syn.after + syn.sep, ("H", b"", i + 1)))
            return out
        return []

    def _moves(self, s):
        kind = s[0]
        if kind == "L":
            _, rest, cont = s
            yield rest[0], ("L", rest[1:], cont) if len(rest) > 1 else cont
        elif kind == "H":
            _, typed, cur = s
            for head in self.headers:
                if len(head) > len(typed) and head.startswith(typed):
                    nxt = head[: len(typed) + 1]
                    yield nxt[-1], ("C0", cur) if nxt == head else ("H", nxt, cur)
        elif kind == "C0":
            for p, i in self.starts.items():
                if i >= s[1]:
                    yield self.text[p], ("C", p + 1)
        elif kind == "C" and s[1] < len(self.text):
            yield self.text[s[1]], ("C", s[1] + 1)

    def _accepting(self, s):
        return s == ("A",)

    def continuation(self, states):
        for s in states:
            if s[0] == "C":  # the rest of the word being copied
                end = min((p for p in self.ends if p >= s[1]), default=len(self.text))
                if end > s[1]:
                    return self.text[s[1] : end]
        literal = sorted(s[1] for s in states if s[0] == "L")  # sorted: a fixed guess
        return literal[0] if literal else b""


def build_automaton(sentence: Sentence, answer_format: str, types: list[str]) -> Automaton:
    """The automaton of well-formed answers to ``sentence``.

    Example:
        >>> a = build_automaton(Sentence(["Ann", "ran"], ["O", "O"]), "inline", ["PER"])
        >>> states = a.start()
        >>> for b in b"<PER>Ann</PER> ran":
        ...     states = a.transitions(states)[b]
        >>> a.accepts(states), sorted(a.transitions(a.start()))  # ' ', 'A' or '<'
        (True, [32, 60, 65])
    """
    cls = InlineAutomaton if answer_format == "inline" else ListAutomaton
    return cls(sentence, answer_format, types)
