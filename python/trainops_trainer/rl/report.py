"""The `check-data` report for RL data: preference rows (DPO) and prompt rows (GRPO).

Rows are validated by the loaders the RL stages train with (`rl/data.py`), so check-data and
training accept and reject the same rows. The report keeps the SFT report's keys and adds
`pair_tokens` (preference) and `references` (prompt).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..data.formats import FORMATS as SFT_FORMATS, detect_format
from ..data.prompts import Prompter
from ..data.reader import RawData
from ..data.report import find_text_duplicates, length_stats
from ..errors import DataError
from .data import PREFERENCE_FIELDS, PROMPT_FIELD, RlData, analyse_preferences, analyse_prompts

RL_FORMATS = ("preference", "prompt")
PREFERENCE_MEASURE = "prompt+chosen or prompt+rejected, whichever is longer"
PROMPT_MEASURE = "prompt"


def detect_data_format(raw: RawData) -> str:
    """Detect any format the trainer reads: preference, prompt or one of the SFT formats."""
    columns: set[str] = set()
    for row in raw.rows[:200]:
        columns.update(row.keys())
    if set(PREFERENCE_FIELDS[1:]) <= columns:
        return "preference"
    # The GRPO loader detects `prompt` before the SFT formats too.
    if PROMPT_FIELD in columns:
        return "prompt"
    try:
        return detect_format(raw)
    except DataError:
        found = ", ".join(sorted(columns)) or "(none)"
        raise DataError(f"cannot detect the data format of {raw.path} from its columns ({found}); set `format` "
                        f"to one of {', '.join(SFT_FORMATS + RL_FORMATS)}") from None


def token_counts(tokenizer, texts: list[str]) -> list[int]:
    """Count tokens the way TRL tokenizes text rows: `tokenizer(text)`, special tokens included."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return [len(encoding.ids) for encoding in backend.encode_batch(texts, add_special_tokens=True)]
    return [len(ids) for ids in tokenizer(texts)["input_ids"]]


def _complete_report(data: RlData, duplicate_texts: list[str]) -> dict[str, Any]:
    report = data.report
    answers = ("chosen", "rejected", "answer")
    empty = [p for p in report["problems"] if p["kind"] == "empty_field" and p["field"] in answers]
    report["empty_answers"] = sum(p["count"] for p in empty)
    report["duplicates"] = find_text_duplicates(list(zip(data.row_numbers, duplicate_texts)))
    return report


def preference_report(raw: RawData, detected: bool, prompter: Prompter, tokenizer, tokenizer_name: str,
                      max_length: int) -> dict[str, Any]:
    """Describe preference rows as the DPO stage would train on them.

    TRL's DPOTrainer (trl 1.16) cuts prompt+chosen and prompt+rejected to `max_length`, keeping
    the start, and drops pairs whose prompt alone has `max_length` tokens or more.
    """
    data = analyse_preferences(raw, prompter, detected)
    prompts, chosen, rejected = (data.rows[name] for name in PREFERENCE_FIELDS)
    prompt_lengths = token_counts(tokenizer, prompts)
    chosen_lengths = token_counts(tokenizer, [p + c for p, c in zip(prompts, chosen)])
    rejected_lengths = token_counts(tokenizer, [p + r for p, r in zip(prompts, rejected)])
    longer = [max(c, r) for c, r in zip(chosen_lengths, rejected_lengths)]

    dropped: Counter = Counter()
    truncated = 0
    for prompt_length, length in zip(prompt_lengths, longer):
        if prompt_length >= max_length:
            dropped["prompt_over_max_length"] += 1
        elif length > max_length:
            truncated += 1

    report = _complete_report(data, ["\x1f".join(texts) for texts in zip(prompts, chosen, rejected)])
    numbers = data.row_numbers
    report["tokens"] = {**length_stats(longer, numbers, max_length, tokenizer_name), "measure": PREFERENCE_MEASURE}
    report["pair_tokens"] = {"chosen": length_stats(chosen_lengths, numbers, max_length, tokenizer_name),
                             "rejected": length_stats(rejected_lengths, numbers, max_length, tokenizer_name)}
    report.update({"length_policy": "truncate", "kept_rows": len(numbers) - sum(dropped.values()),
                   "dropped": dict(dropped), "truncated": truncated})
    report["ok"] = not report["problems"] and report["kept_rows"] > 0
    return report


def prompt_report(raw: RawData, detected: bool, prompter: Prompter, tokenizer, tokenizer_name: str,
                  max_length: int, needs_answer: bool) -> dict[str, Any]:
    """Describe prompt rows as the GRPO stage would train on them.

    GRPO (trl 1.16) neither cuts nor drops prompts, so rows over `max_length` are only counted.
    """
    data = analyse_prompts(raw, "prompt", prompter, needs_answer)
    data.report["format_detected"] = detected
    prompts, answers = data.rows["prompt"], data.rows["answer"]
    lengths = token_counts(tokenizer, prompts)
    report = _complete_report(data, ["\x1f".join(texts) for texts in zip(prompts, answers)])
    report["tokens"] = {**length_stats(lengths, data.row_numbers, max_length, tokenizer_name),
                        "measure": PROMPT_MEASURE}
    report["length_policy"] = "keep"
    return report


def analyse_rl_data(raw: RawData, data_format: str, detected: bool, prompter: Prompter, tokenizer,
                    tokenizer_name: str, max_length: int, needs_answer: bool) -> dict[str, Any]:
    if not raw.rows:
        raise DataError(f"{raw.path} has no rows")
    if data_format == "preference":
        return preference_report(raw, detected, prompter, tokenizer, tokenizer_name, max_length)
    return prompt_report(raw, detected, prompter, tokenizer, tokenizer_name, max_length, needs_answer)
