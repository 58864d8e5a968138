"""``llmner merge / combine / export / predict`` from the command line."""

from __future__ import annotations

import json

import pytest
from adapters.tiny_runs import TINY_CONLL, tiny_run

from llmner.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_llama_dir):
    return tiny_run(tmp_path_factory, tiny_llama_dir, "fp32")


def test_merge_combine_export_predict(run_dir, tmp_path, capsys):
    assert (
        main(
            [
                "merge",
                "--adapter",
                str(run_dir / "adapter"),
                "--output",
                str(tmp_path / "merged"),
                "--dtype",
                "float32",
            ]
        )
        == 0
    )
    assert (tmp_path / "merged" / "config.json").exists()
    # --check auto: the run's own test file, readable here
    out = capsys.readouterr().out
    assert "checked on 12 sentences: 12 identical, entity agreement 1.0" in out, out
    assert (
        main(
            [
                "combine",
                "--adapters",
                str(run_dir),
                str(run_dir),
                "--weights",
                "0.5",
                "0.5",
                "--method",
                "cat",
                "--output",
                str(tmp_path / "comb"),
            ]
        )
        == 0
    )
    assert main(["export", "--run", str(run_dir), "--output", str(tmp_path / "exp")]) == 0
    assert (tmp_path / "exp" / "SHA256SUMS").exists()
    text = tmp_path / "in.txt"
    text.write_text("Marta Olsen opened a bakery in Oslo.\n")
    for folder in ("merged", "comb", "exp"):
        out = tmp_path / f"{folder}.jsonl"
        assert (
            main(
                [
                    "predict",
                    "--adapter",
                    str(tmp_path / folder),
                    "--input",
                    str(text),
                    "--output",
                    str(out),
                ]
            )
            == 0
        )
        assert json.loads(out.read_text())["text"] == text.read_text().strip()
    out = tmp_path / "tags.conll"
    assert (
        main(
            ["predict", "--adapter", str(run_dir), "--input", str(TINY_CONLL), "--output", str(out)]
        )
        == 0
    )
    assert len(out.read_text().split("\n")[0].split()) == 3


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["predict", "--adapter", "{run}", "--input", "{tmp}/none.txt", "--output", "{tmp}/o"],
            "no such file",
        ),
        (
            ["predict", "--adapter", "{tmp}", "--input", "{conll}", "--output", "{tmp}/o"],
            "not an llmner model",
        ),
        (["merge", "--adapter", "{tmp}/missing", "--output", "{tmp}/m"], "no such folder"),
        (
            ["merge", "--adapter", "{run}", "--output", "{tmp}/m", "--check", "{tmp}/none.conll"],
            "none.conll",
        ),
        (["combine", "--adapters", "{run}", "--output", "{tmp}/c"], "at least two"),
    ],
    ids=["missing-input", "not-a-model", "missing-adapter", "missing-check", "one-adapter"],
)
def test_input_errors_are_one_line_exit_2(argv, message, run_dir, tmp_path, capsys):
    argv = [a.format(run=run_dir, tmp=tmp_path, conll=TINY_CONLL) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_export_push_offline_exit_2_folder_intact(run_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "exp"
    assert (
        main(["export", "--run", str(run_dir), "--output", str(out), "--push-to-hub", "me/tiny"])
        == 2
    )
    err = capsys.readouterr().err
    assert "offline" in err and err.count("\n") == 1
    from llmner.adapters.export import verify_sums

    assert verify_sums(out) == []
