"""Shared fixtures: the tiny model's tokenizer, data files and a helper to run the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parents[1]
SAMPLE_DATA = PYTHON_DIR / "trainops_trainer" / "samples" / "medical_sample.jsonl"
if str(PYTHON_DIR) not in sys.path:
    sys.path.insert(0, str(PYTHON_DIR))

EVENT_TYPES = {"start", "step", "eval", "checkpoint", "end"}
ERROR_TYPES = {"data_error", "config_error", "out_of_memory", "diverged", "interrupted", "already_completed",
               "dependency_error", "internal_error"}
REQUIRED_FIELDS = {
    "start": {"model": str, "world_size": int, "train_rows": int, "max_steps": int, "num_epochs": (int, float),
              "stage": str, "stage_index": int, "stage_count": int, "data_report": dict},
    "step": {"step": int, "max_steps": int, "epoch": (int, float), "loss": (int, float),
             "learning_rate": (int, float)},
    "eval": {"step": int},
    "checkpoint": {"step": int, "path": str},
    "end": {"status": str, "step": int, "output_path": str},
}


def validate_event(event: dict) -> None:
    """Assert that one event follows events v1 of docs/protocol.md."""
    from datetime import datetime

    assert event["v"] == 1
    assert event["type"] in EVENT_TYPES
    parsed = datetime.fromisoformat(event["time"])
    assert parsed.utcoffset() is not None, "time must carry an offset"
    assert isinstance(event["run_id"], str) and event["run_id"]
    for name, kind in REQUIRED_FIELDS[event["type"]].items():
        assert isinstance(event[name], kind) and not isinstance(event[name], bool), (name, event)
    if event["type"] == "start":
        assert event["resumed_from"] is None or isinstance(event["resumed_from"], str)
    if event["type"] == "step":
        for optional in ("grad_norm", "tokens_per_second"):
            assert optional not in event or isinstance(event[optional], (int, float))
    if event["type"] == "end":
        assert event["status"] in ("succeeded", "failed")
        if event["status"] == "failed":
            assert event["error"]["type"] in ERROR_TYPES
            assert isinstance(event["error"]["message"], str) and event["error"]["message"]


def read_events(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write((row if isinstance(row, str) else json.dumps(row, ensure_ascii=False)) + "\n")
    return path


def medical_row(question: str = "发热三天怎么办？", reasoning: str = "考虑上呼吸道感染。",
                answer: str = "多休息，多饮水。") -> dict:
    return {"question": question, "reasoning (reasoning_content)": reasoning, "response (content)": answer}


def cli_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PYTHON_DIR) + os.pathsep + env.get("PYTHONPATH", "")
    env["TOKENIZERS_PARALLELISM"] = "false"
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "trainops_trainer", *args]


def run_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(cli_command(*args), env=cli_env(), capture_output=True, text=True, timeout=timeout)


def train_values(tmp_path: Path, **overrides) -> dict:
    """run.json values for a fast run of the tiny model on the sample rows."""
    values = {
        "run_id": "1",
        "model": "tiny-random-phi3",
        "dataset": str(SAMPLE_DATA),
        "output_dir": str(tmp_path / "output"),
        "events_path": str(tmp_path / "events.jsonl"),
        "max_steps": 6,
        "save_steps": 3,
        "logging_steps": 1,
        "batch_size": 4,
        "max_length": 256,
    }
    values.update(overrides)
    return values


def write_run_json(tmp_path: Path, **overrides) -> Path:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(train_values(tmp_path, **overrides)), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tokenizer():
    from trainops_trainer.config import TrainConfig
    from trainops_trainer.modeling import load_tokenizer

    return load_tokenizer(TrainConfig(model="tiny-random-phi3"))


@pytest.fixture(scope="session")
def prompter(tokenizer):
    from trainops_trainer.config import DEFAULT_SYSTEM_PROMPT
    from trainops_trainer.data.prompts import Prompter

    return Prompter(tokenizer, "tiny-random-phi3", "chat_template", DEFAULT_SYSTEM_PROMPT, "target")
