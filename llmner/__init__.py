"""llmner: fine-tune decoder LLMs for named entity recognition."""

__version__ = "0.1.0"

