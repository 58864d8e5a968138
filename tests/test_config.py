from pathlib import Path

import pytest

from llmner.config import FinetuneConfig, load_config, parse_args
from llmner.errors import InputError

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
CONFIGS = sorted((RECIPES / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(RECIPES)) for p in CONFIGS])
def test_every_shipped_config_loads(path):
    cfg = parse_args(["--config", str(path)])
    assert isinstance(cfg, FinetuneConfig)


def test_command_line_overrides_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("learning_rate: 1.0e-3\nformat: tagging\necho: true\n")
    cfg = parse_args(["--config", str(path), "--learning_rate", "2e-4"])
    assert cfg.learning_rate == 2e-4 and cfg.echo is True


def test_unknown_key_names_file_and_line(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("format: tagging\nlearnin_rate: 1\n")
    with pytest.raises(InputError, match=r"c.yaml:2: unknown option 'learnin_rate'"):
        load_config(path)


def test_missing_config_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"format": "span"}, "format 'span' is unknown"),
        ({"quantization": "3bit"}, "quantization '3bit'"),
        ({"quantization": "4bit", "use_lora": False}, "only be trained with LoRA"),
        ({"format": "generative", "echo": True}, "echo is a tagging option"),
        ({"learning_rate": 0}, "learning_rate must be positive"),
    ],
    ids=["format", "quantization", "4bit-without-lora", "echo-generative", "zero-lr"],
)
def test_bad_values_are_refused_by_name(kwargs, message):
    with pytest.raises(InputError, match=message):
        FinetuneConfig(**kwargs)
