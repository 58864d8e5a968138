"""``llmner data check``: the table, the JSON, and the argument errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmner.cli import main

ASSETS = Path(__file__).parents[1] / "assets"
TINY = str(ASSETS / "tiny.conll")


def test_table(capsys):
    assert main(["data", "check", TINY, str(ASSETS / "tiny.jsonl"), "--max-tokens", "10"]) == 0
    out = capsys.readouterr().out
    header, first = out.splitlines()[:2]
    assert header.split()[:4] == ["split", "sentences", "tokens", "entities"]
    assert first.split()[:4] == [TINY, "12", "99", "22"]
    assert "sentences over 10 tokens" in out
    assert "entities per type:" in out


def test_json(capsys):
    assert main(["data", "check", TINY, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    split = report["splits"][0]
    assert (split["sentences"], split["entities"]) == (12, {"LOC": 8, "ORG": 6, "PER": 8})
    assert report["max_tokens"] == 128 and report["shared"] == {}


def test_bundled_dataset_json(capsys):
    assert main(["data", "check", "wnut17", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["sentences"] for s in report["splits"]] == [3394, 1009, 1287]
    assert report["inconsistent_total"] > 0 and report["inconsistent"][0]["examples"]


def test_missing_file_and_unknown_name(capsys, tmp_path):
    assert main(["data", "check", str(tmp_path / "nope.conll")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nope.conll: no such file" in err


def test_data_without_action_is_a_usage_error():
    with pytest.raises(SystemExit) as e:
        main(["data"])
    assert e.value.code == 2
