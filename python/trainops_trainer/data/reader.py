"""Read data files into plain rows, keeping each row's line or record number for error messages."""

from __future__ import annotations

import io
import json
import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError

MAX_ROW_NUMBERS = 5
SUFFIX_KINDS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


@dataclass
class Problem:
    """One kind of defect found in the data, with its count and first row numbers."""

    kind: str
    message: str
    field: str | None = None
    count: int = 0
    first_rows: list[int] = dataclasses.field(default_factory=list)

    def add(self, row_number: int) -> None:
        self.count += 1
        if len(self.first_rows) < MAX_ROW_NUMBERS:
            self.first_rows.append(row_number)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "field": self.field, "count": self.count,
                "first_rows": list(self.first_rows), "message": self.message}


@dataclass
class RawData:
    """Rows as read, with 1-based row numbers (line numbers for JSON lines, records otherwise)."""

    path: str
    file_type: str
    rows: list[dict[str, Any]]
    row_numbers: list[int]
    encoding: str = "utf-8"
    warnings: list[str] = dataclasses.field(default_factory=list)
    problems: list[Problem] = dataclasses.field(default_factory=list)


def detect_file_type(path: Path) -> str:
    if path.is_dir():
        if (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists():
            return "hf_dataset"
        raise DataError(f"{path} is a folder but not a saved Hugging Face dataset (no dataset_info.json)")
    kind = SUFFIX_KINDS.get(path.suffix.lower())
    if kind is None:
        known = ", ".join(sorted(SUFFIX_KINDS))
        raise DataError(f"unknown data file type {path.suffix or '(no suffix)'!r} for {path}; use one of {known} "
                        "or a saved Hugging Face dataset folder")
    return kind


def read_rows(path_text: str) -> RawData:
    path = Path(path_text).expanduser()
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    file_type = detect_file_type(path)
    if file_type == "hf_dataset":
        return _read_hf_dataset(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise DataError(f"cannot read data file {path}: {error.strerror}") from None
    if not raw.strip():
        raise DataError(f"data file {path} is empty")
    if file_type == "parquet":
        return _read_parquet(path, raw)
    text, encoding, warnings = _decode(path, raw)
    if file_type == "csv":
        data = _read_csv(path, text)
    elif file_type == "json":
        data = _read_json(path, text)
    else:
        data = _read_jsonl(path, text)
    data.encoding = encoding
    data.warnings = warnings + data.warnings
    return data


def _decode(path: Path, raw: bytes) -> tuple[str, str, list[str]]:
    """Decode UTF-8, or detect the encoding (GBK/GB18030 exports from Excel are common) and warn."""
    try:
        return raw.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is None:
        raise DataError(f"{path} is not UTF-8 and its encoding could not be detected; "
                        f"convert it with `iconv -f <encoding> -t UTF-8 {path.name} > fixed{path.suffix}`")
    encoding = best.encoding
    # GBK is a subset of GB18030, so decode every Chinese detection as GB18030.
    if encoding.lower() in ("gbk", "gb2312", "gb18030", "cp936", "hz"):
        encoding = "gb18030"
    text = raw.decode(encoding, errors="strict")
    warning = (f"{path.name} is encoded as {encoding.upper()}, not UTF-8; read it as {encoding.upper()}. "
               f"Convert it with `iconv -f {encoding.upper()} -t UTF-8 {path.name} > {path.stem}.utf8{path.suffix}`")
    return text, encoding, [warning]


def _read_jsonl(path: Path, text: str) -> RawData:
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    invalid = Problem("invalid_json", "lines that are not valid JSON")
    not_object = Problem("not_an_object", "lines that are valid JSON but not an object")
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            invalid.add(line_number)
            continue
        if not isinstance(value, dict):
            not_object.add(line_number)
            continue
        rows.append(value)
        numbers.append(line_number)
    problems = [p for p in (invalid, not_object) if p.count]
    return RawData(str(path), "jsonl", rows, numbers, problems=problems)


def _read_json(path: Path, text: str) -> RawData:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        # Many ".json" files are JSON lines; read them as such when the second line starts a new value.
        if error.msg == "Extra data":
            data = _read_jsonl(path, text)
            data.file_type = "json"
            return data
        raise DataError(f"{path} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    if isinstance(value, dict):
        lists = [v for v in value.values() if isinstance(v, list)]
        if len(lists) == 1:
            value = lists[0]
    if not isinstance(value, list):
        raise DataError(f"{path} must hold a JSON array of row objects (or JSON lines)")
    rows, numbers = [], []
    not_object = Problem("not_an_object", "records that are not objects")
    for number, item in enumerate(value, start=1):
        if isinstance(item, dict):
            rows.append(item)
            numbers.append(number)
        else:
            not_object.add(number)
    return RawData(str(path), "json", rows, numbers, problems=[not_object] if not_object.count else [])


def _read_csv(path: Path, text: str) -> RawData:
    import pandas as pd

    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(f"{path} is not a readable CSV file: {error}") from None
    rows = frame.to_dict(orient="records")
    return RawData(str(path), "csv", rows, list(range(1, len(rows) + 1)))


def _read_parquet(path: Path, raw: bytes) -> RawData:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(pa.BufferReader(raw))
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(f"{path} is not a readable Parquet file: {error}") from None
    rows = table.to_pylist()
    return RawData(str(path), "parquet", rows, list(range(1, len(rows) + 1)))


def _read_hf_dataset(path: Path) -> RawData:
    from datasets import DatasetDict, load_from_disk

    try:
        dataset = load_from_disk(str(path))
    except (OSError, ValueError, FileNotFoundError) as error:
        raise DataError(f"cannot load the saved dataset in {path}: {error}") from None
    warnings = []
    if isinstance(dataset, DatasetDict):
        split = "train" if "train" in dataset else next(iter(dataset))
        if len(dataset) > 1:
            warnings.append(f"{path} holds splits {', '.join(dataset)}; using `{split}`")
        dataset = dataset[split]
    rows = dataset.to_list()
    return RawData(str(path), "hf_dataset", rows, list(range(1, len(rows) + 1)), warnings=warnings)
