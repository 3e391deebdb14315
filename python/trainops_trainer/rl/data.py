"""RL data: preference rows for DPO, prompt rows with a reference answer for GRPO.

Bad rows are found and reported the way SFT data is (kind, field, count, first rows),
and training stops with `data_error` before the model is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..data.formats import (CHAT_ROLES, Example, FORMATS as SFT_FORMATS, check_missing_columns, describe_problems,
                            detect_format, rows_to_examples)
from ..data.prompts import Prompter
from ..data.reader import Problem, RawData, read_rows
from ..data.report import REPORT_VERSION
from ..errors import DataError

PREFERENCE_FIELDS = ("prompt", "chosen", "rejected")
PROMPT_FIELD, ANSWER_FIELD = "prompt", "answer"


@dataclass
class RlData:
    """Rows ready for a TRL trainer, and the data report for the `start` event."""

    rows: dict[str, list[Any]]
    report: dict[str, Any]
    row_numbers: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(next(iter(self.rows.values()), []))


class ProblemSet:
    def __init__(self):
        self.problems: dict[str, Problem] = {}

    def add(self, kind: str, field: str, message: str, row_number: int) -> None:
        self.problems.setdefault(f"{kind}:{field}", Problem(kind, message, field)).add(row_number)

    def values(self) -> list[Problem]:
        return list(self.problems.values())


def _messages(value: Any) -> list[dict[str, str]] | None:
    """Return `value` as a list of {role, content} messages, or None when it is not one."""
    if not isinstance(value, list) or not value:
        return None
    for message in value:
        if not (isinstance(message, dict) and message.get("role") in CHAT_ROLES
                and isinstance(message.get("content"), str)):
            return None
    return [{"role": m["role"], "content": m["content"]} for m in value]


def _text_or_messages(row: dict, name: str, number: int, problems: ProblemSet,
                      missing_message: str | None = None) -> str | list[dict[str, str]] | None:
    value = row.get(name)
    if value is None:
        problems.add("missing_field", name, missing_message or f"rows without `{name}`", number)
        return None
    if isinstance(value, str):
        if not value.strip():
            problems.add("empty_field", name, f"rows where `{name}` is empty", number)
            return None
        return value.strip()
    messages = _messages(value)
    if messages is None:
        problems.add("invalid_messages", name, f"rows whose `{name}` is neither text nor a list of "
                     "{role, content} messages", number)
        return None
    return messages


def _assistant_text(value: str | list[dict[str, str]]) -> str:
    if isinstance(value, str):
        return value
    return "".join(m["content"] for m in value if m["role"] == "assistant").strip()


def _split_implicit_prompt(chosen: list[dict], rejected: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
    """Split TRL's implicit-prompt chat form: the shared leading turns are the prompt."""
    shared = 0
    while shared < min(len(chosen), len(rejected)) - 1 and chosen[shared] == rejected[shared]:
        shared += 1
    return chosen[:shared], chosen[shared:], rejected[shared:]


def _prompt_messages(prompt: str | list[dict[str, str]], number: int, problems: ProblemSet) -> list[dict[str, str]] | None:
    """Return the prompt as messages ending with a user turn, or None after noting the problem."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if prompt[-1]["role"] != "user":
        problems.add("invalid_messages", "prompt", "rows whose `prompt` does not end with a user turn", number)
        return None
    return prompt


def _base_report(raw: RawData, data_format: str, detected: bool) -> dict[str, Any]:
    return {"report_version": REPORT_VERSION, "path": raw.path, "file_type": raw.file_type, "format": data_format,
            "format_detected": detected, "encoding": raw.encoding, "warnings": list(raw.warnings),
            "rows": len(raw.rows) + sum(p.count for p in raw.problems)}


def _finish(raw: RawData, report: dict[str, Any], rows: dict[str, list], problems: list[Problem],
            row_numbers: list[int]) -> RlData:
    problems = raw.problems + problems
    report.update({"valid_rows": len(row_numbers), "problems": [p.to_json() for p in problems],
                   "kept_rows": len(row_numbers), "dropped": {}, "truncated": 0})
    report["ok"] = not problems and report["kept_rows"] > 0
    return RlData(rows, report, row_numbers)


def analyse_preferences(raw: RawData, prompter: Prompter, detected: bool = True) -> RlData:
    """Render preference rows as text `prompt`, `chosen`, `rejected` in the SFT stage's prompt layout."""
    columns = {key for row in raw.rows for key in row}
    for name in PREFERENCE_FIELDS[1:]:
        if name not in columns:
            raise DataError(f"column `{name}` required by format preference is missing in {raw.path} "
                            f"(first bad row {raw.row_numbers[0] if raw.row_numbers else 1}); columns found: "
                            f"{', '.join(sorted(columns)) or '(none)'}; rows need `prompt`, `chosen` and `rejected`, "
                            "or `chosen` and `rejected` conversations sharing their first turns")
    problems = ProblemSet()
    rows: dict[str, list] = {"prompt": [], "chosen": [], "rejected": []}
    row_numbers: list[int] = []
    for row, number in zip(raw.rows, raw.row_numbers):
        # Without `prompt`, chosen and rejected are whole conversations (TRL's implicit prompt).
        implicit = row.get("prompt") is None and isinstance(row.get("chosen"), list)
        values = {name: _text_or_messages(row, name, number, problems) for name in PREFERENCE_FIELDS[implicit:]}
        if any(value is None for value in values.values()):
            continue
        if implicit:
            if not isinstance(values["rejected"], list):
                problems.add("missing_field", "prompt", "rows without `prompt` whose `rejected` is not a "
                             "conversation", number)
                continue
            prompt, chosen, rejected = _split_implicit_prompt(values["chosen"], values["rejected"])
            if not prompt:
                problems.add("missing_field", "prompt", "rows without `prompt` whose conversations share no "
                             "first turn", number)
                continue
        else:
            prompt, chosen, rejected = values["prompt"], values["chosen"], values["rejected"]
        chosen_text, rejected_text = _assistant_text(chosen), _assistant_text(rejected)
        if not chosen_text or not rejected_text:
            problems.add("empty_field", "chosen" if not chosen_text else "rejected",
                         "rows whose answer in `chosen` or `rejected` is empty", number)
            continue
        if chosen_text == rejected_text:
            problems.add("identical_pair", "chosen", "rows whose `chosen` and `rejected` are identical", number)
            continue
        messages = _prompt_messages(prompt, number, problems)
        if messages is None:
            continue
        example = Example(number, messages, chosen_text)
        rows["prompt"].append(prompter.prompt_text(example))
        rows["chosen"].append(prompter.assistant_prefix + chosen_text + prompter.end.text)
        rows["rejected"].append(prompter.assistant_prefix + rejected_text + prompter.end.text)
        row_numbers.append(number)
    return _finish(raw, _base_report(raw, "preference", detected), rows, problems.values(), row_numbers)


def analyse_prompts(raw: RawData, data_format: str | None, prompter: Prompter, needs_answer: bool) -> RlData:
    """Render prompt rows (or SFT rows, whose answer becomes the reference) as `prompt`, `question`, `answer`."""
    detected = data_format is None
    columns = {key for row in raw.rows for key in row}
    if data_format is None:
        data_format = "prompt" if PROMPT_FIELD in columns else detect_format(raw)
    rows: dict[str, list] = {"prompt": [], "question": [], "answer": []}
    problems = ProblemSet()
    if data_format == "prompt":
        if PROMPT_FIELD not in columns:
            raise DataError(f"column `prompt` required by format prompt is missing in {raw.path}; "
                            f"columns found: {', '.join(sorted(columns)) or '(none)'}")
        examples = []
        # Rows without a reference are invalid when a reward compares with it, and only counted otherwise.
        without_reference = Problem("missing_reference", "rows without a reference `answer` (the answer and "
                                    "judge rewards compare with it)", ANSWER_FIELD)
        for row, number in zip(raw.rows, raw.row_numbers):
            prompt = _text_or_messages(row, PROMPT_FIELD, number, problems)
            reference = row.get(ANSWER_FIELD)
            has_reference = isinstance(reference, str) and bool(reference.strip())
            if needs_answer and not has_reference:
                without_reference.add(number)
                kind = "missing_field" if reference is None else "empty_field"
                problems.add(kind, ANSWER_FIELD, without_reference.message, number)
                continue
            messages = None if prompt is None else _prompt_messages(prompt, number, problems)
            if messages is None:
                continue
            if not has_reference:
                without_reference.add(number)
            examples.append(Example(number, messages, str(reference or "").strip()))
        row_problems = problems.values()
        references = {"required": needs_answer, "missing": without_reference.count,
                      "first_rows": without_reference.first_rows}
    elif data_format in SFT_FORMATS:
        check_missing_columns(raw, data_format)
        examples, row_problems = rows_to_examples(raw, data_format)
        # SFT rows without an answer are invalid rows, so every valid row has a reference.
        references = {"required": needs_answer, "missing": 0, "first_rows": []}
    else:
        raise DataError(f"format {data_format} does not hold prompts; grpo reads format prompt "
                        f"(`prompt`, `answer`) or the SFT formats {', '.join(SFT_FORMATS)}")
    for example in examples:
        rows["prompt"].append(prompter.prompt_text(example))
        rows["question"].append(example.prompt_messages[-1]["content"])
        rows["answer"].append(example.answer)
    data = _finish(raw, _base_report(raw, data_format, detected), rows, row_problems,
                   [example.row_number for example in examples])
    data.report["references"] = references
    return data


def load_rl_data(path: str | None, stage: str, data_format: str | None, prompter: Prompter,
                 needs_answer: bool = False) -> RlData:
    """Read, validate and render RL rows; raise DataError naming the first bad rows."""
    from ..errors import ConfigError

    if not path:
        raise ConfigError(f"option `dataset` is required for stage {stage}")
    raw = read_rows(path)
    if not raw.rows:
        raise DataError(f"{raw.path} has no rows")
    if stage == "dpo":
        if data_format not in (None, "preference"):
            raise ConfigError(f"stage dpo reads format preference (`prompt`, `chosen`, `rejected`), not {data_format}")
        data = analyse_preferences(raw, prompter, detected=data_format is None)
    else:
        data = analyse_prompts(raw, data_format, prompter, needs_answer)
    if data.report["problems"]:
        problems = [Problem(p["kind"], p["message"], p["field"], p["count"], p["first_rows"])
                    for p in data.report["problems"]]
        raise DataError(describe_problems(path, problems))
    if not len(data):
        raise DataError(f"no rows of {path} are left to train on")
    return data
