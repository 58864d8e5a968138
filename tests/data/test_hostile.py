"""``llmner data check`` on each file of tests/assets/hostile: legitimate oddities read,
malformed input gives one line naming the file and line, exit status 2, no traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llmner.cli import main

HOSTILE = Path(__file__).parents[1] / "assets" / "hostile"

# file, extra arguments, expected: None (reads) or (line, words the message must hold)
CASES = {
    "crlf": ("crlf.conll", [], None),
    "bom": ("bom.conll", [], None),
    "mixed-tab-space": ("mixed_tab_space.conll", [], None),
    "no-final-blank-line": ("no_final_blank_line.conll", [], None),
    "i-after-o-repaired": ("i_after_o.conll", [], None),
    "i-after-o-strict": ("i_after_o.conll", ["--strict"], (2, "invalid transition from 'O'")),
    "wrong-column-count": ("wrong_column_count.conll", [], (3, "expected 3 columns")),
    "one-column": ("one_column.conll", [], (2, "expected a token and a tag")),
    "unknown-tag": ("unknown_tag.conll", [], (3, "unknown tag 'LOCATION'")),
    "undecodable-bytes": ("undecodable.conll", [], (3, "not UTF-8")),
    "empty-file": ("empty.conll", [], (None, "empty")),
    "blank-lines-only": ("blank_lines_only.conll", [], (None, "empty")),
    "jsonl-overlap": ("overlapping_spans.jsonl", [], (2, "overlaps span 0..8 'New York'")),
    "jsonl-out-of-range": ("offsets_out_of_range.jsonl", [], (1, "out of range")),
    "jsonl-split-word": ("offsets_split_word.jsonl", [], (2, "splits the word 'Londoners'")),
    "jsonl-label-not-in-set": (
        "label_not_in_set.jsonl",
        ["--labels", "PER,LOC"],
        (1, "label 'CITY'"),
    ),
    "jsonl-invalid-json": ("invalid_json.jsonl", [], (2, "invalid JSON")),
    "jsonl-missing-text": ("missing_text.jsonl", [], (1, 'missing "text"')),
}


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file(name, capsys):
    filename, extra, expected = CASES[name]
    path = str(HOSTILE / filename)
    status = main(["data", "check", path, *extra])
    out, err = capsys.readouterr()
    if expected is None:
        assert status == 0, err
        assert filename in out and err == ""
        return
    line, words = expected
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    where = path if line is None else f"{path}:{line}"
    assert f"{where}: " in err and words in err


def test_legitimate_oddities_read_the_same_as_clean_text(capsys):
    report = [
        main(["data", "check", str(HOSTILE / f), "--json"])
        for f in ("crlf.conll", "bom.conll", "no_final_blank_line.conll")
    ]
    assert report == [0, 0, 0]
    from llmner.data.conll import read_conll

    expected = [(s.tokens, s.tags) for s in read_conll(HOSTILE / "crlf.conll")]
    assert expected == [
        (["Ann", "Smith", "visited", "Oslo", "."], ["B-PER", "I-PER", "O", "B-LOC", "O"]),
        (["Bo", "slept"], ["B-PER", "O"]),
    ]
    for f in ("bom.conll", "no_final_blank_line.conll"):
        assert [(s.tokens, s.tags) for s in read_conll(HOSTILE / f)] == expected


def test_repair_is_reported(capsys):
    assert main(["data", "check", str(HOSTILE / "i_after_o.conll")]) == 0
    out = capsys.readouterr().out
    assert "1 invalid transitions repaired" in out
    assert "i_after_o.conll:2: I-PER -> B-PER" in out


@pytest.mark.parametrize("name", ["unknown-tag", "jsonl-split-word"])
def test_subprocess_exit_status_and_one_line(name):
    filename, extra, (line, words) = CASES[name]
    path = str(HOSTILE / filename)
    proc = subprocess.run(
        [sys.executable, "-m", "llmner", "data", "check", path, *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert f"{path}:{line}: " in proc.stderr and words in proc.stderr


def test_debug_shows_the_traceback():
    with pytest.raises(Exception, match="unknown tag"):
        main(["--debug", "data", "check", str(HOSTILE / "unknown_tag.conll")])
