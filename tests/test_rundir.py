import json

import pytest

from llmner.errors import InputError
from llmner.rundir import load_run, load_runs, read_predictions


def test_round_trip(make_run):
    gold = [["B-PER", "I-PER", "O"], ["O", "B-LOC"]]
    pred = [["B-PER", "O", "O"], ["I-LOC", "O"]]
    run = load_run(make_run("r", gold, pred, config={"prompt": "ner.v1"}))
    assert run.name == "r"
    assert run.predictions.gold == gold
    assert run.predictions.pred == pred  # invalid I- kept as written, not repaired
    assert run.config == {"prompt": "ner.v1"}
    assert run.model == "tiny-llama"


def test_config_is_optional(make_run):
    d = make_run("r", [["O"]], [["O"]])
    (d / "config.yaml").unlink()
    assert load_run(d).config == {}


def test_model_falls_back_to_config(make_run):
    d = make_run("r", [["O"]], [["O"]], config={"model_name_or_path": "smol"}, model=None)
    assert load_run(d).model == "smol"


@pytest.mark.parametrize("missing", ["metrics.json", "predictions.conll"])
def test_missing_file_is_named(make_run, missing):
    d = make_run("r", [["O"]], [["O"]])
    (d / missing).unlink()
    with pytest.raises(InputError, match=missing):
        load_run(d)


def test_missing_directory(tmp_path):
    with pytest.raises(InputError, match="no such directory"):
        load_run(tmp_path / "nope")


def test_malformed_json_names_file_and_line(make_run):
    d = make_run("r", [["O"]], [["O"]])
    (d / "metrics.json").write_text('{\n  "f1": 0.5,\n  oops\n}')
    with pytest.raises(InputError) as e:
        load_run(d)
    assert e.value.path.endswith("metrics.json") and e.value.line == 3


def test_metrics_must_be_an_object(make_run):
    d = make_run("r", [["O"]], [["O"]])
    (d / "metrics.json").write_text(json.dumps([1, 2]))
    with pytest.raises(InputError, match="JSON object"):
        load_run(d)


def test_malformed_yaml_names_file(make_run):
    d = make_run("r", [["O"]], [["O"]])
    (d / "config.yaml").write_text("a: [1, 2\n")
    with pytest.raises(InputError, match="config.yaml"):
        load_run(d)


def test_prediction_line_with_two_columns(tmp_path):
    path = tmp_path / "predictions.conll"
    path.write_text("EU B-ORG B-ORG\nrejects O\n")
    with pytest.raises(InputError) as e:
        read_predictions(path)
    assert e.value.line == 2 and "3 columns" in e.value.message


def test_empty_predictions(tmp_path):
    path = tmp_path / "predictions.conll"
    path.write_text("\n\n")
    with pytest.raises(InputError, match="no sentences"):
        read_predictions(path)


def test_fingerprint_ignores_predictions_only(make_run):
    gold = [["B-PER", "O"]]
    a = load_run(make_run("a", gold, gold)).predictions
    b = load_run(make_run("b", gold, [["O", "O"]])).predictions
    c = load_run(make_run("c", [["B-LOC", "O"]], gold)).predictions
    assert a.fingerprint() == b.fingerprint() != c.fingerprint()


def test_clashing_names_are_made_unique(tmp_path, make_run):
    from llmner.rundir import write_run

    a = write_run(tmp_path / "x" / "run", [["O"]], [["O"]])
    b = write_run(tmp_path / "y" / "run", [["O"]], [["O"]])
    assert [r.name for r in load_runs([a, b])] == ["x/run", "y/run"]
    assert [r.name for r in load_runs([a, a])] == ["x/run#1", "x/run#2"]
