"""A recipe script (``recipes/NAME.py``) loaded as a module, for tests that call its parts."""

from __future__ import annotations

import importlib.util
from pathlib import Path

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def load_recipe(name: str):
    """``recipes/NAME.py`` as a module, loaded afresh."""
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
