"""End-to-end runs on a tiny random Llama: the run directory, and what training changes."""

import json

import pytest
import torch
from safetensors.torch import load_file

from llmner.config import RunConfig
from llmner.data.conll import read_conll
from llmner.train.run import run_finetune

METRIC_KEYS = {
    "f1",
    "precision",
    "recall",
    "f1_default",
    "per_type",
    "num_train_sentences",
    "num_eval_sentences",
    "train_seconds",
    "train_tokens_per_second",
    "eval_sentences_per_second",
    "peak_rss_mb",
    "trainable_parameters",
    "model",
    "format",
    "quantization",
    "seed",
}


def tiny_config(model_dir, conll, out, **overrides) -> RunConfig:
    kwargs = dict(
        model_name_or_path=str(model_dir),
        train_file=str(conll),
        validation_file=str(conll),
        test_file=str(conll),
        quantization="none",
        output_dir=str(out),
        num_train_epochs=2,
        learning_rate=1e-2,
        per_device_train_batch_size=4,
        logging_steps=1,
        lora_r=4,
        lora_alpha=8,
        seed=0,
    )
    kwargs.update(overrides)
    return RunConfig.of(**kwargs)


@pytest.fixture(scope="module")
def tiny_run(tiny_llama_dir, tiny_conll, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    metrics = run_finetune(tiny_config(tiny_llama_dir, tiny_conll, out))
    return out, metrics


def test_run_directory_is_complete(tiny_run, tiny_conll):
    out, metrics = tiny_run
    for name in (
        "config.yaml",
        "metrics.json",
        "predictions.conll",
        "log.csv",
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
    ):
        assert (out / name).exists(), name
    saved = json.loads((out / "metrics.json").read_text())
    assert set(saved) >= METRIC_KEYS
    assert saved["num_eval_sentences"] == len(read_conll(tiny_conll))
    rows = read_conll(out / "predictions.conll")  # token, gold, predicted: last column
    assert [s.tokens for s in rows] == [s.tokens for s in read_conll(tiny_conll)]


def test_adapter_holds_lora_and_the_head(tiny_run):
    out, _ = tiny_run
    keys = load_file(out / "adapter" / "adapter_model.safetensors").keys()
    assert any("lora_A" in k for k in keys)
    assert any(k.endswith("score.weight") for k in keys), "the head must be saved with the adapter"
    assert not any("embed_tokens" in k for k in keys), "base weights are not saved"


def test_trainable_parameters_are_what_the_adapter_holds(tiny_run):
    out, metrics = tiny_run
    saved = load_file(out / "adapter" / "adapter_model.safetensors")
    assert metrics["trainable_parameters"] == sum(v.numel() for v in saved.values())


def test_adapter_loads_with_plain_peft(tiny_run, tiny_llama_dir):
    from peft import PeftModel
    from transformers import AutoModelForTokenClassification

    out, _ = tiny_run
    base = AutoModelForTokenClassification.from_pretrained(tiny_llama_dir, num_labels=7)
    model = PeftModel.from_pretrained(base, out / "adapter")
    saved = load_file(out / "adapter" / "adapter_model.safetensors")
    head = next(v for k, v in saved.items() if k.endswith("score.weight"))
    assert torch.equal(model.base_model.model.score.modules_to_save["default"].weight, head)


def test_training_changes_lora_and_head_but_not_base(tiny_llama_dir, tiny_conll, tmp_path):
    from peft import get_peft_model

    from llmner.data.types import LabelSet
    from llmner.models.loading import LoraOptions, get_peft_config, load_base_model

    labels = LabelSet(["LOC", "ORG", "PER"])
    model = load_base_model(str(tiny_llama_dir), "token-classification", labels)
    model = get_peft_model(model, get_peft_config(model, "token-classification", LoraOptions(r=4)))
    before = {k: v.detach().clone() for k, v in model.named_parameters()}

    from llmner.formats.tagging import TaggingFormat
    from llmner.models.loading import load_tokenizer

    fmt = TaggingFormat(labels, load_tokenizer(str(tiny_llama_dir)))
    batch = fmt.collator()(fmt.encode(read_conll(tiny_conll)).remove_columns("length").to_list())
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    model.train()
    for _ in range(3):
        loss = model(**batch).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    changed = {k for k, v in model.named_parameters() if not torch.equal(v, before[k])}
    assert any("lora_B" in k for k in changed)
    assert any("modules_to_save" in k and "score" in k for k in changed)
    frozen = [k for k, v in model.named_parameters() if not v.requires_grad]
    assert frozen and not (set(frozen) & changed), "base weights must not change"


def test_two_epochs_learn_the_training_set(tiny_llama_dir, tiny_conll, tmp_path):
    metrics = run_finetune(
        tiny_config(
            tiny_llama_dir, tiny_conll, tmp_path, num_train_epochs=12, early_stopping_patience=0
        )
    )
    assert metrics["train_loss"] < 1.5
    assert metrics["f1"] > 0.2, "a 2-layer model fits 12 sentences it saw 12 times"


def test_a_run_stopped_early_records_the_sentences_of_its_steps(
    tiny_llama_dir, tiny_conll, tmp_path
):
    metrics = run_finetune(
        tiny_config(
            tiny_llama_dir, tiny_conll, tmp_path, num_train_epochs=6, learning_rate=1e-12,
            early_stopping_patience=1, max_tokens_per_batch=0,
        )
    )  # fmt: skip
    steps_per_epoch = -(-metrics["num_train_examples"] // 4)
    assert metrics["train_steps"] < 6 * steps_per_epoch, "validation F1 never rises: it stops"
    assert metrics["sentences_per_step"] == pytest.approx(
        metrics["num_train_examples"] / steps_per_epoch
    )


def test_head_learning_rate_keeps_optim_betas_and_no_decay_rule(tiny_llama_dir):
    import torch
    from peft import get_peft_model
    from transformers import TrainingArguments

    from llmner.data.types import LabelSet
    from llmner.models.loading import LoraOptions, get_peft_config, load_base_model
    from llmner.train.trainer import NERTrainer

    labels = LabelSet(["PER"])
    model = load_base_model(str(tiny_llama_dir), "token-classification", labels)
    model = get_peft_model(model, get_peft_config(model, "token-classification", LoraOptions(r=4)))
    args = TrainingArguments(
        output_dir="unused",
        learning_rate=1e-4,
        weight_decay=0.1,
        optim="sgd",
        use_cpu=True,
        report_to=[],
    )
    trainer = NERTrainer(
        model=model, args=args, ner_format=None, eval_sentences=[], head_learning_rate=5e-2
    )
    optimizer = trainer.create_optimizer()
    assert isinstance(optimizer, torch.optim.SGD), "--optim is not dropped"
    by_lr = {}
    for g in optimizer.param_groups:
        by_lr.setdefault(g["lr"], []).append(g)
    assert set(by_lr) == {1e-4, 5e-2}
    head = model.base_model.model.score.modules_to_save["default"]
    head_ids = {id(p) for g in by_lr[5e-2] for p in g["params"]}
    assert {id(p) for p in head.parameters()} == head_ids
    names = {id(p): n for n, p in model.named_parameters()}
    for g in optimizer.param_groups:
        for p in g["params"]:
            no_decay = names[id(p)].endswith("bias") or "norm" in names[id(p)]
            assert g["weight_decay"] == (0.0 if no_decay else 0.1), names[id(p)]
    adam = NERTrainer(
        model=model,
        args=TrainingArguments(
            output_dir="unused", adam_beta2=0.95, use_cpu=True, report_to=[], weight_decay=0.1
        ),
        ner_format=None,
        eval_sentences=[],
        head_learning_rate=5e-2,
    ).create_optimizer()
    assert all(g["betas"] == (0.9, 0.95) for g in adam.param_groups)


def test_label_set_comes_from_the_whole_training_file(tmp_path, caplog):
    from llmner.train.run import load_data

    train = tmp_path / "train.conll"
    train.write_text("Ann B-PER\nran O\n\nBo B-PER\n\nParis B-LOC\nis O\n\n")
    cfg = RunConfig.of(
        train_file=str(train),
        validation_file=str(train),
        test_file=str(train),
        max_train_samples=2,
        quantization="none",
    )
    with caplog.at_level("WARNING", logger="llmner"):
        splits, labels = load_data(cfg)
    assert len(splits["train"]) == 2
    assert labels.types == ["LOC", "PER"], "LOC occurs only after the first 2 sentences"
    assert "LOC" in caplog.text and "no training sentence" in caplog.text


def test_a_split_without_its_file_says_it_comes_from_the_dataset(tmp_path, caplog):
    from llmner.train.run import load_data

    train = tmp_path / "train.conll"
    train.write_text("Ann B-PER\nran O\n\nBo B-PER\n\n")
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "dev.txt").write_text("Cy B-PER\nsat O\n\n")
    cfg = RunConfig.of(
        train_file=str(train), test_file=str(train), dataset=str(folder), quantization="none"
    )
    with caplog.at_level("WARNING", logger="llmner"):
        splits, _ = load_data(cfg)
    assert [s.tokens for s in splits["validation"]] == [["Cy", "sat"]]
    assert f"no --validation_file: the validation split is read from --dataset {folder}" in (
        caplog.text
    )
    assert "--train_file:" not in caplog.text and "--test_file:" not in caplog.text


def test_splits_from_one_dataset_say_nothing_of_files(tmp_path, caplog):
    from llmner.train.run import load_data

    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("train.txt", "dev.txt", "test.txt"):
        (folder / name).write_text("Ann B-PER\nran O\n\n")
    with caplog.at_level("WARNING", logger="llmner"):
        load_data(RunConfig.of(dataset=str(folder), quantization="none"))
    assert "is read from --dataset" not in caplog.text


def test_a_4bit_run_scored_in_bf16_says_so_and_tags_as_its_adapter_does_in_bf16(
    tmp_path_factory, tiny_llama_128_dir
):
    """``eval_dtype: bfloat16``: the run's own scoring and ``llmner.load(dtype=...)`` give
    the same tags, and the records name the path."""
    from adapters.tiny_runs import FOUR_BIT, TINY_CONLL, run_predictions, tiny_run

    import llmner

    run = tiny_run(
        tmp_path_factory, tiny_llama_128_dir, "4bit-bf16", **FOUR_BIT, eval_dtype="bfloat16"
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["eval_path"] == "dequantized-bf16 (NF4 values, LoRA merged)"
    ner = llmner.load(run, dtype="bfloat16")
    assert {p.dtype for p in ner.model.parameters()} == {torch.bfloat16}
    tags = [t for s in ner.tag(read_conll(TINY_CONLL)) for t in s]
    assert tags == run_predictions(run)


def test_a_4bit_run_records_the_dtype_its_layers_computed_in(tmp_path_factory, tiny_llama_128_dir):
    """Autocast off or on, the device decides what 4-bit layers compute in; the run says
    which, so that a table can tell runs on different CPUs apart."""
    from adapters.tiny_runs import FOUR_BIT, tiny_run

    from llmner.models.numerics import cpu_bf16_supported

    run = tiny_run(tmp_path_factory, tiny_llama_128_dir, "4bit", **FOUR_BIT)
    numerics = json.loads((run / "metrics.json").read_text())["numerics"]
    assert numerics["weights"] == "nf4"
    assert numerics["compute_dtype"] == ("bfloat16" if cpu_bf16_supported() else "float32")


def test_a_4bit_adapter_loaded_in_bf16_holds_its_fp32_weights_rounded(
    tmp_path_factory, tiny_llama_128_dir
):
    """The base is quantized as training quantized it, then dequantized and cast: not
    quantized again from weights already cast to bf16, whose NF4 values differ."""
    from adapters.tiny_runs import FOUR_BIT, tiny_run

    import llmner

    run = tiny_run(tmp_path_factory, tiny_llama_128_dir, "4bit", **FOUR_BIT)
    fp32 = dict(llmner.load(run).model.named_parameters())
    bf16 = dict(llmner.load(run, dtype="bfloat16").model.named_parameters())
    assert bf16.keys() == fp32.keys()
    for name, weight in bf16.items():
        if "original_module" not in name:  # peft's unused copy of the head: random per load
            assert torch.equal(weight, fp32[name].to(torch.bfloat16)), name


def test_the_final_scoring_runs_without_the_training_autocast(tmp_path):
    """Accelerate wraps the model's forward in bf16 autocast for training; the run's own
    scoring must compute as the reloaded adapter does (fp32), or its predictions cannot be
    reproduced from its files."""
    from transformers import LlamaConfig, LlamaForTokenClassification, Trainer, TrainingArguments

    from llmner.models.numerics import cpu_bf16_supported
    from llmner.train.score import without_autocast

    if torch.cuda.is_available() or not cpu_bf16_supported():
        pytest.skip("needs a CPU with native bf16 (where training autocasts to bf16)")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=100, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, num_labels=5,
    )  # fmt: skip
    model = LlamaForTokenClassification(config)
    rows = [{"input_ids": torch.randint(0, 100, (12,)), "labels": torch.randint(0, 5, (12,))}]
    args = TrainingArguments(
        output_dir=str(tmp_path), max_steps=1, use_cpu=True, bf16=True, report_to=[],
        save_strategy="no", per_device_train_batch_size=1,
    )  # fmt: skip
    trainer = Trainer(model=model, args=args, train_dataset=rows * 2)
    trainer.train()
    ids = torch.randint(0, 100, (2, 12), generator=torch.Generator().manual_seed(1))
    trainer.model.eval()
    with torch.no_grad():
        wrapped = trainer.model(input_ids=ids).logits
        plain = without_autocast(trainer)(input_ids=ids).logits
        fp32 = LlamaForTokenClassification.forward(trainer.model, input_ids=ids).logits
    assert not torch.equal(wrapped, fp32), "training left the forward autocast to bf16"
    assert torch.equal(plain, fp32)


def test_a_run_records_its_splitter_and_scores_the_raw_text_too(tiny_run, tiny_conll):
    from llmner.data.conventions import choose_splitter
    from llmner.rundir import read_config

    out, metrics = tiny_run
    config = read_config(out)
    assert config["splitter"] == choose_splitter(read_conll(tiny_conll))
    raw = json.loads((out / "metrics.json").read_text())["raw_text"]
    assert raw["splitter"] == config["splitter"]
    assert raw["word"]["f1"] == pytest.approx(metrics["f1"], abs=1e-9), "the same words"
    assert raw["f1_gap"] == pytest.approx(raw["raw"]["f1"] - raw["word"]["f1"])
    assert raw["sentences"] == len(read_conll(tiny_conll))


def test_raw_text_scoring_can_be_turned_off(tiny_llama_dir, tiny_conll, tmp_path):
    cfg = tiny_config(tiny_llama_dir, tiny_conll, tmp_path, score_raw_text=False, max_steps=1)
    assert "raw_text" not in run_finetune(cfg)
