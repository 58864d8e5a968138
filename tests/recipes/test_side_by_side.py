"""The quick start's side-by-side table."""

from lab.side_by_side import side_by_side

from llmner.eval.scoring import score

GOLD = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O", "B-PER"]]


def test_side_by_side_lists_every_type_of_every_run():
    a = score(GOLD, GOLD) | {"train_seconds": 3.0}
    b = score([["B-X"]], [["B-X"]]) | {"train_seconds": 9.0}
    table = side_by_side({"a": a, "b": b})
    lines = table.splitlines()
    assert lines[0].startswith("| type") and "a F1" in lines[0] and "b F1" in lines[0]
    assert any(line.startswith("| X ") and "–" in line for line in lines)
    assert lines[-1].startswith("| train s") and "9" in lines[-1]
