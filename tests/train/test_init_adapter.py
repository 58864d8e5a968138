"""--init_adapter: a run starts from a trained one. Head rows of shared labels are copied
bit for bit, new labels get fresh rows that training changes, LoRA weights (or a whole
model) load, and every mismatch is one line naming the option, exit status 2."""

from __future__ import annotations

import pytest
import torch
from adapters.tiny_runs import relabelled_conll, tiny_run
from recipe_module import load_recipe
from safetensors.torch import load_file

from llmner.config import RunConfig, resolve_defaults
from llmner.data.types import LabelSet
from llmner.rundir import read_config
from llmner.train.run import build_model, load_data
from llmner.train.warm_start import locate_init

HEAD = "base_model.model.score"


@pytest.fixture(scope="module")
def source(tmp_path_factory, tiny_llama_dir):
    """A LoRA run on PER, ORG, LOC."""
    return tiny_run(tmp_path_factory, tiny_llama_dir, "fp32")


@pytest.fixture(scope="module")
def misc_conll(tmp_path_factory):
    """ORG renamed ART: PER and LOC shared with the source, ART new, ORG dropped; ART
    sorts first, so LOC's rows move."""
    return relabelled_conll(tmp_path_factory.mktemp("art"), {"ORG": "ART"})


def config(model_dir, conll, out, **overrides) -> RunConfig:
    kwargs = dict(
        model_name_or_path=str(model_dir), train_file=str(conll), validation_file=str(conll),
        test_file=str(conll), quantization="none", output_dir=str(out), max_steps=4,
        learning_rate=1e-2, per_device_train_batch_size=4, lora_r=4, lora_alpha=8, seed=0,
        eval_strategy="no",
    )  # fmt: skip
    kwargs.update(overrides)
    return resolve_defaults(RunConfig.of(**kwargs))


def initial_model(cfg: RunConfig):
    """The model a run of ``cfg`` starts training from, and its labels."""
    from llmner.formats import FORMATS

    _, labels = load_data(cfg)
    init = locate_init(cfg)
    model, _ = build_model(cfg, FORMATS[cfg.model.format].task, labels, None, init)
    return model, labels, init


def head_rows(tensors: dict, labels: LabelSet) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    w, b = tensors[f"{HEAD}.weight"], tensors[f"{HEAD}.bias"]
    return {lab: (w[i], b[i]) for lab, i in labels.label2id.items()}


def test_shared_rows_are_copied_bit_for_bit_and_new_rows_train(
    source, misc_conll, tiny_llama_dir, tmp_path
):
    from peft import get_peft_model_state_dict

    from llmner.train.run import run_finetune

    cfg = config(tiny_llama_dir, misc_conll, tmp_path / "new", init_adapter=str(source))
    model, labels, init = initial_model(cfg)
    old_labels = LabelSet.from_dict(read_config(source)["labels"])
    trained = load_file(str(source / "adapter" / "adapter_model.safetensors"))
    old_rows, start = (
        head_rows(trained, old_labels),
        head_rows(get_peft_model_state_dict(model), labels),
    )
    assert set(init.record["kept_labels"]) == {"O", "B-PER", "I-PER", "B-LOC", "I-LOC"}
    assert labels.label2id["B-LOC"] != old_labels.label2id["B-LOC"], "rows move"
    assert init.record["new_labels"] == ["B-ART", "I-ART"]
    assert init.record["dropped_labels"] == ["B-ORG", "I-ORG"]
    for label in init.record["kept_labels"]:
        for part in (0, 1):
            assert torch.equal(start[label][part], old_rows[label][part]), label
    for label in init.record["new_labels"]:
        assert not any(torch.equal(start[label][0], row[0]) for row in old_rows.values())
    lora = {k: v for k, v in get_peft_model_state_dict(model).items() if "lora_" in k}
    assert lora and all(torch.equal(v, trained[k]) for k, v in lora.items())

    run_finetune(cfg)
    after = head_rows(
        load_file(str(tmp_path / "new" / "adapter" / "adapter_model.safetensors")), labels
    )
    for label in init.record["new_labels"]:
        assert not torch.equal(after[label][0], start[label][0]), f"{label} trained"
    recorded = read_config(tmp_path / "new")
    assert recorded["init_adapter"] == str(source)
    assert recorded["init_from"]["kept_labels"] == init.record["kept_labels"]
    assert recorded["init_from"]["new_labels"] == ["B-ART", "I-ART"]
    assert recorded["init_from"]["kind"] == "lora"


def test_adapter_folder_and_generative_runs(tmp_path_factory, tiny_llama_dir, misc_conll, tmp_path):
    """A generative adapter's LoRA weights load; the new type reaches the prompt."""
    from peft import get_peft_model_state_dict

    from llmner.formats import build_format
    from llmner.models.loading import load_tokenizer

    gen = tiny_run(tmp_path_factory, tiny_llama_dir, "generative", format="generative", max_steps=2)
    cfg = config(tiny_llama_dir, misc_conll, tmp_path, format="generative",
                 init_adapter=str(gen / "adapter"))  # fmt: skip
    model, labels, init = initial_model(cfg)
    trained = load_file(str(gen / "adapter" / "adapter_model.safetensors"))
    lora = get_peft_model_state_dict(model)
    assert set(lora) == set(trained) and all(torch.equal(v, trained[k]) for k, v in lora.items())
    assert init.record["new_labels"] == ["B-ART", "I-ART"]
    fmt = build_format("generative", cfg.options, labels, load_tokenizer(str(tiny_llama_dir)))
    sentence = load_data(cfg)[0]["train"][0]
    assert "ART" in (fmt.system_prompt or "") + fmt.user_prompt(sentence)


def test_a_run_that_trained_every_weight_starts_from_all_of_them(
    tmp_path_factory, tiny_llama_dir, misc_conll, tmp_path
):
    full = tiny_run(tmp_path_factory, tiny_llama_dir, "full", use_lora=False)
    cfg = config(tiny_llama_dir, misc_conll, tmp_path, use_lora=False, init_adapter=str(full))
    model, labels, init = initial_model(cfg)
    saved = load_file(str(full / "adapter" / "model.safetensors"))
    own = model.state_dict()
    body = [k for k in saved if not k.startswith("score.")]
    assert body and all(torch.equal(own[k], saved[k]) for k in body)
    old_labels = LabelSet.from_dict(read_config(full)["labels"])
    for label in init.record["kept_labels"]:
        old, new = old_labels.label2id[label], labels.label2id[label]
        assert torch.equal(own["score.weight"][new], saved["score.weight"][old])
        assert torch.equal(own["score.bias"][new], saved["score.bias"][old])
    assert init.record["kind"] == "full"


def _finetune_main():
    return load_recipe("finetune").main


@pytest.mark.parametrize(
    "case, expected",
    [
        ("not-an-adapter", "not an llmner adapter; expected a run directory"),
        ("other-base", "trained with base model"),
        ("other-format", "trained with format tagging; expected the run's format, generative"),
        ("lora-shape", "LoRA r=4, alpha=8; expected the run's lora_r and lora_alpha (8, 16)"),
        ("full-run", "a LoRA adapter; expected a run that trained every weight"),
    ],
)
def test_mismatches_are_one_line_exit_2(
    case, expected, source, tiny_llama_dir, tiny_llama_128_dir, tiny_conll, tmp_path, capsys
):
    model, init, extra = tiny_llama_dir, str(source), []
    if case == "not-an-adapter":
        init = str(tmp_path)
    elif case == "other-base":
        model = tiny_llama_128_dir
    elif case == "other-format":
        extra = ["--format", "generative"]
    elif case == "lora-shape":
        extra = ["--lora_r", "8", "--lora_alpha", "16"]
    elif case == "full-run":
        extra = ["--use_lora", "false"]
    argv = ["--model_name_or_path", str(model), "--train_file", str(tiny_conll),
            "--quantization", "none", "--lora_r", "4", "--lora_alpha", "8",
            "--output_dir", str(tmp_path / "out"), "--init_adapter", init, *extra]  # fmt: skip
    assert _finetune_main()(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "--init_adapter" in err and expected in err, err


def test_the_record_names_the_weights_by_the_path_given(tmp_path, monkeypatch):
    """A relative --init_adapter is recorded relative, so committed run files name no
    folder of the machine a run was made on."""
    from llmner.rundir.source import ModelSource
    from llmner.train.warm_start import InitSource

    (tmp_path / "runs" / "x" / "adapter").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    found = (tmp_path / "runs" / "x" / "adapter").resolve()
    init = InitSource("runs/x", ModelSource("adapter", found, {}), full=False)
    assert init.weights_as_given() == "runs/x/adapter"
    assert InitSource(
        "runs/x/adapter", ModelSource("adapter", found, {}), False
    ).weights_as_given() == ("runs/x/adapter")
    assert InitSource(
        str(found.parent), ModelSource("adapter", found, {}), False
    ).weights_as_given() == (str(found))
