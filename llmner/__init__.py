"""llmner: fine-tune decoder LLMs for named entity recognition."""

__version__ = "0.1.0"

__all__ = ["load"]


def load(path, **kwargs):
    """Load a trained model for prediction: see :func:`llmner.predict.load`."""
    from llmner.predict import load as _load

    return _load(path, **kwargs)
