"""The model card (``README.md``) of an exported adapter.

The card starts with the YAML metadata the Hugging Face hub reads (``base_model``,
``library_name: peft``, ``tags``, ``datasets``, ``metrics``), then says where the base
weights came from (for llmner's named models, from the model registry: SmolLM2 is a Q4_1
GGUF, not the hub's original weights), and describes the label set, the prompt
(generative runs: name, version and SHA-256), the training config, the test scores and how
to load the adapter.

Example:
    >>> card = model_card({"model_name_or_path": "smollm2-135m", "format": "tagging",
    ...                    "dataset": "bc5cdr", "labels": {"types": ["Chemical"]}}, {"f1": 0.5})
    >>> card.splitlines()[1]
    'base_model: HuggingFaceTB/SmolLM2-135M-Instruct'
    >>> "| f1 | 0.5000 |" in card
    True
"""

from __future__ import annotations

from pathlib import Path

import yaml

from llmner.formats import FORMATS
from llmner.markdown import markdown_table
from llmner.models.registry import MODELS
from llmner.rundir.source import describe_base

__all__ = ["TRAINING_KEYS", "base_weights", "merged_card", "metadata", "model_card"]

TRAINING_KEYS = (
    "format", "quantization", "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules",
    "echo", "bidirectional", "decode", "max_seq_length", "num_train_epochs", "max_steps",
    "learning_rate", "per_device_train_batch_size", "gradient_accumulation_steps", "seed",
    "max_train_samples", "combine_method", "merged_dtype", "merge_base",
)  # fmt: skip
METRIC_KEYS = (
    "f1", "precision", "recall", "accuracy", "parse_failure_rate", "hallucination_rate",
    "num_eval_sentences", "train_seconds", "eval_path",
)  # fmt: skip


def _datasets(meta: dict) -> list[str]:
    files = [meta.get(k) for k in ("train_file",) if meta.get(k)]
    return [Path(f).name for f in files] if files else [str(meta.get("dataset", ""))]


def _entry(meta: dict):
    return MODELS.get(str(meta.get("model_name_or_path", "")))


def base_weights(meta: dict) -> str | None:
    """Where a named base model's weights came from and what training did to them (the
    registry's :meth:`~llmner.models.registry.ModelEntry.weights_note`); ``None`` for a
    hub id or folder, which llmner loads as it is."""
    entry = _entry(meta)
    return entry.weights_note(meta.get("quantization")) if entry else None


def metadata(meta: dict, metrics: dict) -> dict:
    """The card's YAML header."""
    task = FORMATS[meta.get("format", "tagging")].pipeline_tag
    merged = "merged_from" in meta
    tags = ["llmner", "ner", "named-entity-recognition", "lora", "peft", task]
    if merged:
        tags[3:5] = ["lora-merged"]
    if (meta.get("trained_quantization") or meta.get("quantization")) in ("4bit", "8bit"):
        tags.append("qlora")
    header = {
        "base_model": describe_base(meta),
        "library_name": "transformers" if merged else "peft",
        "pipeline_tag": task,
        "tags": tags,
        "datasets": [d for d in _datasets(meta) if d],
    }
    scores = {k: metrics[k] for k in ("f1", "precision", "recall") if k in metrics}
    if scores:
        header["metrics"] = list(scores)
        header["model-index"] = [{
            "name": f"llmner-{meta.get('format', 'tagging')}",
            "results": [{
                "task": {"type": "token-classification", "name": "Named Entity Recognition"},
                "dataset": {"name": header["datasets"][0] if header["datasets"] else "",
                            "type": header["datasets"][0] if header["datasets"] else ""},
                "metrics": [{"type": k, "value": round(float(v), 4),
                             "name": f"strict {k} (seqeval, IOB2)"} for k, v in scores.items()],
            }],
        }]  # fmt: skip
    return header


def _table(rows: list[tuple], head: tuple) -> list[str]:
    return markdown_table((list(head), [[str(c) for c in r] for r in rows]))


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _about(meta: dict) -> list[str]:
    entry = _entry(meta)
    if not entry:
        return []
    lines = ["", f"Base weights (`{entry.name}`): {base_weights(meta)}."]
    if entry.from_gguf:
        lines += [
            "`llmner.load` rebuilds this base from the same package; on the hub's "
            "original weights the base differs from the one trained and scored here."
        ]
    return lines


def _labels(meta: dict) -> list[str]:
    labels = meta.get("labels") or {}
    descriptions = labels.get("descriptions") or {}
    opts = meta.get("format_options") or {}
    lines = ["", "## Labels", ""]
    lines += _table(
        [(t, descriptions.get(t, "")) for t in labels.get("types", [])], ("type", "description")
    )
    if meta.get("prompt"):
        lines += [
            "",
            "## Prompt",
            "",
            f"- name: `{meta['prompt']}`",
            f"- version: `{opts.get('prompt_version', '')}`",
            f"- sha256: `{opts.get('prompt_sha256', '')}`",
        ]
    if meta.get("combined_from"):
        lines += ["", "## Combined from", ""]
        lines += _table(
            [(c["adapter"], c["weight"], ", ".join(c["types"])) for c in meta["combined_from"]],
            ("adapter", "weight", "types"),
        )
    return lines


def _training(meta: dict, adapter_config: dict | None = None) -> list[str]:
    lines = ["", "## Training config", ""]
    lines += _table([(k, meta[k]) for k in TRAINING_KEYS if k in meta], ("option", "value"))
    if adapter_config:
        lines += [
            "",
            f"LoRA targets: {', '.join(sorted(adapter_config.get('target_modules') or []))}",
        ]
    return lines


def model_card(
    meta: dict,
    metrics: dict,
    adapter_config: dict | None = None,
    repo_id: str | None = None,
    needs: list[str] | None = None,
) -> str:
    """The full ``README.md`` text for a run's resolved config and test metrics.

    ``needs``: why transformers and peft alone would run the adapter wrongly (the inputs
    llmner builds for echo/repeat, the causal mask it lifts; see
    :func:`~llmner.rundir.source.needs_llmner_inputs`).
    """
    repo = repo_id or "YOUR-NAME/THIS-ADAPTER"
    lines = ["---", yaml.safe_dump(metadata(meta, metrics), sort_keys=False).rstrip(), "---", ""]
    lines += [f"# {describe_base(meta)} NER adapter ({meta.get('format', 'tagging')})", ""]
    lines += [
        f"A LoRA adapter trained with llmner on `{', '.join(_datasets(meta))}` "
        f"(base model `{describe_base(meta)}`, quantization `{meta.get('quantization')}`)."
    ]
    lines += _about(meta) + _labels(meta) + _training(meta, adapter_config)
    lines += ["", "## Test scores", ""]
    rows = [(k, _fmt(metrics[k])) for k in METRIC_KEYS if k in metrics]
    lines += _table(rows, ("metric", "value")) if rows else ["No test scores were recorded."]
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "import llmner",
        f'ner = llmner.load("{repo}")  # or the local folder',
        'print(ner.predict(["Aspirin can cause Reye syndrome in children."]))',
        "```",
        "",
        "`llmner predict --model FOLDER --input texts.txt --output entities.jsonl` does "
        "the same on files.",
        "",
        _with_peft_alone(meta, needs or []),
        "",
    ]
    return "\n".join(lines)


def _with_peft_alone(meta: dict, needs: list[str]) -> str:
    """What running the adapter without llmner takes, for its kind."""
    load = "`PeftModel.from_pretrained(base, FOLDER)` on the base model loaded with "
    if meta.get("format", "tagging") == "generative":
        return (
            f"With peft alone: {load}`AutoModelForCausalLM`; the prompt it was trained on "
            "and the parser that turns its answers into entities are llmner's (the prompt's "
            "name and version are in `llmner.yaml`)."
        )
    if needs:
        return (
            "Not with peft alone: this adapter was trained on inputs llmner builds ("
            + "; ".join(needs)
            + f"). {load}`AutoModelForTokenClassification` loads it, but fed ordinary "
            "inputs it tags wrongly: run it with `llmner.load`, or build the same inputs "
            "(see `format_options` in `llmner.yaml`)."
        )
    return (
        f"With peft alone: {load}`AutoModelForTokenClassification` (`num_labels` and the "
        "label names from `llmner.yaml`)."
    )


def _merge_section(meta: dict) -> list[str]:
    trained = meta.get("trained_quantization", "none")
    base = meta.get("merge_base", "original")
    lines = ["", "## Merge", ""]
    if trained in ("4bit", "8bit") and base == "quantized":
        lines.append(
            f"The adapter was trained on the {trained} base. It is merged into that base's "
            "dequantized values, the weights it was trained and scored against, so this "
            "model predicts what the adapter predicts."
        )
    elif trained in ("4bit", "8bit"):
        lines.append(
            f"The adapter was trained on the {trained} base but is merged into the base's "
            "original weights: a model close to the adapter, not the one that was scored."
        )
    else:
        lines.append("The adapter was trained on the unquantized base and merged into it.")
    check = meta.get("merge_check")
    if check:
        lines += ["", f"Checked on {check['sentences']} sentences:", ""]
        lines += _table(
            [
                ("entities (adapter / merged)",
                 f"{check['adapter_entities']} / {check['merged_entities']}"),
                ("shared entities", check["shared_entities"]),
                ("entity agreement", check["entity_agreement"]),
                ("identical sentences", f"{check['identical_sentences']} / {check['sentences']}"),
                ("strict F1 (adapter / merged)", f"{check['adapter_f1']} / {check['merged_f1']}"),
            ],
            ("", "value"),
        )  # fmt: skip
    return lines


def merged_card(meta: dict, guard: list[str]) -> str:
    """The ``README.md`` of a merged model folder: what it was merged from and into, the
    measured agreement with the adapter (``merge_check``), and how to run it."""
    task = FORMATS[meta.get("format", "tagging")].pipeline_tag
    lines = ["---", yaml.safe_dump(metadata(meta, {}), sort_keys=False).rstrip(), "---", ""]
    lines += [f"# {describe_base(meta)} NER model ({meta.get('format', 'tagging')}, merged)", ""]
    lines += [
        f"A LoRA adapter trained with llmner on `{', '.join(_datasets(meta))}`, merged into "
        f"its base model `{describe_base(meta)}` ({meta.get('merged_dtype', 'float32')})."
    ]
    lines += _about(meta) + _merge_section(meta) + _labels(meta) + _training(meta)
    lines += ["", "## Use", "", "```python", "import llmner", 'ner = llmner.load("FOLDER")',
              'print(ner.predict(["Aspirin can cause Reye syndrome in children."]))', "```",
              ""]  # fmt: skip
    if guard:
        lines.append(
            "transformers alone cannot run this model: "
            + "; ".join(guard)
            + '. `AutoModelForTokenClassification` and `pipeline("token-classification")` '
            "refuse it (its `auto_map` names a guard class) instead of predicting wrong tags."
        )
    elif task == "token-classification":
        lines += ["With transformers alone:", "", "```python",
                  "from transformers import pipeline",
                  'ner = pipeline("token-classification", model="FOLDER", '
                  'aggregation_strategy="first")', "```"]  # fmt: skip
    else:
        lines.append(
            "With transformers alone, `AutoModelForCausalLM` loads it; the prompt and the "
            "answer parser are llmner's (`llmner.yaml`)."
        )
    return "\n".join(lines) + "\n"
