"""Checkpoint discovery for `resume` and the `completed` marker."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from .errors import ConfigError

CHECKPOINT_PATTERN = re.compile(r"^checkpoint-(\d+)$")
COMPLETED_MARKER = "completed"


def is_valid_checkpoint(path: Path) -> bool:
    """Return whether `path` is a checkpoint the Trainer can resume from (it contains trainer_state.json)."""
    return path.is_dir() and (path / "trainer_state.json").is_file()


def list_checkpoints(output_dir: str | Path) -> list[Path]:
    """Valid checkpoints, oldest first; stray or half-written folders are skipped."""
    root = Path(output_dir)
    if not root.is_dir():
        return []
    found = []
    for entry in root.iterdir():
        match = CHECKPOINT_PATTERN.match(entry.name)
        if match and is_valid_checkpoint(entry):
            found.append((int(match.group(1)), entry))
    return [path for _, path in sorted(found)]


def find_resume_checkpoint(output_dir: str | Path, resume: str) -> str | None:
    if resume == "none":
        return None
    if resume == "auto":
        checkpoints = list_checkpoints(output_dir)
        return str(checkpoints[-1]) if checkpoints else None
    path = Path(resume).expanduser()
    if not is_valid_checkpoint(path):
        raise ConfigError(f"resume checkpoint {resume} is not a checkpoint folder with trainer_state.json; "
                          "use `auto`, `none` or a checkpoint-N folder")
    return str(path)


def completed_marker(output_dir: str | Path) -> Path:
    return Path(output_dir) / COMPLETED_MARKER


def write_completed(output_dir: str | Path, step: int, finished_at: str) -> None:
    os.makedirs(output_dir, exist_ok=True)
    marker = completed_marker(output_dir)
    marker.write_text(json.dumps({"step": step, "finished_at": finished_at}) + "\n", encoding="utf-8")
