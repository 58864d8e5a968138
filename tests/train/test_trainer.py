"""llmner.train.trainer: the validation curve, from Trainer's history and from log.csv."""

import pytest

from llmner.errors import InputError
from llmner.train.trainer import CSVLoggerCallback, validation_curve, validation_curve_from_log


class _State:
    is_world_process_zero = True

    def __init__(self, step, epoch, history=()):
        self.global_step, self.epoch, self.log_history = step, epoch, list(history)


def test_the_log_written_reads_back_as_the_curve_of_the_history(tmp_path):
    history = [
        {"loss": 0.9, "step": 5, "epoch": 0.5},
        {"eval_f1": 0.4, "eval_loss": 0.3, "step": 10, "epoch": 1.0},
        {"eval_f1": 0.7, "eval_loss": 0.2, "step": 20, "epoch": 2.0},
    ]
    logger = CSVLoggerCallback(tmp_path / "log.csv")
    for entry in history:
        logs = {k: v for k, v in entry.items() if k not in ("step", "epoch")}
        logger.on_log(None, _State(entry["step"], entry["epoch"]), None, logs=logs)
    curve = validation_curve(history, "f1")
    assert [p["f1"] for p in curve] == [0.4, 0.7]
    assert validation_curve_from_log(tmp_path / "log.csv") == curve


def test_a_bad_log_line_is_named(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("step,epoch,key,value\n10,1.0,eval_f1,0.5\n20,2.0,eval_f1,n/a\n")
    with pytest.raises(InputError) as err:
        validation_curve_from_log(log)
    assert err.value.line == 3 and str(log) in str(err.value)


def test_a_fresh_start_empties_the_log_and_a_resumption_keeps_it_to_its_checkpoint(tmp_path):
    log = tmp_path / "log.csv"
    logger = CSVLoggerCallback(log)
    for step in (10, 20, 30):  # an attempt killed after step 30, its checkpoint at step 20
        logger.on_log(None, _State(step, step / 10), None, logs={"eval_f1": step / 100})
    logger.on_log(None, _State(20, 2.0), None, logs={"loss": 0.3})  # logged after the save
    resumed = _State(20, 2.0, history=[{"eval_f1": 0.2, "step": 20, "epoch": 2.0}])
    logger.on_train_begin(None, resumed, None)
    assert [p["step"] for p in validation_curve_from_log(log)] == [10, 20]
    assert "loss" not in log.read_text()  # at the checkpoint's step, but not in its history
    logger.on_log(None, _State(30, 3.0), None, logs={"eval_f1": 0.9})
    assert [p["f1"] for p in validation_curve_from_log(log)] == [0.1, 0.2, 0.9]
    logger.on_train_begin(None, _State(0, 0.0), None)
    assert log.read_text().splitlines() == ["step,epoch,key,value"]


def test_an_empty_log_gets_its_header(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("")
    logger = CSVLoggerCallback(log)
    logger.on_train_begin(None, _State(0, 0.0), None)
    logger.on_log(None, _State(5, 1.0), None, logs={"eval_f1": 0.5})
    assert validation_curve_from_log(log) == [{"epoch": 1.0, "step": 5, "f1": 0.5}]


@pytest.mark.parametrize(
    "text, line",
    [
        ("step,epoch,key,value\n10,1.0,loss,0.5\nten,2.0,loss,0.4\n", 3),
        ("step,epoch,key,value\n10,1.0,loss\n", 2),
        ("when,what\n10,loss\n", 1),
    ],
    ids=["step-not-a-number", "a-field-missing", "another-header"],
)
def test_a_log_it_cannot_trim_is_named_with_its_line(tmp_path, text, line):
    log = tmp_path / "log.csv"
    log.write_text(text)
    with pytest.raises(InputError) as err:
        CSVLoggerCallback(log).on_train_begin(None, _State(0, 0.0), None)
    assert err.value.line == line and str(log) in str(err.value)
    assert log.read_text() == text  # left as it was
