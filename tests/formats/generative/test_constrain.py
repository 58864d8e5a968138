"""The answer automata's guesses: what a copy most likely goes on with (the drafts of
speculative decoding)."""

from __future__ import annotations

import pytest

from llmner.data.types import Sentence
from llmner.formats.generative.constrain import build_automaton

SENTENCE = Sentence(["Ann", "met", "Bo", "."], ["B-PER", "O", "B-PER", "O"])


def _after(automaton, written: bytes):
    states = automaton.start()
    for b in written:
        states = automaton.transitions(states)[b]
    return states


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (b"", b"Ann met Bo ."),  # the start: the sentence
        (b"Ann", b" met Bo ."),  # no mark open: copy on
        (b"<PER>An", b"n met Bo ."),  # inside a word: its rest first
        (b"<PER>Ann", b"</PER> met Bo ."),  # a mark open at a word end: close it
        (b"<PER>Ann</PE", b"R> met Bo ."),  # the rest of a closing mark
        (b"Ann met <P", b"ER>Bo ."),  # an opening mark only one type fits: its rest
        (b"Ann met <", b""),  # an opening mark two types fit: no guess
        (b"Ann met Bo .", b""),  # nothing left
    ],
)
def test_inline_continuation(written, expected):
    automaton = build_automaton(SENTENCE, "inline", ["PER", "LOC"])
    assert automaton.continuation(_after(automaton, written)) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (b"PER: A", b"nn"),  # the rest of the word being copied
        (b"PER: Ann", b" | "),  # a word end: the separator (sorted before the end)
        (b"PER: Ann | PE", b""),  # a header being written: no guess
    ],
)
def test_list_continuation(written, expected):
    automaton = build_automaton(SENTENCE, "list", ["PER"])
    assert automaton.continuation(_after(automaton, written)) == expected
