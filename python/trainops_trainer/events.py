"""Writer for `events.jsonl`, the trainer's half of the run-directory protocol (events v1)."""

from __future__ import annotations

import json
import math
import os
from datetime import datetime
from typing import Any, Callable

EVENTS_VERSION = 1


def is_main_process() -> bool:
    """True on global rank 0; torchrun and accelerate both set RANK for every process."""
    return int(os.environ.get("RANK", "0")) == 0


def local_time_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def _json_number(value: Any) -> Any:
    # JSON has no NaN or Infinity; the protocol carries them as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class EventWriter:
    """Appends one JSON object per line and flushes it, on the main process only."""

    def __init__(self, path: str | None, run_id: str | None, clock: Callable[[], str] = local_time_iso):
        self.path = path
        self.run_id = run_id
        self.clock = clock
        self.enabled = bool(path) and is_main_process()
        self._file = None
        self.ended = False
        # Latest optimizer step seen, for the `end` event of a run that fails midway.
        self.last_step = 0

    def emit(self, event_type: str, **fields: Any) -> None:
        if event_type == "end":
            self.ended = True
        if not self.enabled:
            return
        if self._file is None:
            directory = os.path.dirname(os.path.abspath(self.path))
            os.makedirs(directory, exist_ok=True)
            self._file = open(self.path, "a", encoding="utf-8")
        event = {"v": EVENTS_VERSION, "type": event_type, "time": self.clock(), "run_id": self.run_id}
        event.update({key: _json_number(value) for key, value in fields.items()})
        self._file.write(json.dumps(event, ensure_ascii=False, allow_nan=False) + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
