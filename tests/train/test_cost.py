"""What the training-cost options do: token budgets, the layer exit, bf16, the loss under
accumulation, and their bad values (refused before any model is loaded)."""

from __future__ import annotations

import json

import pytest
import torch
from recipe_module import load_recipe

from llmner.errors import InputError
from llmner.train.run import check_num_layers, run_finetune, token_budget_sampler
from llmner.train.trainer import token_classification_loss

from .test_run import tiny_config


@pytest.fixture(scope="module")
def budget_run(tiny_llama_dir, tiny_conll, tmp_path_factory):
    out = tmp_path_factory.mktemp("budget-run")
    cfg = tiny_config(
        tiny_llama_dir,
        tiny_conll,
        out,
        max_tokens_per_batch=64,
        num_layers=1,
        bf16=False,
        num_train_epochs=1,
    )
    return out, run_finetune(cfg)


def test_run_records_its_numeric_path_budget_and_layers(budget_run):
    out, _ = budget_run
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["bf16"] is False
    assert saved["numerics"] == {"weights": "float32", "dtype": "float32"}  # not quantized
    assert saved["max_tokens_per_batch"] == 64
    assert saved["num_layers"] == 1
    assert saved["train_padded_tokens"] >= saved["train_tokens"] > 0
    assert saved["train_seconds"] <= saved["train_wall_seconds"]
    assert saved["peak_rss_mb"] > 0


def test_truncated_run_reloads_with_its_layers(budget_run):
    from llmner.rundir.source import load_model, locate

    out, _ = budget_run
    model, _ = load_model(locate(out))
    assert model.config.num_hidden_layers == 1


def test_bf16_is_recorded_when_on(tiny_llama_dir, tiny_conll, tmp_path, monkeypatch):
    monkeypatch.setattr("llmner.models.numerics.cpu_bf16_supported", lambda: True)
    cfg = tiny_config(tiny_llama_dir, tiny_conll, tmp_path, max_steps=1, bf16=None)
    assert run_finetune(cfg)["bf16"] is True


def test_num_layers_gives_the_full_models_hidden_state_after_layer_k(tiny_llama_dir):
    from llmner.data.types import LabelSet
    from llmner.models.loading import load_base_model

    labels = LabelSet(["PER", "LOC"])
    full = load_base_model(str(tiny_llama_dir), "token-classification", labels).eval()
    cut = load_base_model(str(tiny_llama_dir), "token-classification", labels, num_layers=1)
    cut.eval().score.load_state_dict(full.score.state_dict())
    ids = torch.tensor([[5, 9, 23, 40, 7]])
    with torch.no_grad():
        hidden = full.model(input_ids=ids, output_hidden_states=True).hidden_states
        expected = full.score(full.model.norm(hidden[1]))
        got = cut(input_ids=ids).logits
        assert len(cut.model.layers) == 1
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
        assert not torch.allclose(got, full(input_ids=ids).logits, atol=1e-3)


@pytest.mark.parametrize("k", [0, 3])
def test_num_layers_outside_the_model_is_refused_from_its_config(tiny_llama_dir, k, tmp_path):
    cfg = tiny_config(tiny_llama_dir, "x", tmp_path)
    cfg.model.num_layers = k
    with pytest.raises(InputError, match=r"--num_layers .*expected 1\.\.2"):
        check_num_layers(cfg)


def test_budget_below_the_longest_window_is_refused(tiny_llama_dir, tmp_path):
    cfg = tiny_config(tiny_llama_dir, "x", tmp_path, max_tokens_per_batch=20)
    with pytest.raises(InputError, match="below the longest training window .30 tokens"):
        token_budget_sampler(cfg, [10, 30, 5])
    cfg.training.max_tokens_per_batch = 0
    assert token_budget_sampler(cfg, [10, 30, 5]) is None


def test_bf16_on_a_cpu_without_it_is_refused(monkeypatch):
    from llmner.models import numerics

    monkeypatch.setattr(numerics, "cpu_bf16_supported", lambda: False)
    with pytest.raises(InputError, match="--bf16 true"):
        numerics.resolve_bf16(True, cuda=False)
    assert numerics.resolve_bf16(None, cuda=False) is False


def test_loss_is_a_mean_over_the_steps_labelled_tokens():
    """Two micro-batches with the step's token count give the loss of one whole batch."""
    torch.manual_seed(0)
    logits = torch.randn(4, 6, 3)
    labels = torch.randint(0, 3, (4, 6))
    labels[0, :4] = -100
    labels[3, 2:] = -100
    whole = token_classification_loss({"logits": logits}, labels)
    n = labels.ne(-100).sum()
    halves = sum(
        token_classification_loss({"logits": logits[s]}, labels[s], num_items_in_batch=n)
        for s in (slice(0, 2), slice(2, 4))
    )
    torch.testing.assert_close(halves, whole)
    expected = torch.nn.functional.cross_entropy(logits.view(-1, 3), labels.view(-1))
    torch.testing.assert_close(whole, expected)


@pytest.mark.parametrize(
    "flags, says",
    [
        (["--num_layers", "9"], "--num_layers 9: "),
        (["--max_tokens_per_batch", "8"], "--max_tokens_per_batch 8 is below the longest"),
        (["--bf16", "true"], "--bf16 true: this CPU"),
    ],
)
def test_recipe_refuses_bad_cost_options_in_one_line(
    flags, says, tiny_llama_dir, tiny_conll, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr("llmner.models.numerics.cpu_bf16_supported", lambda: False)
    monkeypatch.setattr(
        "llmner.train.run.build_model",
        lambda *a, **k: pytest.fail("the model was loaded before the options were checked"),
    )
    finetune = load_recipe("finetune")
    argv = ["--model_name_or_path", str(tiny_llama_dir), "--train_file", str(tiny_conll)]
    argv += ["--quantization", "none", "--output_dir", str(tmp_path), *flags]
    assert finetune.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]
