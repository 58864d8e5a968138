"""Atomic writes of files and folders, and reading a user's text file."""

from __future__ import annotations

import importlib

import pytest

from llmner.errors import InputError
from llmner.io import atomic_dir, atomic_file, read_input_text, write_json_atomic


def _names(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_atomic_dir_replaces_a_folder_that_holds_files(tmp_path):
    target = tmp_path / "adapter"
    target.mkdir()
    (target / "old.bin").write_text("old")
    with atomic_dir(target) as tmp:
        assert tmp.parent == tmp_path and tmp != target and not any(tmp.iterdir())
        (tmp / "new.bin").write_text("new")
        assert (target / "old.bin").exists(), "the old folder stays until the block ends"
    assert _names(target) == ["new.bin"]
    assert _names(tmp_path) == ["adapter"], "no temporary or old folder left behind"
    assert target.stat().st_mode & 0o777 == 0o755


def test_atomic_dir_leaves_the_target_as_it_was_when_writing_fails(tmp_path):
    target = tmp_path / "adapter"
    target.mkdir()
    (target / "old.bin").write_text("old")
    with pytest.raises(RuntimeError, match="killed"), atomic_dir(target) as tmp:
        (tmp / "half.bin").write_text("half")
        raise RuntimeError("killed")
    assert _names(target) == ["old.bin"]
    assert _names(tmp_path) == ["adapter"]


def test_atomic_dir_creates_the_parent(tmp_path):
    with atomic_dir(tmp_path / "a" / "b" / "model") as tmp:
        (tmp / "config.json").write_text("{}")
    assert (tmp_path / "a" / "b" / "model" / "config.json").read_text() == "{}"


def test_atomic_dir_keep_existing_keeps_what_another_process_wrote(tmp_path):
    target = tmp_path / "converted"
    with atomic_dir(target, keep_existing=True) as tmp:
        (tmp / "mine").write_text("mine")
        target.mkdir()  # another process finishes first
        (target / "theirs").write_text("theirs")
    assert _names(target) == ["theirs"]
    assert _names(tmp_path) == ["converted"]


def test_atomic_file_replaces_on_success_and_cleans_up_on_failure(tmp_path):
    path = tmp_path / "predictions.conll"
    write_json_atomic(path, {"a": 1})
    with pytest.raises(ValueError), atomic_file(path) as tmp:
        tmp.write_text("half")
        raise ValueError
    assert path.read_text() == '{\n  "a": 1\n}'
    assert _names(tmp_path) == ["predictions.conll"]


@pytest.mark.parametrize(
    "content, message, line",
    [
        (None, "no such file; expected a CoNLL column file", None),
        (b"", "the file is empty; expected CoNLL sentences", None),
        (b"  \n\n", "the file is empty; expected CoNLL sentences", None),
        (b"EU B-ORG\n\xff O\n", "not UTF-8", 2),
    ],
    ids=["missing", "empty", "blank", "not-utf8"],
)
def test_read_input_text_names_the_file_and_line(tmp_path, content, message, line):
    path = tmp_path / "train.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as err:
        read_input_text(path, "a CoNLL column file", "CoNLL sentences")
    assert err.value.path == str(path) and err.value.line == line


def test_read_input_text_drops_the_byte_order_mark(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_bytes("\ufeff{}\r\n".encode())
    assert read_input_text(path, "a JSONL file", "JSON records") == "{}\r\n"


@pytest.mark.parametrize(
    "module, reader, target",
    [
        ("llmner.config", "load_config", "config.yaml"),
        ("llmner.rundir", "read_config", ""),
        ("llmner.train.sweep", "load_space", "config.yaml"),
        ("llmner.rundir.source", "locate", ""),
    ],
    ids=["config", "run-config", "search-space", "model-source"],
)
def test_every_yaml_reader_names_the_file_the_line_and_the_problem(
    tmp_path, module, reader, target
):
    (tmp_path / "adapter").mkdir()
    (tmp_path / "adapter" / "adapter_config.json").write_text("{}")
    (tmp_path / "config.yaml").write_text("seed: 1\nlearning_rate: a: b\n")
    read = getattr(importlib.import_module(module), reader)
    with pytest.raises(InputError) as e:
        read(tmp_path / target)
    assert str(e.value) == (
        f"{tmp_path / 'config.yaml'}:2: not valid YAML (mapping values are not allowed here)"
    )
