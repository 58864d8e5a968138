"""One parser for a run: flags and a ``--config`` YAML, as trl's and Hugging Face's
scripts read them (``HfArgumentParser`` over the three argument groups, plus the format's
options as flags). Flags override the file; a mistake is one line naming the option, the
value and what is allowed, raised before any model loads.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import typing
from pathlib import Path

from transformers import HfArgumentParser
from transformers.hf_argparser import string_to_bool

from llmner.config.arguments import DataArguments, ModelArguments, NERTrainingArguments
from llmner.config.run import RunConfig, _all_format_options, option_hint, option_names
from llmner.errors import InputError
from llmner.formats import FORMATS
from llmner.io import parse_yaml

__all__ = ["flatten_options", "load_config", "make_parser", "parse_args", "parse_overrides"]


def load_config(path: str | Path) -> dict:
    """Read a YAML config: option names, flat or under ``model``, ``data``, ``training``
    and ``format_options``; an unknown key is an error naming the file, the line and the
    closest option."""
    path = Path(path)
    if not path.exists():
        raise InputError("config file not found", path=str(path))
    text = path.read_text(encoding="utf-8")
    data = parse_yaml(text, path) or {}
    if not isinstance(data, dict):
        raise InputError("expected a mapping of option names to values", path=str(path))
    known = option_names() | {"model", "data", "training", "format_options", "trainer_args"}
    known |= {"warmup_ratio"}  # configs written before the groups existed
    for key in data:
        if key not in known:
            line = next(
                (i for i, s in enumerate(text.splitlines(), 1) if s.lstrip().startswith(f"{key}:")),
                None,
            )
            message = f"unknown option {key!r}{option_hint(key)}"
            raise InputError(message, str(path), line)
    return data


def _option_type(tp) -> tuple:
    """argparse ``type`` and ``nargs``/``const`` for a format option's annotation."""
    if typing.get_origin(tp) is typing.Literal:
        return str, {"choices": typing.get_args(tp)}
    args = [a for a in typing.get_args(tp) if a is not type(None)] or [tp]
    base = args[0]
    if base is bool:
        return string_to_bool, {"nargs": "?", "const": True}
    return base, {}


def make_parser() -> HfArgumentParser:
    """The run's parser: the three groups' fields and the formats' options as flags."""
    parser = HfArgumentParser(
        (ModelArguments, DataArguments, NERTrainingArguments), allow_abbrev=False
    )
    parser.add_argument("--config", default=None, help="a YAML file of options")
    group = parser.add_argument_group("format options (tagging or generative)")
    seen = set()
    for name in FORMATS:
        hints = typing.get_type_hints(FORMATS[name].options)
        for f in dataclasses.fields(FORMATS[name].options):
            if f.name in _all_format_options() and f.name not in seen:
                seen.add(f.name)
                kind, extra = _option_type(hints[f.name])
                group.add_argument(
                    f"--{f.name}", type=kind, default=argparse.SUPPRESS,
                    help=f"{name} option (default {f.default!r})", **extra,
                )  # fmt: skip
    return parser


def _given(argv: list[str]) -> set[str]:
    return {a.split("=", 1)[0].lstrip("-").replace("-", "_") for a in argv if a[:2] == "--"}


def parse_overrides(argv: list[str]) -> dict:
    """The options named as flags in ``argv``, parsed to their types (the parser's
    defaults left out): a sweep's overrides of its base config."""
    parser = make_parser()
    namespace, unknown = parser.parse_known_args(argv)
    if unknown:
        flag = next((u for u in unknown if u.startswith("--")), unknown[0])
        name = flag.lstrip("-").split("=", 1)[0]
        raise InputError(f"unknown argument {flag!r}{option_hint(name)}")
    given = _given(argv) - {"config"}
    return {k: v for k, v in vars(namespace).items() if k in given or f"no_{k}" in given}


def parse_args(argv: list[str] | None = None) -> RunConfig:
    """``--config FILE.yaml`` gives the values; flags on the command line override them.

    Raises:
        InputError: an unknown flag or key (with the closest option), a value a group
            refuses, an option of the other format.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--config", default=None)
    known, _ = pre.parse_known_args(argv)
    from_file = dict(load_config(known.config)) if known.config else {}
    return RunConfig.from_dict({**flatten_options(from_file), **parse_overrides(argv)})


def flatten_options(data: dict) -> dict:
    """A YAML config's options as one flat mapping (groups and ``format_options`` lifted;
    a ``trainer_args`` mapping of older configs too), so flags can override any of them."""
    flat = {k: v for k, v in data.items() if k not in ("model", "data", "training")}
    for group in ("model", "data", "training"):
        if isinstance(data.get(group), dict):
            flat.update(data[group])
    flat.update(flat.pop("format_options", None) or {})
    flat.update(flat.pop("trainer_args", None) or {})
    flat.pop("config", None)
    return flat
