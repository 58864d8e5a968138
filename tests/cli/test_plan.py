"""``llmner plan``: every shipped config of the named families is sized offline; a config
that cannot fit says what would; a model with no shape, a missing config or a bad size is
one line and exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from llmner.cli import main
from llmner.models.memory import estimate

REPO = Path(__file__).resolve().parents[2]
FAMILIES = ("llama-3.1-8b", "mistral-7b-v0.3", "qwen2.5-7b", "llama-3.2-1b")
CONFIGS = sorted(p for f in FAMILIES for p in (REPO / "recipes" / "configs" / f).glob("*.yaml"))


def _plan(capsys, *argv) -> tuple[int, str, str]:
    status = main(["plan", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_each_family_has_a_tagging_and_a_generative_config():
    for family in FAMILIES:
        names = {p.name for p in CONFIGS if p.parent.name == family}
        assert names == {"tagging_repeat4_qlora.yaml", "generative_qlora.yaml"}


@pytest.mark.parametrize("path", CONFIGS, ids=[f"{p.parent.name}/{p.name}" for p in CONFIGS])
def test_every_family_config_is_sized_offline_and_says_how_to_launch(path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    text = path.read_text(encoding="utf-8")
    assert "recipes/accelerate/" in text and "arXiv" in text  # launch line, cited recipe
    status, out, _ = _plan(capsys, "--config", str(path), "--json")
    assert status == 0
    record = json.loads(out)
    assert record["shape_source"].startswith("llmner's registry")
    assert [c["card"] for c in record["cards"]] == ["24GB", "48GB", "80GB"]
    assert all(c["largest_batch"] >= 1 for c in record["cards"][1:])  # 48 and 80 GB
    batches = [c["largest_batch"] for c in record["cards"]]
    assert batches == sorted(batches)
    config = yaml.safe_load(text)
    assert record["setup"]["lora_r"] == config["lora_r"]
    assert record["setup"]["seq_len"] == config["max_seq_length"]


def test_the_json_estimate_is_the_library_estimate(capsys):
    from llmner.cli.plan import setup_for
    from llmner.config import parse_args

    path = REPO / "recipes/configs/llama-3.1-8b/tagging_repeat4_qlora.yaml"
    status, out, _ = _plan(capsys, "--config", str(path), "--json")
    shape, _, setup = setup_for(parse_args(["--config", str(path)]))
    assert status == 0
    assert json.loads(out)["estimate"]["total"] == estimate(shape, setup).total
    assert setup.checkpointing and setup.targets == ("q_proj", "k_proj", "v_proj", "o_proj")


def test_flags_override_the_config_and_a_shorter_sentence_shortens_the_step(capsys):
    path = str(REPO / "recipes/configs/mistral-7b-v0.3/tagging_repeat4_qlora.yaml")
    _, out, _ = _plan(capsys, "--config", path, "--json", "--sentence_tokens", "40")
    assert json.loads(out)["setup"]["seq_len"] == 5 * 40 + 4  # repeat 4: five copies
    _, out, _ = _plan(capsys, "--config", path, "--json", "--per_device_train_batch_size", "2")
    assert json.loads(out)["setup"]["batch"] == 2


def test_a_config_that_cannot_fit_at_batch_1_says_what_would(capsys):
    path = str(REPO / "recipes/configs/llama-3.1-8b/tagging_repeat4_qlora.yaml")
    status, out, _ = _plan(
        capsys, "--config", path, "--activation_checkpointing", "false", "--gpu_memory", "12GB"
    )
    assert status == 1
    assert "12GB: 0: does not fit even at batch 1" in out
    assert "would fit at batch 1: activation_checkpointing: true" in out
    assert "would fit at batch 1: max_seq_length: 512" in out
    status, out, _ = _plan(capsys, "--config", path, "--gpu_memory", "6GB")
    assert status == 1 and "nothing here fits at batch 1" in out


def test_a_large_rank_that_cannot_fit_is_told_a_smaller_one(capsys):
    path = str(REPO / "recipes/configs/mistral-7b-v0.3/generative_qlora.yaml")
    status, out, _ = _plan(capsys, "--config", path, "--gpu_memory", "16GB")
    assert status == 1 and "would fit at batch 1: lora_r: 128" in out


def test_a_local_folder_is_sized_from_its_config_json(tmp_path, capsys):
    config = {
        "model_type": "llama", "hidden_size": 64, "intermediate_size": 176,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "vocab_size": 512,
    }  # fmt: skip
    (tmp_path / "config.json").write_text(json.dumps(config))
    run = tmp_path / "run.yaml"
    run.write_text(f"model_name_or_path: {tmp_path}\nformat: tagging\n")
    status, out, _ = _plan(capsys, "--config", str(run), "--json")
    assert status == 0
    assert json.loads(out)["shape_source"] == str(tmp_path / "config.json")


def test_a_hub_id_with_no_shape_is_one_line_naming_it_and_hf_hub_offline(tmp_path, capsys):
    run = tmp_path / "run.yaml"
    run.write_text("model_name_or_path: some-org/some-model\nformat: tagging\n")
    status, out, err = _plan(capsys, "--config", str(run))
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "'some-org/some-model'" in err and "HF_HUB_OFFLINE" in err


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["--config", "no/such.yaml"], "no/such.yaml: config file not found"),
        (["--gpu_memory", "24XB"], "'24XB' is not a memory size"),
        (["--lora_r", "0"], "lora"),
        (["--model_name_or_path", "minilm-l6"], "is an encoder"),
    ],
    ids=["missing-config", "bad-size", "bad-rank", "encoder"],
)
def test_input_mistakes_are_one_line_and_exit_2(argv, expected, capsys):
    base = ["--config", str(REPO / "recipes/configs/llama-3.2-1b/tagging_repeat4_qlora.yaml")]
    status, _, err = _plan(capsys, *base, *argv)
    assert status == 2
    assert err.startswith("llmner plan: error:") and expected in err
    assert len(err.strip().splitlines()) == 1
