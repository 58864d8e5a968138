import json

import pytest
import torch
from transformers import LlamaConfig, LlamaForTokenClassification

from llmner.models.attention import attention_layers, parse_layers, set_bidirectional


def tiny(layers=3):
    torch.manual_seed(0)
    cfg = LlamaConfig(
        hidden_size=32,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        intermediate_size=64,
        vocab_size=100,
        num_labels=3,
    )
    return LlamaForTokenClassification(cfg).eval()


def changed_prefix(model):
    """Does changing token 3 change the outputs at tokens 0-2?"""
    ids = torch.randint(0, 100, (1, 6), generator=torch.Generator().manual_seed(1))
    other = ids.clone()
    other[0, 3] = (other[0, 3] + 1) % 100
    with torch.no_grad():
        a, b = model(input_ids=ids).logits, model(input_ids=other).logits
    return not torch.allclose(a[:, :3], b[:, :3])


def test_causal_by_default():
    assert not changed_prefix(tiny())


@pytest.mark.parametrize("spec", ["all", "upper:1", "0"])
def test_lifting_the_mask_lets_early_tokens_see_later_ones(spec):
    model = tiny()
    assert set_bidirectional(model, spec)
    assert changed_prefix(model)


def test_none_leaves_the_model_alone():
    model = tiny()
    assert set_bidirectional(model, "none") == []
    assert model.config._attn_implementation != "llmner_bidirectional"
    assert not changed_prefix(model)


def test_padding_is_still_masked():
    model = tiny()
    set_bidirectional(model, "all")
    ids = torch.randint(0, 100, (2, 6), generator=torch.Generator().manual_seed(2))
    mask = torch.ones(2, 6, dtype=torch.long)
    mask[1, 4:] = 0
    with torch.no_grad():
        padded = model(input_ids=ids, attention_mask=mask).logits[1, :4]
        alone = model(input_ids=ids[1:, :4]).logits[0]
    assert torch.allclose(padded, alone, atol=1e-5)


@pytest.mark.parametrize("spec", ["upper:0", "upper:9", "7", "-1"])
def test_bad_layer_specs_are_refused(spec):
    with pytest.raises(ValueError):
        parse_layers(spec, 6)


def test_bidirectional_4bit_run_reloads_to_its_own_predictions(
    tmp_path_factory, tiny_llama_128_dir
):
    """Mask lifting survives 4-bit + LoRA training, the dequantized evaluation path and
    ``llmner.load``: the reloaded model tags the test sentences as the run itself did."""
    from adapters.tiny_runs import FOUR_BIT, TINY_CONLL, entity_tags, run_predictions, tiny_run

    import llmner
    from llmner.data.conll import read_conll

    run = tiny_run(
        tmp_path_factory, tiny_llama_128_dir, "4bit-bidir", **FOUR_BIT, bidirectional="all"
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["bidirectional_layers"] == [0, 1]
    assert metrics["eval_path"].startswith("dequantized")
    expected = run_predictions(run)
    assert entity_tags(expected) >= 10, "the tiny run predicts entities"

    ner = llmner.load(run)
    assert all(getattr(m, "llmner_bidirectional", False) for m in attention_layers(ner.model))
    sentences = read_conll(TINY_CONLL)
    assert [t for tags in ner.tag(sentences) for t in tags] == expected

    for m in attention_layers(ner.model):  # the same model with its causal mask back
        m.llmner_bidirectional = False
    causal = [t for tags in ner.tag(sentences) for t in tags]
    assert causal != expected, "the lifted mask decides these predictions"
