"""Tokenize examples into input ids and labels, and apply the length policy."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from ..errors import DataError
from .formats import Example
from .prompts import Prompter

IGNORE_INDEX = -100


@dataclass
class Encoded:
    """Token ids and labels of the rows kept, with why the others were dropped."""

    input_ids: list[list[int]]
    labels: list[list[int]]
    row_numbers: list[int]
    lengths_before_policy: list[int]
    dropped: Counter = field(default_factory=Counter)
    truncated: int = 0

    def lengths(self) -> list[int]:
        return [len(ids) for ids in self.input_ids]


def tokenize_texts(tokenizer, texts: list[str]) -> list[list[int]]:
    """Encode all texts in one batched call, which the Rust tokenizer runs on all cores."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return [encoding.ids for encoding in backend.encode_batch(texts, add_special_tokens=False)]
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def encode_examples(examples: list[Example], prompter: Prompter, tokenizer, max_length: int,
                    overlength: str, source: str = "data") -> Encoded:
    prompts = tokenize_texts(tokenizer, [prompter.prompt_text(e) for e in examples])
    targets = tokenize_texts(tokenizer, [prompter.target_text(e) for e in examples])
    if prompter.add_bos:
        prompts = [[tokenizer.bos_token_id] + ids for ids in prompts]

    result = Encoded([], [], [], [])
    too_long: list[int] = []
    for example, prompt_ids, target_ids in zip(examples, prompts, targets):
        total = len(prompt_ids) + len(target_ids)
        result.lengths_before_policy.append(total)
        if not target_ids:
            result.dropped["no_learnable_tokens"] += 1
            continue
        if total > max_length:
            if overlength == "reject":
                too_long.append(example.row_number)
                continue
            if overlength == "drop":
                result.dropped["over_max_length"] += 1
                continue
            room = max_length - len(prompt_ids)
            if room < 1:
                # Truncating would leave no learnable token, so the row is dropped instead.
                result.dropped["prompt_over_max_length"] += 1
                continue
            target_ids = target_ids[:room]
            result.truncated += 1
        result.input_ids.append(prompt_ids + target_ids)
        result.labels.append([IGNORE_INDEX] * len(prompt_ids) + target_ids)
        result.row_numbers.append(example.row_number)

    if too_long:
        rows = ", ".join(str(n) for n in too_long[:5])
        raise DataError(f"{len(too_long)} rows of {source} exceed max_length {max_length} tokens "
                        f"(first rows: {rows}); raise `max_length` or set `overlength` to drop or truncate")
    return result


class PaddingCollator:
    """Pad a batch to its longest row; the attention mask comes from the row lengths, not the pad id."""

    def __init__(self, pad_token_id: int):
        self.pad_token_id = pad_token_id

    def __call__(self, rows: list[dict]) -> dict:
        import torch

        longest = max(len(row["input_ids"]) for row in rows)
        input_ids = torch.full((len(rows), longest), self.pad_token_id, dtype=torch.long)
        labels = torch.full((len(rows), longest), IGNORE_INDEX, dtype=torch.long)
        attention_mask = torch.zeros((len(rows), longest), dtype=torch.long)
        for index, row in enumerate(rows):
            length = len(row["input_ids"])
            input_ids[index, :length] = torch.as_tensor(row["input_ids"], dtype=torch.long)
            labels[index, :length] = torch.as_tensor(row["labels"], dtype=torch.long)
            attention_mask[index, :length] = 1
        return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}
