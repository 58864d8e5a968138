"""Every subcommand: a missing or wrong model folder, an output that cannot be written, an
unknown flag: one line (or the subcommand's usage) and exit status 2, before any model
loads."""

from __future__ import annotations

import pytest
from adapters.tiny_runs import TINY_CONLL, tiny_run

from llmner.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, tiny_llama_dir):
    return tiny_run(tmp_path_factory, tiny_llama_dir, "fp32")


@pytest.fixture
def loads(monkeypatch):
    """Every model load in this process, refused and counted."""
    from transformers import PreTrainedModel

    calls = []

    def refuse(cls, *args, **kwargs):
        calls.append(cls.__name__)
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(PreTrainedModel, "from_pretrained", classmethod(refuse))
    return calls


@pytest.fixture
def places(tmp_path, run_dir):
    (tmp_path / "a_file").write_text("x")
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("x")
    (tmp_path / "empty").mkdir()
    return {
        "run": run_dir,
        "tmp": tmp_path,
        "file": tmp_path / "a_file",
        "full": full,
        "empty": tmp_path / "empty",
        "conll": TINY_CONLL,
    }


NO_SUCH = "no such folder; expected a run directory, adapter or model folder"
NO_MODEL = "not an llmner model"
UNDER_FILE = "a_file is a file; expected a folder to write into"
NOT_EMPTY = "the output folder exists and is not empty"

CASES = {
    # evaluate
    "evaluate-missing-model": (["evaluate", "--model", "{tmp}/nope", "--data", "{conll}"], NO_SUCH),
    "evaluate-not-a-model": (["evaluate", "--model", "{empty}", "--data", "{conll}"], NO_MODEL),
    "evaluate-output-under-a-file": (
        ["evaluate", "--model", "{run}", "--data", "{conll}", "--output", "{file}/out"],
        UNDER_FILE,
    ),
    "evaluate-output-is-a-file": (
        ["evaluate", "--model", "{run}", "--data", "{conll}", "--output", "{file}"],
        "is a file; expected a folder to write",
    ),
    "evaluate-two-outputs": (
        ["evaluate", "--model", "{run}", "--data", "{conll}", "--output", "{tmp}/o", "--into_run"],
        "give one",
    ),
    # predict
    "predict-missing-model": (
        ["predict", "--model", "{tmp}/nope", "--input", "{conll}", "--output", "{tmp}/p.jsonl"],
        NO_SUCH,
    ),
    "predict-not-a-model": (
        ["predict", "--model", "{empty}", "--input", "{conll}", "--output", "{tmp}/p.jsonl"],
        NO_MODEL,
    ),
    "predict-missing-input": (
        ["predict", "--model", "{run}", "--input", "{tmp}/none.txt", "--output", "{tmp}/p"],
        "no such file",
    ),
    "predict-output-under-a-file": (
        ["predict", "--model", "{run}", "--input", "{conll}", "--output", "{file}/p.jsonl"],
        UNDER_FILE,
    ),
    "predict-output-is-a-folder": (
        ["predict", "--model", "{run}", "--input", "{conll}", "--output", "{empty}"],
        "is a folder; expected a file to write",
    ),
    # serve
    "serve-missing-model": (["serve", "--model", "{tmp}/nope"], NO_SUCH),
    "serve-missing-model-positional": (["serve", "{tmp}/nope"], NO_SUCH),
    "serve-not-a-model": (["serve", "--model", "{empty}"], NO_MODEL),
    # merge
    "merge-missing-model": (["merge", "--model", "{tmp}/nope", "--output", "{tmp}/m"], NO_SUCH),
    "merge-not-a-model": (["merge", "--model", "{empty}", "--output", "{tmp}/m"], NO_MODEL),
    "merge-output-not-empty": (["merge", "--model", "{run}", "--output", "{full}"], NOT_EMPTY),
    "merge-output-under-a-file": (
        ["merge", "--model", "{run}", "--output", "{file}/m"],
        UNDER_FILE,
    ),
    "merge-missing-check": (
        ["merge", "--model", "{run}", "--output", "{tmp}/m", "--check", "{tmp}/none.conll"],
        "none.conll",
    ),
    # combine
    "combine-missing-model": (
        ["combine", "--models", "{run}", "{tmp}/nope", "--output", "{tmp}/c"],
        NO_SUCH,
    ),
    "combine-not-a-model": (
        ["combine", "--models", "{run}", "{empty}", "--output", "{tmp}/c"],
        NO_MODEL,
    ),
    "combine-output-under-a-file": (
        ["combine", "--models", "{run}", "{run}", "--output", "{file}/c"],
        UNDER_FILE,
    ),
    "combine-one-model": (["combine", "--models", "{run}", "--output", "{tmp}/c"], "at least two"),
    # export
    "export-missing-model": (["export", "--model", "{tmp}/nope", "--output", "{tmp}/e"], NO_SUCH),
    "export-not-a-model": (["export", "--model", "{empty}", "--output", "{tmp}/e"], NO_MODEL),
    "export-output-not-empty": (["export", "--model", "{run}", "--output", "{full}"], NOT_EMPTY),
    "export-output-under-a-file": (
        ["export", "--model", "{run}", "--output", "{file}/e"],
        UNDER_FILE,
    ),
    # compare, data check, sweep
    "compare-missing-run": (
        ["compare", "{run}", "{tmp}/nope", "--output", "{tmp}/r"],
        "no such folder; expected a run directory",
    ),
    "compare-output-under-a-file": (["compare", "{run}", "--output", "{file}/r"], UNDER_FILE),
    "data-check-unknown-name": (
        ["data", "check", "bc5cd"],
        "bundled dataset (bc5cdr, wnut17); did you mean bc5cdr?",
    ),
    "sweep-missing-config": (
        ["sweep", "--config", "{tmp}/none.yaml", "--space", "{tmp}/none.yaml"],
        "none.yaml: config file not found",
    ),
}


@pytest.mark.parametrize("argv, message", list(CASES.values()), ids=list(CASES))
def test_one_line_exit_2_and_no_model_loaded(argv, message, places, loads, capsys):
    argv = [a.format(**places) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    prog = "llmner data check" if argv[0] == "data" else f"llmner {argv[0]}"
    assert err.startswith(f"{prog}: error: ") and err.count("\n") == 1, err
    assert message in err, err
    assert loads == []


def test_a_mistyped_folder_is_not_taken_for_a_hub_id(places, loads, capsys, monkeypatch):
    """``runs/nope`` where ``runs/`` exists: a missing folder, not a repository to fetch."""
    monkeypatch.chdir(places["tmp"])
    (places["tmp"] / "runs").mkdir()
    argv = ["predict", "--model", "runs/nope", "--input", str(TINY_CONLL), "--output", "p.jsonl"]
    assert main(argv) == 2
    assert capsys.readouterr().err == f"llmner predict: error: runs/nope: {NO_SUCH}\n"


def test_a_hub_id_offline_is_one_line(places, loads, capsys, monkeypatch):
    """Offline, only the local cache is asked (here empty), and its miss is one line."""
    import huggingface_hub
    from huggingface_hub.errors import LocalEntryNotFoundError

    asked = []

    def cache_only(repo_id, **kwargs):
        asked.append(kwargs.get("local_files_only"))
        raise LocalEntryNotFoundError("not in the cache")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", cache_only)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(places["tmp"])
    assert main(["serve", "--model", "someone/tagger"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "someone/tagger: no such folder, and not in the local" in err
    assert asked == [True]


NEEDS = {
    "data": ["data", "check", "{conll}"],
    "models": ["models"],
    "evaluate": ["evaluate", "--model", "{run}", "--data", "{conll}"],
    "predict": ["predict", "--model", "{run}", "--input", "{conll}", "--output", "{tmp}/p"],
    "serve": ["serve", "--model", "{run}"],
    "merge": ["merge", "--model", "{run}", "--output", "{tmp}/m"],
    "combine": ["combine", "--models", "{run}", "{run}", "--output", "{tmp}/c"],
    "export": ["export", "--model", "{run}", "--output", "{tmp}/e"],
    "compare": ["compare", "{run}", "--output", "{tmp}/r"],
}


@pytest.mark.parametrize("command", list(NEEDS))
def test_an_unknown_flag_shows_the_subcommands_usage(command, places, loads, capsys):
    argv = [a.format(**places) for a in NEEDS[command]] + ["--bogus_flag=1"]
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    prog = "llmner data check" if command == "data" else f"llmner {command}"
    assert err.startswith(f"usage: {prog} ")
    assert f"{prog}: error: unrecognized arguments: --bogus_flag=1" in err
    assert loads == []


def test_sweep_refuses_an_unknown_flag_in_one_line(places, loads, capsys):
    config = places["tmp"] / "c.yaml"
    config.write_text(f"model_name_or_path: x\ntrain_file: {TINY_CONLL}\n")
    argv = ["sweep", "--config", str(config), "--space", str(config), "--bogus_flag", "1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("llmner sweep: error: ") and "--bogus_flag" in err
    assert loads == []
