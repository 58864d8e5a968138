"""Golden tests: the exact text and hash of every released prompt version."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from llmner.data.types import LabelSet, Sentence
from llmner.errors import InputError
from llmner.formats.generative import templates
from llmner.formats.generative.templates import list_templates, load_template, prompts_dir

REPO = Path(__file__).resolve().parents[2]
LABELS = LabelSet(["PER", "LOC"], {"PER": "a person", "LOC": "a place"})
TEXT = "Steve Jobs left Cupertino ."
EXAMPLE = [Sentence(["Ann", "ran"], ["B-PER", "O"])]

GOLDEN = {
    "inline.v1": (
        "b61306df3669a11061df8520ffdb4ee3d846b7695862a0684a5867d6371425cb",
        "Copy the text, marking each entity as <TYPE>words</TYPE>. Types: PER, LOC.\n"
        "Text: Steve Jobs left Cupertino .",
        "Copy the text, marking each entity as <TYPE>words</TYPE>. Types: PER (a person), "
        "LOC (a place).\nText: Ann ran\nAnswer: <PER>Ann</PER> ran\n"
        "Text: Steve Jobs left Cupertino .",
    ),
    "inline.v2": (
        "aa04fc94c9e2cc198a981040f67062af99725d0f79b0d8da031b2ced4296dfed",
        "Steve Jobs left Cupertino .",
        "Steve Jobs left Cupertino .",
    ),
    "list.v1": (
        "04948d86f5a5840a97e3987ec8e687b35011fceab3ee67a1d546b1fe1906dda4",
        'List the entities as TYPE: words, separated by " | ", or none. Types: PER, LOC.\n'
        "Text: Steve Jobs left Cupertino .",
        'List the entities as TYPE: words, separated by " | ", or none. Types: PER '
        "(a person), LOC (a place).\nText: Ann ran\nAnswer: PER: Ann\n"
        "Text: Steve Jobs left Cupertino .",
    ),
    "json.v1": (
        "b68d328bf8ee1dc3d7a3577ec490e69036049a58806189cac687d78303547fc0",
        'List the entities as a JSON array of {"type": ..., "text": ...}. Types: PER, LOC.\n'
        "Text: Steve Jobs left Cupertino .",
        'List the entities as a JSON array of {"type": ..., "text": ...}. Types: PER '
        '(a person), LOC (a place).\nText: Ann ran\nAnswer: [{"type": "PER", "text": "Ann"}]\n'
        "Text: Steve Jobs left Cupertino .",
    ),
}


# The system turn of the versions that write their own (plain, with examples and
# descriptions); every other version leaves the chat template's default.
SYSTEM = {
    "inline.v2": (
        "Copy the text, marking each entity as <TYPE>words</TYPE>. Types: PER, LOC.",
        "Copy the text, marking each entity as <TYPE>words</TYPE>. Types: PER (a person), "
        "LOC (a place).\nText: Ann ran\nAnswer: <PER>Ann</PER> ran",
    ),
}


def test_every_prompt_has_a_golden_entry():
    assert sorted(GOLDEN) == list_templates()


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden(name):
    sha, plain, full = GOLDEN[name]
    t = load_template(name)
    assert t.sha256 == sha, f"{name} was edited: released prompts are never edited"
    assert t.render(TEXT, LABELS) == plain
    assert t.render(TEXT, LABELS, EXAMPLE, describe=True) == full
    system = SYSTEM.get(name)
    assert t.has_system_turn == (system is not None)
    if system is None:
        assert t.render_system(LABELS) is None
    else:
        assert t.render_system(LABELS) == system[0]
        assert t.render_system(LABELS, EXAMPLE, describe=True) == system[1]


def test_newest_version_by_default():
    assert load_template("inline").id == "inline.v2"
    assert load_template("inline.v1").id == "inline.v1"


def _prompts(tmp_path, monkeypatch, **files):
    for name, text in files.items():
        (tmp_path / f"{name}.jinja").write_text(text)
    monkeypatch.setattr(templates, "prompts_dir", lambda: tmp_path)


def test_system_turn_cannot_use_the_sentence(tmp_path, monkeypatch):
    _prompts(
        tmp_path,
        monkeypatch,
        **{"bad.v1": "{#- answer: inline -#}\nTag {{ text }}.\n{#- turn: user -#}\n{{ text }}\n"},
    )
    with pytest.raises(InputError, match="cannot use 'text'") as err:
        load_template("bad")
    assert "bad.v1.jinja:2:" in str(err.value)


def test_one_user_turn_marker_at_most(tmp_path, monkeypatch):
    marker = "{#- turn: user -#}\n"
    _prompts(tmp_path, monkeypatch, **{"two.v1": "{#- answer: inline -#}\nA\n" + marker * 2})
    with pytest.raises(InputError, match="at most one"):
        load_template("two")


def test_packaged_prompts_point_at_top_level_folder():
    assert (REPO / "llmner" / "prompts").resolve() == (REPO / "prompts").resolve()
    assert prompts_dir().resolve() == (REPO / "prompts").resolve()
    assert 'prompts/*"' in (REPO / "pyproject.toml").read_text()


@pytest.mark.slow
def test_wheel_contains_prompts(tmp_path):
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        check=True,
    )
    (wheel,) = tmp_path.glob("llmner-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in list_templates():
        assert f"llmner/prompts/{name}.jinja" in names
