"""Named datasets: the bundled ones, plus any folder of CoNLL files.

A dataset is named by a bundled name (``bc5cdr``, ``wnut17``) or a folder holding
``train.txt``, ``dev.txt`` and ``test.txt``.

Example:
    >>> spec = get_dataset("bc5cdr")
    >>> spec.labels.types
    ['Chemical', 'Disease']
    >>> spec.split_path("validation").name
    'dev.txt'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from llmner.data.types import LabelSet
from llmner.errors import InputError

__all__ = ["BUNDLED", "DatasetSpec", "get_dataset", "list_datasets"]

BUNDLED_DIR = Path(__file__).parent / "bundled"

_SPLIT_FILES = {"train": "train.txt", "validation": "dev.txt", "test": "test.txt"}


@dataclass
class DatasetSpec:
    """Where a dataset's splits lie and what its entity types mean."""

    name: str
    folder: Path
    labels: LabelSet
    licence: str = ""

    def split_path(self, split: str) -> Path:
        if split not in _SPLIT_FILES:
            raise InputError(f"unknown split {split!r}; expected one of {list(_SPLIT_FILES)}")
        return self.folder / _SPLIT_FILES[split]


BUNDLED: dict[str, DatasetSpec] = {
    "bc5cdr": DatasetSpec(
        "bc5cdr",
        BUNDLED_DIR / "bc5cdr",
        LabelSet(
            ["Chemical", "Disease"],
            {
                "Chemical": "a chemical compound or drug, e.g. lithium, haloperidol, "
                "nicotinic acid",
                "Disease": "a disease, disorder or symptom, e.g. hypertension, "
                "myocardial infarction, nausea",
            },
        ),
        "CC BY 4.0",
    ),
    "wnut17": DatasetSpec(
        "wnut17",
        BUNDLED_DIR / "wnut17",
        LabelSet(
            ["corporation", "creative-work", "group", "location", "person", "product"],
            {
                "corporation": "a company or business, e.g. Google, Delta",
                "creative-work": "a named work: a song, film, book, game or show",
                "group": "a named group that is not a company: a band, team or party",
                "location": "a named place: a city, country, landmark or venue",
                "person": "a named person, real or fictional, including user handles",
                "product": "a named product or service, e.g. iPhone, Windows",
            },
        ),
        "CC BY 4.0",
    ),
}

CONLL2003_LABELS = LabelSet(
    ["LOC", "MISC", "ORG", "PER"],
    {
        "PER": "a person's name",
        "ORG": "an organisation: a company, team, institution or government body",
        "LOC": "a location: a country, city, region or geographic feature",
        "MISC": "another named entity: a nationality, event, language or title",
    },
)


def list_datasets() -> list[str]:
    return sorted(BUNDLED)


def get_dataset(name_or_folder: str) -> DatasetSpec:
    """A bundled dataset by name, or a folder of ``train/dev/test.txt`` CoNLL files.

    Raises:
        InputError: when the name is neither bundled nor an existing folder.
    """
    if name_or_folder in BUNDLED:
        return BUNDLED[name_or_folder]
    folder = Path(name_or_folder)
    if not folder.is_dir():
        raise InputError(
            f"unknown dataset {name_or_folder!r}; expected one of {list_datasets()} or a "
            "folder holding train.txt, dev.txt and test.txt"
        )
    labels = CONLL2003_LABELS if folder.name.lower().startswith("conll") else LabelSet([])
    return DatasetSpec(folder.name, folder, labels)
