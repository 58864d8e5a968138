"""Versioned prompt templates: ``prompts/<name>.v<N>.jinja``.

A template's first line declares its answer format (``{#- answer: inline -#}``). A line
``{#- turn: user -#}`` splits it in two turns: the text above it is the system turn (the
same for every sentence, so it is computed once when generating), the text below it the
user turn; without it the whole template is the user turn and the tokenizer's chat template
writes its own default system turn, if it has one. A template is named ``<name>`` (the
newest version) or ``<name>.v<N>`` (pinned); every run records the resolved name, version
and the sha256 of the file's bytes.

The folder is found next to the package in a source checkout (``prompts/`` at the
repository root) and as ``llmner/prompts/`` in an installed wheel, where
``pyproject.toml`` maps it.

Example:
    >>> t = load_template("inline")
    >>> t.name, t.version, t.answer_format, len(t.sha256)
    ('inline', 2, 'inline', 64)
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import jinja2.meta

from llmner.data.types import LabelSet, Sentence
from llmner.errors import InputError
from llmner.formats.generative.answers import ANSWER_FORMATS, render_answer

__all__ = [
    "PromptTemplate",
    "choose_examples",
    "list_templates",
    "load_template",
    "prompts_dir",
]

_FILE = re.compile(r"^(?P<name>[a-z0-9_-]+)\.v(?P<version>\d+)\.jinja$")
_HEADER = re.compile(r"^\{#-?\s*answer:\s*(\w+)\s*-?#\}")
_USER_TURN = re.compile(r"^\{#-?\s*turn:\s*user\s*-?#\}[ \t]*$", re.MULTILINE)
_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False
)


def prompts_dir() -> Path:
    """The folder holding the prompt files (installed or source checkout)."""
    here = Path(__file__).resolve().parent
    for candidate in (here.parents[1] / "prompts", here.parents[2] / "prompts"):
        if candidate.is_dir() and any(candidate.glob("*.jinja")):
            return candidate
    raise InputError(f"no prompts folder found next to {here.parents[1]}")


def list_templates() -> list[str]:
    """Every ``<name>.v<N>`` available, sorted.

    Example:
        >>> "inline.v1" in list_templates()
        True
    """
    return sorted(p.name[: -len(".jinja")] for p in prompts_dir().glob("*.jinja"))


@dataclass(frozen=True)
class PromptTemplate:
    """One prompt file, loaded."""

    name: str
    version: int
    answer_format: str
    source: str
    sha256: str
    # the source split at ``{#- turn: user -#}`` (once, here): system part or None, user part
    system_source: str | None = field(init=False, repr=False, compare=False)
    user_source: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        found = _USER_TURN.search(self.source)
        system, user = (
            (None, self.source)
            if found is None
            else (self.source[: found.start()], self.source[found.end() :])
        )
        object.__setattr__(self, "system_source", system)
        object.__setattr__(self, "user_source", user)

    @property
    def id(self) -> str:
        return f"{self.name}.v{self.version}"

    @property
    def has_system_turn(self) -> bool:
        """Whether the template writes its own system turn (``{#- turn: user -#}``)."""
        return self.system_source is not None

    def _render(self, source: str, labels: LabelSet, examples, describe: bool, **extra) -> str:
        return (
            _ENV.from_string(source)
            .render(
                labels=[
                    {"type": t, "description": labels.descriptions.get(t, "")} for t in labels.types
                ],
                examples=[
                    {"text": s.text, "answer": render_answer(s, self.answer_format)}
                    for s in examples
                ],
                describe=describe,
                **extra,
            )
            .strip()
        )

    def render(
        self,
        text: str,
        labels: LabelSet,
        examples: list[Sentence] = (),
        describe: bool = False,
    ) -> str:
        """The user turn for the sentence ``text``."""
        return self._render(self.user_source, labels, examples, describe, text=text)

    def render_system(
        self, labels: LabelSet, examples: list[Sentence] = (), describe: bool = False
    ) -> str | None:
        """The template's own system turn (the same for every sentence), or None when it
        has none and the tokenizer's default applies."""
        if self.system_source is None:
            return None
        return self._render(self.system_source, labels, examples, describe)


def load_template(name: str) -> PromptTemplate:
    """Load ``<name>`` (its newest version) or ``<name>.v<N>``.

    Raises:
        InputError: no such prompt, or its first line does not declare an answer format.
    """
    files = {}
    for path in prompts_dir().glob("*.jinja"):
        m = _FILE.match(path.name)
        if m:
            files.setdefault(m["name"], {})[int(m["version"])] = path
    base, _, ver = name.partition(".v")
    versions = files.get(base, {})
    if not versions or (ver and (not ver.isdigit() or int(ver) not in versions)):
        raise InputError(f"unknown prompt {name!r}; expected one of {list_templates()}")
    version = int(ver) if ver else max(versions)
    path = versions[version]
    data = path.read_bytes()
    source = data.decode("utf-8")
    header = _HEADER.match(source)
    if not header or header.group(1) not in ANSWER_FORMATS:
        raise InputError(
            f"the first line must be '{{#- answer: FORMAT -#}}' with FORMAT in {ANSWER_FORMATS}",
            path=str(path),
            line=1,
        )
    template = PromptTemplate(
        base, version, header.group(1), source, hashlib.sha256(data).hexdigest()
    )
    if len(_USER_TURN.findall(source)) > 1:
        raise InputError("expected at most one '{#- turn: user -#}' line", path=str(path))
    system = template.system_source
    if system is not None and "text" in jinja2.meta.find_undeclared_variables(_ENV.parse(system)):
        uses = [
            n
            for n, text in enumerate(system.splitlines(), 1)
            if re.search(r"\{[{%][^}]*\btext\b", text)
        ]
        line = uses[0] if uses else system.count("\n") + 1
        raise InputError(
            "the system turn (above '{#- turn: user -#}') is the same for every sentence, "
            "so it cannot use 'text'; expected 'text' below that line",
            path=str(path),
            line=line,
        )
    return template


def choose_examples(sentences: list[Sentence], k: int, seed: int = 0, max_tokens: int = 25):
    """``k`` few-shot examples: a seeded choice among short sentences with an entity.

    Short sentences keep the prompt short; the choice depends only on ``sentences``,
    ``k`` and ``seed``.

    Example:
        >>> pool = [Sentence(["a"], ["B-X"]), Sentence(["b"], ["O"]), Sentence(["c"], ["B-X"])]
        >>> [s.tokens for s in choose_examples(pool, 2)]
        [['c'], ['a']]
    """
    if k <= 0:
        return []
    pool = [s for s in sentences if len(s) <= max_tokens and any(t != "O" for t in s.tags)]
    if len(pool) < k:
        raise InputError(
            f"{k} examples asked for, but only {len(pool)} short training "
            "sentences with an entity exist"
        )
    return random.Random(seed).sample(pool, k)
