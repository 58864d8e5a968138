import json
import os
import subprocess

from llmner.provenance import CPU_FEATURES, PACKAGES, device_label, mark_start, provenance
from llmner.rundir import load_run, write_run


def _git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_a_run_records_the_commit_of_its_checkout_and_whether_it_was_dirty(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "f.txt").write_text("a")
    _git(tmp_path, "add", "f.txt")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True
    ).stdout.strip()
    clean = provenance(tmp_path)
    assert clean["commit"] == head and clean["dirty"] is False
    (tmp_path / "f.txt").write_text("b")
    assert provenance(tmp_path)["dirty"] is True


def test_a_run_marked_at_its_start_records_the_commit_it_started_from(tmp_path):
    _git(tmp_path, "init", "-q")
    (tmp_path / "f.txt").write_text("a")
    _git(tmp_path, "add", "f.txt")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    started = provenance(tmp_path)["commit"]
    mark_start(tmp_path)
    (tmp_path / "f.txt").write_text("b")  # the checkout moves on while the run trains
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "two")
    assert provenance(tmp_path)["commit"] == started and not provenance(tmp_path)["dirty"]
    mark_start(tmp_path)  # a second mark in the same process keeps the first
    assert provenance(tmp_path)["commit"] == started


def test_outside_git_the_commit_is_null_not_a_crash(tmp_path):
    p = provenance(tmp_path)
    assert p["commit"] is None and p["dirty"] is None
    assert p["date"].endswith("Z") and p["versions"]["torch"]
    assert set(p["versions"]) == {"python", *PACKAGES}
    assert p["device"]["cpu_count"] >= 1 and device_label(p)


def test_the_cpu_features_that_set_speed_and_bf16_are_recorded_and_labelled():
    """Two CPUs of one model name can differ in AVX512 and native bf16, and with them in
    speed: the device records which it has, and its table cell says the strongest."""
    features = provenance()["device"]["cpu_features"]
    if os.path.isfile("/proc/cpuinfo"):
        assert isinstance(features, list) and set(features) <= set(CPU_FEATURES)
    old = {"device": {"cpu": "AMD EPYC", "cpu_count": 2}}  # written before features existed
    assert device_label(old) == "2-core AMD EPYC"
    for has, label in ((["avx2"], "AVX2"), (["avx2", "avx512f"], "AVX512"),
                       (["avx2", "avx512f", "avx512_bf16", "amx_bf16"], "AMX")):  # fmt: skip
        prov = {"device": {**old["device"], "cpu_features": has}}
        assert device_label(prov) == f"2-core AMD EPYC ({label})"


def test_metrics_json_carries_the_provenance_of_the_process_that_wrote_it(tmp_path):
    given = {"provenance": {"commit": "stale"}, "model": "m"}
    run = write_run(tmp_path / "r", [["B-PER"]], [["B-PER"]], metrics=given)
    written = json.loads((run / "metrics.json").read_text())
    assert written["provenance"]["commit"] != "stale"
    assert set(written["provenance"]) >= {"llmner", "commit", "dirty", "date", "device"}
    assert load_run(run).metrics["provenance"] == written["provenance"]


def test_a_marked_run_records_how_busy_the_machine_was_from_its_mark_to_its_end(tmp_path):
    mark_start(tmp_path)
    sum(i * i for i in range(200_000))  # some CPU time after the mark
    machine = provenance(tmp_path)["machine"]
    assert len(machine["load_at_start"]) == 3 and len(machine["load_at_end"]) == 3
    assert machine["wall_seconds"] >= 0 and machine["cpu_seconds"] >= 0
    assert machine["cpu_seconds"] <= machine["wall_seconds"] * os.cpu_count() + 0.2
