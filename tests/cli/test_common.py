"""One spelling in every ``--help``, the other accepted; errors that suggest the nearest
name; the parser built without torch."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from llmner.cli import build_parser, main
from llmner.cli.common import DTYPE_NAMES

COMMANDS = ["data check", "models", "evaluate", "predict", "serve", "merge", "combine",
            "export", "compare", "sweep"]  # fmt: skip


def _help(command: str, capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main([*command.split(), "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_shows_one_spelling(command, capsys):
    text = _help(command, capsys)
    assert text.startswith(f"usage: llmner {command}".rstrip())
    hyphenated = re.findall(r"--[a-z0-9]+(?:-[a-z0-9]+)+", text)
    assert hyphenated == [], f"llmner {command} --help shows {hyphenated}"
    assert "--adapter" not in text and "--run " not in text


def test_every_model_command_names_the_model_the_same_way(capsys):
    for command in ("evaluate", "predict", "serve", "merge", "export"):
        assert "--model FOLDER" in _help(command, capsys), command
    assert "--models FOLDER" in _help("combine", capsys)


ALIASES = [
    (["predict", "--adapter", "r", "--input", "i", "--output", "o", "--batch-size", "3",
      "--input-format", "text", "--whole-file"],
     {"model": "r", "batch_size": 3, "input_format": "text", "whole_file": True}),
    (["evaluate", "--run", "r", "--data", "d", "--batch-size", "4", "--max-samples", "2"],
     {"model": "r", "batch_size": 4, "max_samples": 2}),
    (["serve", "r", "--batch-size", "8", "--max-texts", "3", "--max-chars", "10",
      "--max-wait-ms", "1.5", "--log-level", "warning"],
     {"model_path": "r", "model": None, "batch_size": 8, "max_texts": 3, "max_chars": 10,
      "max_wait_ms": 1.5, "log_level": "warning"}),
    (["merge", "--adapter", "r", "--output", "o", "--check-sentences", "5"],
     {"model": "r", "check_sentences": 5}),
    (["combine", "--adapters", "a", "b", "--output", "o"], {"models": ["a", "b"]}),
    (["export", "--run", "r", "--output", "o", "--push-to-hub", "me/x"],
     {"model": "r", "push_to_hub": "me/x"}),
    (["data", "check", "x.conll", "--max-tokens", "10"], {"max_tokens": 10}),
]  # fmt: skip


@pytest.mark.parametrize("argv, expected", ALIASES, ids=[a[0][0] for a in ALIASES])
def test_old_names_and_hyphens_are_accepted(argv, expected):
    args, rest = build_parser().parse_known_args(argv)
    assert rest == []
    args.command_parser.check_required(args)
    assert {k: getattr(args, k) for k in expected} == expected


def test_the_shown_spelling_gives_the_same_namespace():
    old = ["predict", "--adapter", "r", "--input", "i", "--output", "o", "--batch-size", "3"]
    new = ["predict", "--model", "r", "--input", "i", "--output", "o", "--batch_size", "3"]
    parser = build_parser()
    a, b = parser.parse_known_args(old)[0], parser.parse_known_args(new)[0]
    assert vars(a) == vars(b) and a.model == "r" and a.batch_size == 3


def test_a_required_option_given_in_no_spelling_is_refused(capsys):
    with pytest.raises(SystemExit) as e:
        main(["export", "--output", "o"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: llmner export")
    assert "llmner export: error: the following arguments are required: --model" in err


@pytest.mark.parametrize(
    "argv, says",
    [
        (["predcit"], "did you mean 'predict'?"),
        (["predict", "--model", "r", "--input", "i", "--output", "o", "--batchsize", "3"],
         "unrecognized arguments: --batchsize 3; did you mean --batch_size?"),
        (["evaluate", "--model", "r", "--data", "d", "--batch-sise", "3"],
         "did you mean --batch_size?"),
        (["combine", "--models", "a", "b", "--output", "o", "--method", "tie"],
         "did you mean 'ties'?"),
        (["models", "--verbose"], "unrecognized arguments: --verbose"),
    ],
    ids=["command", "flag", "hyphen-flag", "choice", "no-suggestion"],
)  # fmt: skip
def test_a_wrong_name_shows_the_subcommands_usage_and_the_nearest_name(argv, says, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert says in err
    usage = "usage: llmner " + ("" if argv[0] == "predcit" else argv[0])
    assert err.startswith(usage), err


def test_abbreviations_are_refused_not_guessed(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--model", "r", "--input", "i", "--output", "o", "--batch", "3"])
    assert "did you mean --batch_size?" in capsys.readouterr().err


def test_names_repeated_for_a_light_parser_agree_with_the_library():
    from llmner.adapters.combine import METHODS
    from llmner.cli import combine
    from llmner.models.quantization import EVAL_DTYPE_NAMES

    assert tuple(EVAL_DTYPE_NAMES) == DTYPE_NAMES
    assert tuple(METHODS) == combine.METHODS


def test_help_and_argument_errors_import_no_torch():
    code = (
        "import sys\n"
        "from llmner.cli import main\n"
        "try:\n"
        "    main(['predict', '--bogus'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('torch' in sys.modules, 'transformers' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["False", "False"], done.stderr
