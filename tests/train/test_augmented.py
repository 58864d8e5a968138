"""Augmentation in training: each epoch's features are re-encoded from seeded copies at
``on_epoch_begin``, keep their count, and the run records what was done."""

import json

import pytest

from llmner.config import RunConfig
from llmner.data.augment import Augmenter
from llmner.data.conll import read_conll
from llmner.data.types import LabelSet
from llmner.formats import build_format
from llmner.models.loading import load_tokenizer
from llmner.rundir import read_config
from llmner.train.augmented import AugmentedTrainSet
from llmner.train.run import run_finetune

OPS = ("mention_replacement", "label_wise_token_replacement", "shuffle_within_segments")


@pytest.mark.parametrize("format_name", ["tagging", "generative"])
def test_epochs_are_reencoded_seeded_and_keep_their_count(format_name, tiny_llama_dir, tiny_conll):
    sentences = read_conll(tiny_conll)
    labels = LabelSet.from_sentences(sentences)
    cfg = RunConfig.of(model_name_or_path=str(tiny_llama_dir), format=format_name,
                         quantization="none", max_seq_length=128)  # fmt: skip
    fmt = build_format(
        format_name, cfg.options, labels, load_tokenizer(cfg.model.model_name_or_path)
    )
    original = list(fmt.encode(sentences))

    def train_set():
        return AugmentedTrainSet(fmt, sentences, Augmenter(OPS, 0.5, sentences, seed=7))

    a, b = train_set(), train_set()
    assert [dict(r) for r in a.rows] == original, "the original features until an epoch starts"
    a.set_epoch(0)
    b.set_epoch(0)
    assert a.rows == b.rows, "seeded"
    assert len(a) == len(original) and a.rows != original
    first = a.rows
    a.set_epoch(1)
    assert len(a) == len(original) and a.rows != first
    a.set_epoch(1)
    assert a.augmenter.summary()["epochs"] == 2, "an epoch is drawn once"


def test_run_records_augmentation(tiny_llama_dir, tiny_conll, tmp_path):
    cfg = RunConfig.of(
        model_name_or_path=str(tiny_llama_dir), train_file=str(tiny_conll),
        validation_file=str(tiny_conll), test_file=str(tiny_conll), quantization="none",
        output_dir=str(tmp_path), num_train_epochs=2, learning_rate=1e-2,
        per_device_train_batch_size=4, lora_r=4, lora_alpha=8, seed=0, eval_strategy="no",
        augment=",".join(OPS), augment_rate=0.5,
    )  # fmt: skip
    metrics = run_finetune(cfg)
    recorded = json.loads((tmp_path / "metrics.json").read_text())["augmentation"]
    assert recorded == metrics["augmentation"]
    assert recorded["operations"] == list(OPS) and recorded["rate"] == 0.5
    assert recorded["epochs"] == 2, "on_epoch_begin re-encoded each epoch"
    assert 0 < recorded["sentences_changed"] <= recorded["sentences_augmented"] <= 2 * 12
    config = read_config(tmp_path)
    assert config["augment"] == ",".join(OPS) and config["augment_rate"] == 0.5


def test_add_mode_keeps_every_original_and_adds_a_copy_of_each(tiny_llama_dir, tiny_conll):
    sentences = read_conll(tiny_conll)
    labels = LabelSet.from_sentences(sentences)
    cfg = RunConfig.of(model_name_or_path=str(tiny_llama_dir), quantization="none",
                         max_seq_length=128)  # fmt: skip
    fmt = build_format("tagging", cfg.options, labels, load_tokenizer(str(tiny_llama_dir)))
    original = [dict(r) for r in fmt.encode(sentences)]
    augmenter = Augmenter(OPS, 0.5, sentences, seed=7)
    added = AugmentedTrainSet(fmt, sentences, augmenter, mode="add")
    assert len(added) == 2 * len(original) and added.lengths == [r["length"] for r in added.rows]
    added.set_epoch(0)
    assert added.rows[: len(original)] == original, "the originals stay, first"
    copies = added.rows[len(original) :]
    assert len(copies) == len(original) and copies != original
    summary = added.summary()
    assert summary["mode"] == "add" and summary["sentences_augmented"] == len(sentences)
    replaced = AugmentedTrainSet(fmt, sentences, Augmenter(OPS, 0.5, sentences, seed=7))
    replaced.set_epoch(0)
    assert replaced.summary()["sentences_augmented"] < len(sentences), "about half"


def test_add_mode_run_trains_twice_the_steps_and_records_its_mode(
    tiny_llama_dir, tiny_conll, tmp_path
):
    def run(out, **kw):
        cfg = RunConfig.of(
            model_name_or_path=str(tiny_llama_dir), train_file=str(tiny_conll),
            test_file=str(tiny_conll), quantization="none", output_dir=str(out),
            num_train_epochs=1, per_device_train_batch_size=4, lora_r=4, lora_alpha=8, seed=0,
            eval_strategy="no", augment="mention_replacement", max_tokens_per_batch=0, **kw,
        )  # fmt: skip
        run_finetune(cfg)
        steps = json.loads((out / "metrics.json").read_text())
        return steps, read_config(out)

    added, config = run(tmp_path / "add", augment_mode="add")
    replaced, _ = run(tmp_path / "replace")
    assert config["augment_mode"] == "add" and added["augmentation"]["mode"] == "add"
    assert added["train_steps"] == 2 * replaced["train_steps"]


def test_unknown_augment_mode_is_one_line():
    from llmner.errors import InputError

    with pytest.raises(InputError, match="--augment_mode 'double': expected one of replace, add"):
        RunConfig.of(model_name_or_path="x", quantization="none", augment_mode="double")
