"""llmner inside other NLP libraries.

:mod:`llmner.integrations.spacy` is a spaCy pipeline component (``nlp.add_pipe("llmner")``,
registered through the ``spacy_factories`` entry point) and writes spaCy ``DocBin`` files
for ``llmner predict --output x.spacy``. spaCy is an optional extra: ``pip install
'llmner[spacy]'``.
"""

from __future__ import annotations

from llmner.errors import InputError

__all__ = ["require_spacy"]


def require_spacy(what: str) -> None:
    """Raise a one-line :class:`~llmner.errors.InputError` when spaCy is not installed.

    Args:
        what: what needs spaCy, for the message (e.g. ``"--output x.spacy"``).
    """
    try:
        import spacy  # noqa: F401  (optional: this is the availability check)
    except ImportError:
        raise InputError(f"{what} needs spaCy: pip install 'llmner[spacy]'") from None
