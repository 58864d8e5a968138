"""llmner: fine-tune decoder LLMs for named entity recognition."""

import logging
import os

__version__ = "0.1.0"

# oneDNN keeps a compiled kernel for every matrix shape it has seen (1,024 by default);
# NER batches change shape at every step, and on the CPU that cache grew a training run's
# resident memory by about 28 MB a step. 64 entries hold a step's shapes at the same speed
# (measured: docs/results/train-cost.md). A value the user set is kept.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")

# On CPUs with AVX512-BF16, importing bitsandbytes (which ``import peft`` does) tries to
# fetch an optional 4-bit matmul kernel from the Hugging Face hub through the ``kernels``
# package and logs a warning when it cannot (and ``kernels`` one more with HF_HUB_OFFLINE
# set). bitsandbytes then uses its own CPU kernel, and llmner scores 4-bit models on the
# CPU with dequantized weights anyway: nothing to act on.
_NO_HUB_KERNEL = "Failed to load CPU gemm_4bit_forward from kernels-community"
_OFFLINE_TRUST = "Skipping publisher trust check for 'kernels-community/quantization-bitsandbytes'"
logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(
    lambda record: not record.getMessage().startswith(_NO_HUB_KERNEL)
)
logging.getLogger("kernels._internals.hf_hub").addFilter(
    lambda record: not record.getMessage().startswith(_OFFLINE_TRUST)
)

__all__ = ["load"]


def load(path, **kwargs):
    """Load a trained model for prediction: see :func:`llmner.predict.load`."""
    from llmner.predict import load as _load  # lazy: every llmner.* import runs this file

    return _load(path, **kwargs)
