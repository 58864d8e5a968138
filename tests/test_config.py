from pathlib import Path

import pytest

from llmner.config import FinetuneConfig, load_config, parse_args
from llmner.errors import InputError

RECIPES = Path(__file__).resolve().parents[1] / "recipes"
SPACES = sorted((RECIPES / "configs" / "sweeps").glob("*.yaml"))
CONFIGS = sorted(set((RECIPES / "configs").rglob("*.yaml")) - set(SPACES))


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(RECIPES)) for p in CONFIGS])
def test_every_shipped_config_loads(path):
    cfg = parse_args(["--config", str(path)])
    assert isinstance(cfg, FinetuneConfig)


@pytest.mark.parametrize("path", SPACES, ids=[p.name for p in SPACES])
def test_every_shipped_search_space_loads_and_builds_configs(path):
    from llmner.train.sweep import load_space

    space = load_space(path)
    assert space
    for p in space:  # each end of each range is a valid option value
        for value in p.choices or (p.low, p.high):
            FinetuneConfig.from_dict({p.name: value, "model_name_or_path": "smollm2-135m"})


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
        ({"eval_dtype": "float16"}, "eval_dtype 'float16': expected float32 or bfloat16"),
        (
            {"quantization": "4bit", "eval_dtype": "bfloat16", "eval_dequantized": False},
            "expected eval_dequantized: true",
        ),
    ],
    ids=[
        "format",
        "quantization",
        "4bit-without-lora",
        "echo-generative",
        "zero-lr",
        "eval-dtype",
        "bf16-4bit-not-dequantized",
    ],
)
def test_bad_values_are_refused_by_name(kwargs, message):
    with pytest.raises(InputError, match=message):
        FinetuneConfig(**kwargs)


def test_defaults_follow_the_model_kind_so_no_baseline_is_crippled():
    from llmner.config import FinetuneConfig

    encoder = FinetuneConfig(model_name_or_path="minilm-l6")
    assert (encoder.model_kind, encoder.quantization, encoder.use_lora) == (
        "encoder",
        "none",
        False,
    )
    decoder = FinetuneConfig(model_name_or_path="smollm2-135m")
    assert (decoder.model_kind, decoder.quantization, decoder.use_lora) == ("decoder", "4bit", True)
    explicit = FinetuneConfig(model_name_or_path="minilm-l6", use_lora=True, learning_rate=1e-4)
    assert (explicit.use_lora, explicit.learning_rate) == (True, 1e-4)


def test_model_kind_of_a_local_folder_is_read_from_its_config(tmp_path, tiny_llama_dir):
    from llmner.models.loading import model_kind

    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    assert model_kind(str(tmp_path)) == "encoder"
    assert model_kind(str(tiny_llama_dir)) == "decoder"


def test_trainer_flags_pass_through_as_hugging_face_scripts_take_them():
    from llmner.config import parse_args

    cfg = parse_args(
        [
            "--optim",
            "sgd",
            "--save_steps",
            "50",
            "--max_grad_norm",
            "0.5",
            "--report_to",
            "none",
            "--torch_compile",
            "--resume_from_checkpoint",
            "true",
        ]
    )
    assert cfg.trainer_args == {
        "optim": "sgd",
        "save_steps": 50.0,
        "max_grad_norm": 0.5,
        "report_to": "none",
        "torch_compile": True,
    }
    assert cfg.resume_from_checkpoint == "latest"
    assert cfg.to_dict()["trainer_args"]["optim"] == "sgd", "recorded in config.yaml"


def test_trainer_args_reach_trainer_and_bad_combinations_are_one_line(tmp_path):
    from llmner.config import parse_args
    from llmner.errors import InputError
    from llmner.train.run import training_arguments

    cfg = parse_args(["--optim", "adafactor", "--max_grad_norm", "0.25"])
    args = training_arguments(cfg, tmp_path, has_eval=False, bf16=False)
    assert (args.optim.value, args.max_grad_norm) == ("adafactor", 0.25)
    bad = parse_args(["--save_strategy", "steps", "--save_steps", "10"])
    with pytest.raises(InputError, match="training arguments"):
        training_arguments(bad, tmp_path, has_eval=True, bf16=False)


def test_trainer_args_in_a_yaml_config(tmp_path):
    from llmner.config import parse_args

    path = tmp_path / "c.yaml"
    path.write_text("learning_rate: 1.0e-4\noptim: adafactor\n")
    cfg = parse_args(["--config", str(path)])
    assert (cfg.learning_rate, cfg.trainer_args) == (1e-4, {"optim": "adafactor"})
