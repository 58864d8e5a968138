"""What every ``llmner`` subcommand shares.

* :class:`Parser`: one spelling of each option in ``--help`` (Hugging Face's underscores,
  ``--batch_size``), the other (``--batch-size``) and older names (``--adapter``)
  accepted, and errors that suggest the nearest name.
* :func:`add_model` and :func:`locate_model`: the trained model is ``--model`` in every
  subcommand, found (or refused in one line) before anything loads.
* :func:`check_output_file` and :func:`check_output_folder`: an output that cannot be
  written is refused before any model loads, and a missing folder is made, so that no
  work is lost at the end.
* :func:`add_quiet`, :func:`show_progress` and :func:`announce`: a model load prints one
  line, or in a terminal transformers' own progress bar; ``--quiet`` neither.

Nothing here imports torch or transformers: ``llmner --help`` and every argument error
come before the heavy imports.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from pathlib import Path

from llmner.errors import InputError, suggest
from llmner.io import require_empty_folder
from llmner.rundir.source import local_folder, locate

__all__ = [
    "DTYPE_NAMES",
    "Parser",
    "add_model",
    "add_quiet",
    "announce",
    "check_output_file",
    "check_output_folder",
    "locate_model",
    "show_progress",
    "suggest",
]

# ``llmner.models.quantization.EVAL_DTYPE_NAMES``, repeated so that building the parser
# imports no torch (tests/cli/test_common.py checks that the two agree).
DTYPE_NAMES = ("float32", "bfloat16")

# Older names of the model option, still accepted (scripts and the README use them).
MODEL_ALIASES = ("--adapter", "--run")


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` with hidden aliases and "did you mean" in its errors.

    An option declared with underscores (``--batch_size``) is shown so in ``--help`` and
    also accepted with hyphens (``--batch-size``); ``aliases=("--adapter",)`` accepts
    older names too. Aliases share the option's destination, type and choices but not
    its help line. Abbreviations are off: with two spellings of every name they would
    be ambiguous, and a full name is what scripts should hold.

    A required option that has aliases is checked by :meth:`check_required` after
    parsing (argparse would ask for the shown spelling even when an alias was given).
    """

    def __init__(self, *args, **kwargs):
        self.spellings: dict[str, str] = {}  # every accepted option string -> the shown one
        self.required_options: list[tuple[str, str]] = []  # (dest, shown option string)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)  # adds --help

    def add_argument(self, *names, aliases: tuple[str, ...] = (), **kwargs):
        if not names or not names[0].startswith("-"):  # a positional argument
            return super().add_argument(*names, **kwargs)
        hidden = [n.replace("_", "-") for n in names if n.startswith("--") and "_" in n]
        hidden += list(aliases)
        required = bool(hidden) and kwargs.pop("required", False)
        if required:  # the usage line brackets it: the help says so
            kwargs["help"] = f"{kwargs.get('help') or ''} (required)".lstrip()
        action = super().add_argument(*names, **kwargs)
        shown = next((n for n in names if n.startswith("--")), names[0])
        for name in (*names, *hidden):
            self.spellings[name] = shown
        if hidden:
            alias = {**kwargs, "dest": action.dest, "help": argparse.SUPPRESS}
            alias["default"] = argparse.SUPPRESS
            super().add_argument(*hidden, **alias)
        if required:
            self.required_options.append((action.dest, shown))
        return action

    def check_required(self, args: argparse.Namespace) -> None:
        """Refuse (usage and exit status 2) a required option given in no spelling."""
        missing = [shown for dest, shown in self.required_options if getattr(args, dest) is None]
        if missing:
            self.error(f"the following arguments are required: {', '.join(missing)}")

    def error(self, message: str):
        super().error(message + self._hint(message))

    def _hint(self, message: str) -> str:
        unknown = re.match(r"unrecognized arguments: (\S+)", message)
        if unknown:
            word = unknown.group(1).split("=")[0]
            close = difflib.get_close_matches(word, list(self.spellings), n=1, cutoff=0.6)
            return f"; did you mean {self.spellings[close[0]]}?" if close else ""
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            options = [c.strip().strip("'") for c in choice.group(2).split(",")]
            return suggest(choice.group(1), options, quote="'")
        return ""


def add_model(parser: Parser, help: str, required: bool = True) -> None:
    """The trained model as ``--model`` (``--adapter`` and ``--run`` accepted)."""
    parser.add_argument(
        "--model", required=required, aliases=MODEL_ALIASES, metavar="FOLDER", help=help
    )


def add_quiet(parser: Parser) -> None:
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="say nothing while the model loads (by default one line, or in a terminal "
        "transformers' progress bar)",
    )


def show_progress(args: argparse.Namespace) -> bool:
    """Whether transformers' progress bars show: in a terminal and without ``--quiet``;
    in a log they are hundreds of lines of nothing."""
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


def announce(args: argparse.Namespace, source) -> None:
    """The one line said about a model load (none with ``--quiet``, none in a terminal,
    where the progress bar says it), on stderr so that stdout keeps the results.

    ``source``: a :class:`~llmner.rundir.source.ModelSource`, or what is loaded in words.
    """
    if getattr(args, "quiet", False) or show_progress(args):
        return
    if isinstance(source, str):
        what = source
    elif source.kind == "merged":
        what = f"{source.path}: merged {source.format} model"
    else:
        what = f"{source.path}: {source.format} adapter on {source.base_model()}"
    print(f"loading {what}", file=sys.stderr, flush=True)


def locate_model(path: str):
    """The :class:`~llmner.rundir.source.ModelSource` of a run, adapter, exported or
    merged folder, or of a hub repository id of an exported adapter (downloaded).

    Raises:
        InputError: no such folder (a path whose first folder exists here is never taken
            for a hub id), a folder that is no llmner model, or a hub id that cannot be
            fetched: one line, before anything loads.
    """
    return locate(local_folder(path))


def _make_parent(path: Path) -> None:
    above = next(p for p in path.absolute().parents if p.exists())
    if not above.is_dir():
        raise InputError(f"{above} is a file; expected a folder to write into", str(path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        why = e.strerror or str(e)
        raise InputError(f"cannot make its folder ({why})", str(path)) from None
    if not os.access(path.parent, os.W_OK):
        raise InputError("its folder is not writable", str(path))


def check_output_file(path: str | Path) -> Path:
    """``path`` ready to be written: its folder made, refused (before any work) when it
    is a folder or its folder cannot be made or written."""
    path = Path(path)
    if path.is_dir():
        raise InputError("is a folder; expected a file to write", str(path))
    _make_parent(path)
    return path


def check_output_folder(path: str | Path, empty: bool = True) -> Path:
    """``path`` ready to be written as a folder: refused (before any work) when it is a
    file, holds files (``empty``) or cannot be made; its parent folder is made."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError("is a file; expected a folder to write", str(path))
    if empty:
        require_empty_folder(path)
    _make_parent(path)
    return path
