"""The data report: what `check-data` prints and what the `start` event carries."""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..errors import DataError
from .encode import Encoded, encode_examples
from .formats import Example, describe_problems, detect_format, rows_to_examples, check_missing_columns
from .prompts import Prompter
from .reader import MAX_ROW_NUMBERS, RawData, read_rows

REPORT_VERSION = 1
# Words for the `dropped` reasons in text output; the JSON report keeps the keys.
DROP_REASONS = {
    "over_max_length": "over max_length",
    "prompt_over_max_length": "with the prompt alone over max_length",
    "no_learnable_tokens": "with no learnable tokens",
}
NEAR_DUPLICATE_METHOD = "sha1 of NFKC-normalised, lower-cased text without whitespace, punctuation or symbols"


@dataclass
class PreparedData:
    examples: list[Example]
    encoded: Encoded
    report: dict[str, Any]


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in ("Z", "P", "S", "C"))


def _row_text(example: Example) -> str:
    parts = [m["content"] for m in example.prompt_messages] + [example.reasoning, example.answer]
    return "\x1f".join(parts)


def find_duplicates(examples: list[Example]) -> dict[str, Any]:
    return find_text_duplicates([(example.row_number, _row_text(example)) for example in examples])


def find_text_duplicates(rows: list[tuple[int, str]]) -> dict[str, Any]:
    """Count exact and near duplicates among (row number, text) pairs, keeping the first pairs found."""
    exact_seen: dict[str, int] = {}
    near_seen: dict[str, int] = {}
    exact: list[list[int]] = []
    near: list[list[int]] = []
    exact_count = near_count = 0
    for row_number, text in rows:
        exact_key = hashlib.sha1(text.encode("utf-8")).hexdigest()
        near_key = hashlib.sha1(normalise_text(text).encode("utf-8")).hexdigest()
        if exact_key in exact_seen:
            exact_count += 1
            if len(exact) < MAX_ROW_NUMBERS:
                exact.append([row_number, exact_seen[exact_key]])
        elif near_key in near_seen:
            near_count += 1
            if len(near) < MAX_ROW_NUMBERS:
                near.append([row_number, near_seen[near_key]])
        exact_seen.setdefault(exact_key, row_number)
        near_seen.setdefault(near_key, row_number)
    return {"exact": exact_count, "near": near_count, "method": NEAR_DUPLICATE_METHOD,
            "first_exact": exact, "first_near": near}


def percentile(sorted_values: list[int], fraction: float) -> int:
    if not sorted_values:
        return 0
    index = min(len(sorted_values) - 1, int(round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def token_stats(encoded: Encoded, examples: list[Example], max_length: int, tokenizer_name: str) -> dict[str, Any]:
    return length_stats(encoded.lengths_before_policy, [e.row_number for e in examples], max_length, tokenizer_name)


def length_stats(lengths: list[int], row_numbers: list[int], max_length: int, tokenizer_name: str) -> dict[str, Any]:
    """Describe token lengths: mean, percentiles, maximum and the rows over `max_length`."""
    ordered = sorted(lengths)
    over_rows = [number for number, n in zip(row_numbers, lengths) if n > max_length]
    return {
        "tokenizer": tokenizer_name,
        "max_length": max_length,
        "mean": round(sum(ordered) / len(ordered), 1) if ordered else 0,
        "p50": percentile(ordered, 0.50),
        "p90": percentile(ordered, 0.90),
        "p95": percentile(ordered, 0.95),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1] if ordered else 0,
        "over_max_length": len(over_rows),
        "first_rows_over_max_length": over_rows[:MAX_ROW_NUMBERS],
    }


def analyse(raw: RawData, data_format: str | None, prompter: Prompter, tokenizer, tokenizer_name: str,
            max_length: int, overlength: str) -> PreparedData:
    """Validate, tokenize and describe the data without failing on bad rows."""
    detected = data_format is None
    if data_format is None:
        data_format = detect_format(raw)
    check_missing_columns(raw, data_format)
    examples, row_problems = rows_to_examples(raw, data_format)
    problems = raw.problems + row_problems
    # "reject" is a training decision; the report only counts the rows over the limit.
    policy = "drop" if overlength == "reject" else overlength
    encoded = encode_examples(examples, prompter, tokenizer, max_length, policy, raw.path)
    empty_answers = [p for p in row_problems if p.kind == "empty_field" and p.field in ("response (content)", "output")]
    report = {
        "report_version": REPORT_VERSION,
        "path": raw.path,
        "file_type": raw.file_type,
        "format": data_format,
        "format_detected": detected,
        "encoding": raw.encoding,
        "warnings": list(raw.warnings),
        "rows": len(raw.rows) + sum(p.count for p in raw.problems),
        "valid_rows": len(examples),
        "problems": [p.to_json() for p in problems],
        "empty_answers": empty_answers[0].count if empty_answers else 0,
        "duplicates": find_duplicates(examples),
        "tokens": token_stats(encoded, examples, max_length, tokenizer_name),
        "length_policy": overlength,
        "kept_rows": len(encoded.input_ids),
        "dropped": dict(encoded.dropped),
        "truncated": encoded.truncated,
    }
    report["ok"] = not problems and report["kept_rows"] > 0
    return PreparedData(examples, encoded, report)


def prepare_training_data(path: str, data_format: str | None, prompter: Prompter, tokenizer, tokenizer_name: str,
                          max_length: int, overlength: str) -> PreparedData:
    """Read and encode data for training, raising DataError on any invalid row."""
    raw = read_rows(path)
    prepared = analyse(raw, data_format, prompter, tokenizer, tokenizer_name, max_length, overlength)
    if raw.problems or prepared.report["problems"]:
        from .reader import Problem

        problems = [Problem(p["kind"], p["message"], p["field"], p["count"], p["first_rows"])
                    for p in prepared.report["problems"]]
        raise DataError(describe_problems(path, problems))
    if overlength == "reject":
        # Raises with the first rows over the limit.
        encode_examples(prepared.examples, prompter, tokenizer, max_length, "reject", path)
    if not prepared.encoded.input_ids:
        raise DataError(f"no rows of {path} are left to train on: {json.dumps(prepared.report['dropped'])}; "
                        f"raise `max_length` (now {max_length}) or set `overlength: truncate`")
    return prepared


def count_rows(count: int, message: str) -> str:
    """Put a count before a problem message that starts with "rows", singular for one: `1 row without ...`."""
    if count == 1 and message.startswith("rows "):
        return f"1 row {message[len('rows '):]}"
    return f"{count} {message}"


def format_dropped(dropped: dict[str, int]) -> str:
    """Describe dropped rows by reason for a log line: `36 over max_length, 2 with no learnable tokens`."""
    if not dropped:
        return "none"
    return ", ".join(f"{count} {DROP_REASONS.get(reason, reason)}" for reason, count in dropped.items())


def format_report_text(report: dict[str, Any]) -> str:
    tokens = report["tokens"]
    duplicates = report["duplicates"]
    lines = [
        f"file: {report['path']} ({report['file_type']}, {report['encoding']})",
        f"format: {report['format']}" + (" (detected)" if report["format_detected"] else ""),
        f"rows: {report['rows']}, valid: {report['valid_rows']}, kept for training: {report['kept_rows']}",
    ]
    for warning in report["warnings"]:
        lines.append(f"warning: {warning}")
    for problem in report["problems"]:
        rows = ", ".join(str(n) for n in problem["first_rows"])
        lines.append(f"problem: {count_rows(problem['count'], problem['message'])} (first rows: {rows})")
    lines.append(f"empty answers: {report['empty_answers']}")
    references = report.get("references")
    # When the rewards require an answer, the rows without one are already listed as problems.
    if references and references["missing"] and not references["required"]:
        rows = ", ".join(str(n) for n in references["first_rows"])
        lines.append(f"rows without a reference answer (needed only by the answer and judge rewards): "
                     f"{references['missing']} (first rows: {rows})")
    lines.append(f"duplicates: {duplicates['exact']} exact, {duplicates['near']} near ({duplicates['method']})")
    for pair in duplicates["first_exact"]:
        lines.append(f"  row {pair[0]} repeats row {pair[1]}")
    for pair in duplicates["first_near"]:
        lines.append(f"  row {pair[0]} nearly repeats row {pair[1]}")
    measure = f" of {tokens['measure']}" if "measure" in tokens else ""
    lines.append(f"token lengths{measure} ({tokens['tokenizer']}): mean {tokens['mean']}, p50 {tokens['p50']}, "
                 f"p90 {tokens['p90']}, p95 {tokens['p95']}, p99 {tokens['p99']}, max {tokens['max']}")
    for part, stats in report.get("pair_tokens", {}).items():
        lines.append(f"  prompt+{part}: mean {stats['mean']}, p50 {stats['p50']}, p99 {stats['p99']}, "
                     f"max {stats['max']}, over max_length {stats['over_max_length']}")
    over = tokens["first_rows_over_max_length"]
    lines.append(f"over max_length {tokens['max_length']}: {tokens['over_max_length']}"
                 + (f" (first rows: {', '.join(str(n) for n in over)})" if over else ""))
    if report["dropped"]:
        lines.append(f"dropped by length policy `{report['length_policy']}`: {format_dropped(report['dropped'])}")
    if report["truncated"]:
        lines.append(f"truncated: {report['truncated']}")
    lines.append("result: " + ("ok" if report["ok"] else "problems found"))
    return "\n".join(lines)
