"""Token-classification heads for decoders that transformers ships without one.

transformers gives most decoders a ``*ForTokenClassification`` class built on its
``GenericForTokenClassification`` (the base model, dropout and a linear ``score`` head).
Gemma 3's text model has sequence classification but no token classification, so
``AutoModelForTokenClassification`` refuses it; this module defines the class the same way
transformers defines its siblings and registers it with the auto class, so Gemma 3 loads,
trains, saves and merges like any other decoder. Importing the module registers it.

Example:
    >>> from transformers import AutoModelForTokenClassification, Gemma3TextConfig
    >>> config = Gemma3TextConfig(vocab_size=64, hidden_size=16, intermediate_size=32,
    ...     num_hidden_layers=1, num_attention_heads=2, num_key_value_heads=1, head_dim=8,
    ...     num_labels=3)
    >>> type(AutoModelForTokenClassification.from_config(config)).__name__
    'Gemma3TextForTokenClassification'
"""

from __future__ import annotations

from transformers import AutoModelForTokenClassification, Gemma3TextConfig
from transformers.modeling_layers import GenericForTokenClassification
from transformers.models.gemma3.modeling_gemma3 import Gemma3PreTrainedModel

__all__ = ["Gemma3TextForTokenClassification"]


class Gemma3TextForTokenClassification(GenericForTokenClassification, Gemma3PreTrainedModel):
    """Gemma 3's text model with a token-classification head (``score``), as
    transformers' ``Gemma3TextForSequenceClassification`` is built."""

    config: Gemma3TextConfig
    config_class = Gemma3TextConfig
    input_modalities = ("text",)


AutoModelForTokenClassification.register(
    Gemma3TextConfig, Gemma3TextForTokenClassification, exist_ok=True
)
