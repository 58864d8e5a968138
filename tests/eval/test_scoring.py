import pytest

from llmner.eval.scoring import score

GOLD = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-PER"]]


def test_a_known_case_by_hand():
    pred = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "I-ORG", "B-PER"]]
    s = score(GOLD, pred)
    # gold: PER, LOC, ORG, PER (4); predicted: PER, ORG(0-2), PER (3); correct: PER, PER (2)
    assert s["precision"] == pytest.approx(2 / 3)
    assert s["recall"] == pytest.approx(2 / 4)
    assert s["f1"] == pytest.approx(2 * (2 / 3) * (2 / 4) / (2 / 3 + 2 / 4))
    assert s["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert s["per_type"]["LOC"]["recall"] == 0.0 and s["per_type"]["LOC"]["support"] == 1


def test_strict_and_default_modes_differ_on_an_invalid_transition():
    # An entity predicted as I-PER I-PER (no B-): conlleval's default mode accepts it,
    # seqeval's strict IOB2 mode does not.
    gold = [["B-PER", "I-PER", "O"]]
    pred = [["I-PER", "I-PER", "O"]]
    s = score(gold, pred)
    assert s["f1_default"] == 1.0
    assert s["f1"] == 0.0
    assert "strict" in s["scoring"]["f1"] and "default" in s["scoring"]["f1_default"]


def test_perfect_and_empty_predictions():
    assert score(GOLD, GOLD)["f1"] == 1.0
    empty = score(GOLD, [["O"] * len(g) for g in GOLD])
    assert empty["f1"] == 0.0 and empty["recall"] == 0.0


def test_misaligned_inputs_are_refused():
    with pytest.raises(ValueError, match="sentence 0"):
        score([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="1 gold sentences but 2 predicted"):
        score([["O"]], [["O"], ["O"]])
