"""Prompt and answer token ids, training features with the prompt masked, the collator.

Why the plain ``Trainer`` and not trl's ``SFTTrainer``: llmner's training loop is built
on ``transformers.Trainer`` for both formulations, and :func:`encode_example` already
gives ``input_ids`` and ``labels`` with every prompt token set to ``-100``. Owning the
masking here keeps it in one place, tested directly (no prompt token trains, no example
loses every label), instead of depending on how a given trl version re-tokenises
prompt/completion rows.

The prompt is the tokenizer's chat template with the rendered template as the user turn
(``add_generation_prompt=True``); the answer is what the template appends for the
assistant turn, cut after its first token past the answer text (the end marker, e.g.
``<|im_end|>``). Without a chat template the prompt is ``<rendered>\\nAnswer:\\n`` and
the answer ends with the eos token. Prompt and answer are tokenised separately, so the
ids seen in training are the ids generation starts from.
"""

from __future__ import annotations

import torch

from llmner.errors import InputError

__all__ = ["CompletionCollator", "PromptBuilder", "encode_example"]

PLAIN_SUFFIX = "\nAnswer:\n"


class PromptBuilder:
    """Token ids of prompts and answers for one tokenizer.

    Attributes:
        end_ids: ids that end an answer (the end marker, and eos if different).
        pad_id: the padding id (the pad token, else the end marker).
    """

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer
        self.chat = bool(getattr(tokenizer, "chat_template", None))
        if self.chat:
            marker = self._chat_end_marker()
        elif tokenizer.eos_token_id is not None:
            marker = tokenizer.eos_token_id
        else:
            raise InputError("the tokenizer has neither a chat template nor an eos token")
        self.end_marker = marker
        self.end_ids = [marker]
        if tokenizer.eos_token_id is not None and tokenizer.eos_token_id != marker:
            self.end_ids.append(tokenizer.eos_token_id)
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else marker

    def text_ids(self, text: str, special: bool = False) -> list[int]:
        """Ids of ``text`` as the tokenizer splits it; ``special`` adds its special tokens
        (e.g. a bos token)."""
        return self.tokenizer(text, add_special_tokens=special)["input_ids"]

    def _chat(self, user: str, answer: str | None, system: str | None = None) -> str:
        turns = [{"role": "system", "content": system}] if system is not None else []
        turns.append({"role": "user", "content": user})
        if answer is not None:
            turns.append({"role": "assistant", "content": answer})
        return self.tokenizer.apply_chat_template(
            turns, tokenize=False, add_generation_prompt=answer is None
        )

    def _chat_end_marker(self) -> int:
        probe = "Probe answer."
        prompt, full = self._chat("Probe.", None), self._chat("Probe.", probe)
        if not full.startswith(prompt + probe):
            raise InputError("the chat template does not write the answer right after the prompt")
        return self.text_ids(full[len(prompt) + len(probe) :])[0]

    def prompt_ids(self, user: str, system: str | None = None) -> list[int]:
        """Ids of the prompt for the user message ``user``, ready to generate from.

        ``system`` is the system turn; None leaves the chat template's default (SmolLM2's,
        for one, writes about 20 tokens of its own). Without a chat template a system text
        is the prompt's first line.
        """
        if self.chat:
            return self.text_ids(self._chat(user, None, system))
        head = f"{system}\n" if system else ""
        return self.text_ids(head + user + PLAIN_SUFFIX, special=True)

    def answer_ids(self, answer: str) -> list[int]:
        """Ids of ``answer`` followed by the end marker."""
        return self.text_ids(answer) + [self.end_marker]

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False)


def encode_example(prompt: list[int], answer: list[int], max_length: int | None = None) -> dict:
    """One training example: prompt tokens labelled ``-100``, answer tokens kept.

    Truncation cuts the answer's tail; an example whose answer would vanish entirely
    raises (the caller reports which sentence).

    Example:
        >>> encode_example([5, 6, 7], [8, 9])["labels"]
        [-100, -100, -100, 8, 9]
        >>> encode_example([5, 6, 7], [8, 9], max_length=4)["labels"]
        [-100, -100, -100, 8]
    """
    ids = (prompt + answer)[:max_length]
    labels = ([-100] * len(prompt) + answer)[:max_length]
    if all(label == -100 for label in labels):
        raise ValueError(
            f"max_length={max_length} leaves no answer token after the {len(prompt)}-token prompt"
        )
    return {
        "input_ids": ids,
        "attention_mask": [1] * len(ids),
        "labels": labels,
        "length": len(ids),
    }


class CompletionCollator:
    """Pads ``input_ids``, ``attention_mask`` and ``labels`` (with -100) into tensors.

    Other keys (``length``) are left out. Right padding, for training.

    Example:
        >>> batch = CompletionCollator(pad_id=0)([
        ...     {"input_ids": [4, 5, 6], "attention_mask": [1, 1, 1], "labels": [-100, 5, 6]},
        ...     {"input_ids": [4, 5], "attention_mask": [1, 1], "labels": [-100, 5]}])
        >>> batch["labels"].tolist()
        [[-100, 5, 6], [-100, 5, -100]]
    """

    def __init__(self, pad_id: int, pad_to_multiple_of: int | None = None) -> None:
        self.pad_id = pad_id
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        if self.pad_to_multiple_of:
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
        batch = {}
        for key, fill in (("input_ids", self.pad_id), ("attention_mask", 0), ("labels", -100)):
            batch[key] = torch.tensor(
                [list(f[key]) + [fill] * (width - len(f[key])) for f in features]
            )
        return batch
