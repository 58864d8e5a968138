"""Errors that speak to the user.

Every mistake in a user's input (a data file, a config, a model name) is raised as an
:class:`InputError`. The command-line interface prints its one-line message and exits with
status 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import difflib

__all__ = ["InputError", "LlmnerError", "suggest"]


class LlmnerError(Exception):
    """Base class of llmner's own errors."""


class InputError(LlmnerError):
    """A problem with something the user gave us, located as precisely as we can.

    Args:
        message: what is wrong and what was expected.
        path: the file concerned, if any.
        line: the 1-based line number in that file, if known.

    Example:
        >>> str(InputError("expected 2 columns, found 1", path="train.txt", line=7))
        'train.txt:7: expected 2 columns, found 1'
    """

    def __init__(self, message: str, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path if self.line is None else f"{self.path}:{self.line}"
            where += ": "
        return where + self.message


def suggest(word: str, candidates, quote: str = "") -> str:
    """``"; did you mean X?"`` for the candidate nearest to ``word``, or ``""``: the tail
    of an :class:`InputError` message about a mistyped name.

    Example:
        >>> suggest("bc5cd", ["bc5cdr", "wnut17"])
        '; did you mean bc5cdr?'
        >>> suggest("learning_rte", ["learning_rate", "seed"], quote="'")
        "; did you mean 'learning_rate'?"
        >>> suggest("zzz", ["bc5cdr", "wnut17"])
        ''
    """
    close = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean {quote}{close[0]}{quote}?" if close else ""
