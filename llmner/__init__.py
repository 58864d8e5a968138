"""llmner: fine-tune decoder LLMs for named entity recognition."""

import os

__version__ = "0.1.0"

# oneDNN keeps a compiled kernel for every matrix shape it has seen (1,024 by default);
# NER batches change shape at every step, and on the CPU that cache grew a training run's
# resident memory by about 28 MB a step. 64 entries hold a step's shapes at the same speed
# (measured: recipes/results/train-cost/README.md). A value the user set is kept.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")

__all__ = ["load"]


def load(path, **kwargs):
    """Load a trained model for prediction: see :func:`llmner.predict.load`."""
    from llmner.predict import load as _load

    return _load(path, **kwargs)
