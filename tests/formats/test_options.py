"""Format options: one validated dataclass per format, read back from config.yaml."""

import dataclasses

import pytest

from llmner.config import RunConfig
from llmner.errors import InputError
from llmner.formats import FORMATS, GenerativeOptions, TaggingOptions, options_from_record


def test_registry_names_each_format_task_and_options():
    assert set(FORMATS) == {"tagging", "generative"}
    assert FORMATS["tagging"].options is TaggingOptions
    assert FORMATS["generative"].options is GenerativeOptions
    for spec in FORMATS.values():
        assert spec.format_class().name == spec.name
        assert spec.format_class().task == spec.task


@pytest.mark.parametrize(
    "cls, kwargs, message",
    [
        (TaggingOptions, {"repeat": -1}, "repeat must be 0 or more"),
        (TaggingOptions, {"repeat": 2, "echo": True}, "echo means repeat 1"),
        (TaggingOptions, {"repeat": 60, "max_length": 64}, "leaves no room"),
        (TaggingOptions, {"decode": "beam"}, "decode 'beam' is unknown"),
        (TaggingOptions, {"bidirectional": "upper:x"}, "not a layer choice"),
        (GenerativeOptions, {"alignment": "loose"}, "alignment 'loose' is unknown"),
        (GenerativeOptions, {"window_words": 0}, "window_words must be positive"),
        (GenerativeOptions, {"prompt": "nosuch"}, "nosuch"),
    ],
    ids=[
        "repeat-0",
        "echo-and-repeat",
        "repeat-too-long",
        "decode",
        "bidir",
        "align",
        "window",
        "prompt",
    ],
)
def test_bad_options_are_refused_in_one_line(cls, kwargs, message):
    with pytest.raises(InputError, match=message):
        cls(**kwargs)


def test_echo_is_repeat_one():
    assert TaggingOptions(echo=True) == TaggingOptions(repeat=1)
    assert TaggingOptions(repeat=3).copies == 4


def test_config_flags_reach_the_options_max_length_and_seed_included():
    cfg = RunConfig.of(format="generative", max_seq_length=200, seed=7, alignment="expand")
    opts = cfg.options
    assert (opts.max_length, opts.seed, opts.alignment) == (200, 7, "expand")
    assert RunConfig.of(repeat=2, max_seq_length=128).options.max_length == 128


def test_an_option_of_the_other_format_is_refused():
    with pytest.raises(InputError, match="repeat is a tagging option"):
        RunConfig.of(format="generative", repeat=2)
    with pytest.raises(InputError, match="describe_labels is a generative option"):
        RunConfig.of(format="tagging", describe_labels=True)


@pytest.mark.parametrize(
    "options",
    [
        TaggingOptions(repeat=2, decode="argmax"),
        GenerativeOptions(prompt="list", alignment="contract"),
    ],
    ids=["tagging", "generative"],
)
def test_recorded_options_read_back_equal(options):
    name = "tagging" if isinstance(options, TaggingOptions) else "generative"
    assert options_from_record(name, dataclasses.asdict(options)) == options


def test_records_written_before_options_had_an_entry_read_back():
    old_tagging = {"echo": True, "bidirectional": "none", "decode": "viterbi", "max_length": 96}
    assert options_from_record("tagging", old_tagging).repeat == 1
    old_generative = {"prompt_version": 1, "constrained": False, "examples": 0}
    opts = options_from_record("generative", old_generative, {"prompt": "inline"})
    assert (opts.prompt, opts.constrained) == ("inline.v1", False)


def test_generative_format_receives_max_length_and_seed_from_the_config():
    from llmner.data.types import LabelSet
    from llmner.formats import build_format

    cfg = RunConfig.of(format="generative", max_seq_length=200, seed=7, window_words=64)
    fmt = build_format("generative", cfg.options, LabelSet(["PER"]), None)
    assert (fmt.max_length, fmt.seed, fmt.window_words) == (200, 7, 64)
    assert fmt.describe()["max_length"] == 200
