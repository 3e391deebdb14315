"""Data formats: detect them from the columns and turn rows into examples."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import DataError
from .reader import Problem, RawData

QUESTION = "question"
REASONING = "reasoning (reasoning_content)"
RESPONSE = "response (content)"

FORMAT_FIELDS = {
    "medical-r1": (QUESTION, REASONING, RESPONSE),
    "instruction": ("instruction", "input", "output"),
    "chat": ("messages",),
}
# Fields that may be absent or empty in an otherwise valid row.
OPTIONAL_FIELDS = {"medical-r1": {REASONING}, "instruction": {"input"}, "chat": set()}
FORMATS = tuple(FORMAT_FIELDS)
CHAT_ROLES = ("system", "user", "assistant")


@dataclass
class Example:
    """One training row: the conversation before the answer, the answer and its reasoning."""

    row_number: int
    prompt_messages: list[dict[str, str]]
    answer: str
    reasoning: str = ""


def detect_format(data: RawData) -> str:
    columns: set[str] = set()
    for row in data.rows[:200]:
        columns.update(row.keys())
    if QUESTION in columns and RESPONSE in columns:
        return "medical-r1"
    if "instruction" in columns and "output" in columns:
        return "instruction"
    if "messages" in columns:
        return "chat"
    found = ", ".join(sorted(columns)) or "(none)"
    raise DataError(f"cannot detect the data format of {data.path} from its columns ({found}); "
                    f"set `format` to one of {', '.join(FORMATS)}")


def check_missing_columns(data: RawData, data_format: str) -> None:
    """Raise when a required column is absent from every row, naming the file and the first row."""
    if not data.rows:
        raise DataError(f"{data.path} has no rows")
    columns: set[str] = set()
    for row in data.rows:
        columns.update(row.keys())
    for name in FORMAT_FIELDS[data_format]:
        if name not in columns and name not in OPTIONAL_FIELDS[data_format]:
            found = ", ".join(sorted(columns))
            raise DataError(f"column `{name}` required by format {data_format} is missing in {data.path} "
                            f"(first bad row {data.row_numbers[0]}); columns found: {found}")


def _text_field(row: dict, name: str, optional: bool, problems: dict[str, Problem], number: int) -> str | None:
    if name not in row or row[name] is None:
        if optional:
            return ""
        problems.setdefault(f"missing:{name}", Problem("missing_field", f"rows without `{name}`", name)).add(number)
        return None
    value = row[name]
    if not isinstance(value, str):
        problems.setdefault(f"type:{name}", Problem("not_a_string", f"rows where `{name}` is not a string",
                                                    name)).add(number)
        return None
    if not value.strip() and not optional:
        problems.setdefault(f"empty:{name}", Problem("empty_field", f"rows where `{name}` is empty", name)).add(number)
        return None
    return value


def _chat_example(row: dict, number: int, problems: dict[str, Problem]) -> Example | None:
    messages = row.get("messages")
    bad = Problem("invalid_messages", "rows whose `messages` is not a list of {role, content} ending with "
                  "an assistant turn", "messages")
    valid = isinstance(messages, list) and len(messages) >= 2
    if valid:
        for message in messages:
            if not (isinstance(message, dict) and message.get("role") in CHAT_ROLES
                    and isinstance(message.get("content"), str)):
                valid = False
                break
    if valid and (messages[-1]["role"] != "assistant" or not messages[-1]["content"].strip()):
        valid = False
    if not valid:
        problems.setdefault("invalid:messages", bad).add(number)
        return None
    prompt = [{"role": m["role"], "content": m["content"]} for m in messages[:-1]]
    # NOTE: only the last assistant turn is learned; earlier assistant turns are context.
    return Example(number, prompt, messages[-1]["content"])


def rows_to_examples(data: RawData, data_format: str) -> tuple[list[Example], list[Problem]]:
    """Convert rows to examples; rows with missing, empty or non-string fields become problems."""
    problems: dict[str, Problem] = {}
    examples: list[Example] = []
    optional = OPTIONAL_FIELDS[data_format]
    for row, number in zip(data.rows, data.row_numbers):
        if data_format == "chat":
            example = _chat_example(row, number, problems)
            if example:
                examples.append(example)
            continue
        values = [_text_field(row, name, name in optional, problems, number) for name in FORMAT_FIELDS[data_format]]
        if any(value is None for value in values):
            continue
        if data_format == "medical-r1":
            question, reasoning, response = values
            examples.append(Example(number, [{"role": "user", "content": question.strip()}],
                                    response.strip(), reasoning.strip()))
        else:
            instruction, extra_input, output = values
            user = instruction.strip() + (f"\n\n{extra_input.strip()}" if extra_input.strip() else "")
            examples.append(Example(number, [{"role": "user", "content": user}], output.strip()))
    return examples, list(problems.values())


def describe_problems(path: str, problems: list[Problem]) -> str:
    parts = []
    for problem in problems:
        rows = ", ".join(str(n) for n in problem.first_rows)
        parts.append(f"{problem.count} {problem.message} (first rows: {rows})")
    return f"invalid rows in {path}: " + "; ".join(parts)
