"""Tiny fine-tuning runs shared by the adapter, predict and CLI tests.

Each run is trained once per test session (a few seconds on a 2-layer random Llama) and
kept under the session's base temporary folder, so every test file that asks for it gets
the same run directory.
"""

from __future__ import annotations

from pathlib import Path

from llmner.config import RunConfig
from llmner.train.run import run_finetune

ASSETS = Path(__file__).resolve().parents[1] / "assets"
TINY_CONLL = ASSETS / "tiny.conll"
# The 4-bit run (``tiny_run(..., "4bit", **FOUR_BIT)`` on the 128-wide Llama) trains longer
# at a higher rate: after 4 steps at 1e-2 it tagged 4 of the 99 words as entities, too few
# for the equality tests built on it to prove much; after 8 at 3e-2, 26 where its 4-bit
# layers compute in bf16 (a CPU with native bf16) and 9 where they compute in fp32.
FOUR_BIT = dict(quantization="4bit", max_steps=8, learning_rate=3e-2)


def relabelled_conll(folder: Path, mapping: dict[str, str]) -> Path:
    """``tiny.conll`` with entity types renamed (``{"ORG": "MISC"}``)."""
    out = folder / ("tiny-" + "-".join(mapping.values()) + ".conll")
    lines = []
    for line in TINY_CONLL.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-1] != "O" and parts[-1][2:] in mapping:
            parts[-1] = parts[-1][:2] + mapping[parts[-1][2:]]
        lines.append(" ".join(parts))
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def tiny_run(
    tmp_path_factory, model_dir: Path, name: str, conll: Path = TINY_CONLL, **overrides
) -> Path:
    """The run directory ``name``, trained on first use: a few steps on ``conll``."""
    out = tmp_path_factory.getbasetemp() / "llmner-tiny-runs" / name
    if (out / "metrics.json").exists():
        return out
    kwargs = dict(
        model_name_or_path=str(model_dir), train_file=str(conll), validation_file=str(conll),
        test_file=str(conll), quantization="none", output_dir=str(out), max_steps=4,
        learning_rate=1e-2, per_device_train_batch_size=4, logging_steps=1, lora_r=4,
        lora_alpha=8, seed=0, eval_strategy="no", lora_dropout=0.05,
    )  # fmt: skip
    if overrides.get("format", "tagging") == "tagging" and not {"repeat", "echo"} & set(overrides):
        kwargs["repeat"] = 0  # a plain causal run unless asked (the decoder default is 1)
    kwargs.update(overrides)
    run_finetune(RunConfig.of(**kwargs))
    return out


def run_predictions(run: Path) -> list[str]:
    """The predicted tags (last column) of a run's ``predictions.conll``, flattened."""
    rows = (line.split() for line in (run / "predictions.conll").read_text().splitlines())
    return [r[-1] for r in rows if r]


def entity_tags(tags) -> int:
    """How many tags are not ``O`` in ``tags`` (a flat list, or a list of sentences)."""
    flat = [t for x in tags for t in ([x] if isinstance(x, str) else x)]
    return sum(t != "O" for t in flat)
