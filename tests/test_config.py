from pathlib import Path

import pytest
import yaml

from llmner.config import RunConfig, load_config, parse_args, resolve_defaults
from llmner.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "recipes"
SPACES = sorted((RECIPES / "configs" / "sweeps").glob("*.yaml"))
CONFIGS = sorted(set((RECIPES / "configs").rglob("*.yaml")) - set(SPACES))
RECORDS = sorted((RECIPES / "results").rglob("config.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[str(p.relative_to(RECIPES)) for p in CONFIGS])
def test_every_shipped_config_loads(path):
    cfg = parse_args(["--config", str(path)])
    assert isinstance(cfg, RunConfig)
    assert cfg.options.max_length == cfg.data.max_seq_length


@pytest.mark.parametrize("path", RECORDS, ids=[str(p.relative_to(RECIPES)) for p in RECORDS])
def test_every_committed_run_config_loads_into_the_groups(path):
    record = yaml.safe_load(path.read_text())
    if "labels" not in record:  # a spaCy peer's or an evaluation's record: no options
        pytest.skip("not a fine-tuning run")
    cfg = RunConfig.from_dict(record, record=True)
    from llmner.rundir import flat_config

    flat = flat_config(record)
    assert cfg.model.model_name_or_path == flat["model_name_or_path"]
    assert cfg.training.seed == flat["seed"]
    if flat.get("repeat") or (flat.get("format_options") or {}).get("repeat"):
        assert cfg.options.repeat == (flat.get("repeat") or flat["format_options"]["repeat"])


@pytest.mark.parametrize("path", SPACES, ids=[p.name for p in SPACES])
def test_every_shipped_search_space_loads_and_builds_configs(path):
    from llmner.train.sweep import load_space

    space = load_space(path)
    assert space
    for p in space:  # each end of each range is a valid option value
        for value in p.choices or (p.low, p.high):
            RunConfig.from_dict({p.name: value, "model_name_or_path": "smollm2-135m"})


def test_command_line_overrides_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("learning_rate: 1.0e-3\nformat: tagging\necho: true\n")
    cfg = parse_args(["--config", str(path), "--learning_rate", "2e-4"])
    assert cfg.training.learning_rate == 2e-4 and cfg.options.repeat == 1


def test_a_yaml_and_the_same_flags_give_equal_configurations(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "model:\n  model_name_or_path: smollm2-135m\n  lora_r: 8\n"
        "data:\n  max_train_samples: 50\n"
        "training:\n  learning_rate: 1.0e-3\n  optim: adafactor\n  num_train_epochs: 2\n"
        "format_options:\n  repeat: 2\n"
    )
    flags = ["--model_name_or_path", "smollm2-135m", "--lora_r", "8", "--max_train_samples",
             "50", "--learning_rate", "1e-3", "--optim", "adafactor", "--num_train_epochs",
             "2", "--repeat", "2"]  # fmt: skip
    from_file, from_flags = parse_args(["--config", str(path)]), parse_args(flags)
    assert from_file.to_dict() == from_flags.to_dict()
    assert from_file.options.repeat == 2 and from_file.model.lora_r == 8


def test_unknown_key_names_file_line_and_the_closest_option(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("format: tagging\nlearnin_rate: 1\n")
    with pytest.raises(InputError, match=r"c.yaml:2: unknown option 'learnin_rate'; did you mean"):
        load_config(path)


def test_unknown_flag_suggests_the_closest_option():
    with pytest.raises(InputError, match="'--learning_rte'; did you mean 'learning_rate'"):
        parse_args(["--learning_rte", "1e-4"])


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
        ({"format": "tagging", "prompt": "inline"}, "prompt is a generative option"),
        ({"learning_rate": 0}, "learning_rate must be positive"),
        ({"eval_dtype": "float16"}, "eval_dtype 'float16': expected float32 or bfloat16"),
        ({"save_strategy": "steps", "eval_strategy": "epoch"}, "training arguments: "),
        ({"lr_scheduler_type": "wobbly"}, "training arguments: "),
    ],
    ids=[
        "format",
        "quantization",
        "4bit-without-lora",
        "echo-generative",
        "prompt-tagging",
        "zero-lr",
        "eval-dtype",
        "trainer-combination",
        "trainer-value",
    ],  # fmt: skip
)
def test_bad_values_are_refused_by_name(kwargs, message):
    with pytest.raises(InputError, match=message):
        RunConfig.of(**kwargs)


def test_defaults_follow_the_model_kind_and_are_recorded():
    encoder = resolve_defaults(RunConfig.of(model_name_or_path="minilm-l6"))
    assert (encoder.model.model_kind, encoder.model.quantization, encoder.model.use_lora) == (
        "encoder",
        "none",
        False,
    )
    assert encoder.options.repeat == 0
    decoder = resolve_defaults(RunConfig.of(model_name_or_path="smollm2-135m"))
    assert (decoder.model.quantization, decoder.model.use_lora) == ("4bit", True)
    assert (decoder.options.repeat, decoder.model.lora_dropout) == (1, 0.0)
    assert decoder.to_dict()["defaults_applied"]["repeat"] == 1
    causal = resolve_defaults(RunConfig.of(model_name_or_path="smollm2-135m", repeat=0))
    assert causal.options.repeat == 0 and "repeat" not in causal.defaults_applied
    explicit = resolve_defaults(
        RunConfig.of(model_name_or_path="minilm-l6", use_lora=True, learning_rate=1e-4)
    )
    assert (explicit.model.use_lora, explicit.training.learning_rate) == (True, 1e-4)
    with pytest.raises(InputError, match="only be trained with LoRA"):
        resolve_defaults(RunConfig.of(model_name_or_path="minilm-l6", quantization="4bit"))


def test_model_kind_of_a_local_folder_is_read_from_its_config(tmp_path, tiny_llama_dir):
    from llmner.models.loading import model_kind

    (tmp_path / "config.json").write_text('{"model_type": "bert"}')
    assert model_kind(str(tmp_path)) == "encoder"
    assert model_kind(str(tiny_llama_dir)) == "decoder"


TEN_OPTIONS = {
    "optim": ("adafactor", lambda a: a.optim.value),
    "max_grad_norm": ("0.25", lambda a: a.max_grad_norm),
    "adam_beta2": ("0.98", lambda a: a.adam_beta2),
    "weight_decay": ("0.01", lambda a: a.weight_decay),
    "lr_scheduler_type": ("cosine", lambda a: a.lr_scheduler_type.value),
    "save_total_limit": ("5", lambda a: a.save_total_limit),
    "logging_steps": ("3", lambda a: a.logging_steps),
    "label_smoothing_factor": ("0.1", lambda a: a.label_smoothing_factor),
    "dataloader_drop_last": ("true", lambda a: a.dataloader_drop_last),
    "num_train_epochs": ("4", lambda a: a.num_train_epochs),
}


def test_each_trainer_option_reaches_trainer_unchanged(tmp_path):
    from llmner.train.run import training_arguments

    flags = [x for name, (value, _) in TEN_OPTIONS.items() for x in (f"--{name}", value)]
    cfg = resolve_defaults(parse_args(flags))
    args = training_arguments(cfg, tmp_path, has_eval=True, bf16=False)
    expected = {"optim": "adafactor", "max_grad_norm": 0.25, "adam_beta2": 0.98,
                "weight_decay": 0.01, "lr_scheduler_type": "cosine", "save_total_limit": 5,
                "logging_steps": 3, "label_smoothing_factor": 0.1,
                "dataloader_drop_last": True, "num_train_epochs": 4}  # fmt: skip
    assert {name: get(args) for name, (_, get) in TEN_OPTIONS.items()} == expected
    assert args.output_dir == str(tmp_path / "checkpoints")
    assert cfg.to_dict()["training"]["optim"] == "adafactor", "recorded in config.yaml"


def test_a_run_without_validation_does_not_evaluate_or_keep_the_best(tmp_path):
    from llmner.train.run import training_arguments

    args = training_arguments(resolve_defaults(parse_args([])), tmp_path, has_eval=False)
    assert (args.eval_strategy.value, args.load_best_model_at_end) == ("no", False)


def test_resume_latest_is_trainers_word(tmp_path):
    assert parse_args(["--resume_from_checkpoint", "true"]).training.resume_from_checkpoint == (
        "latest"
    )


def test_older_flat_configs_with_trainer_args_and_warmup_ratio_still_load():
    old = {"model_name_or_path": "m", "format": "tagging", "echo": True, "warmup_ratio": 0.1,
           "trainer_args": {"optim": "sgd"}, "labels": {"types": ["PER"]},
           "format_options": {"echo": True, "max_length": 128}, "max_seq_length": 128}  # fmt: skip
    cfg = RunConfig.from_dict(old, record=True)
    assert (cfg.training.warmup_steps, cfg.training.optim.value) == (0.1, "sgd")
    assert (cfg.options.repeat, cfg.options.max_length) == (1, 128)
    causal = RunConfig.from_dict({**old, "echo": False, "format_options": {}}, record=True)
    assert causal.options.repeat == 0, "a recorded run is never given the decoder default"


def test_no_option_is_declared_in_two_groups():
    import dataclasses

    from llmner.config import DataArguments, ModelArguments, NERTrainingArguments
    from llmner.config.run import format_option_names

    groups = [ModelArguments, DataArguments, NERTrainingArguments]
    seen: dict[str, str] = {}
    for cls in groups:
        for f in dataclasses.fields(cls):
            assert f.name not in seen, f"{f.name} in {seen.get(f.name)} and {cls.__name__}"
            seen[f.name] = cls.__name__
    for fmt in ("tagging", "generative"):
        assert not format_option_names(fmt) & set(seen), fmt
