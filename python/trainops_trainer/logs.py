"""Log lines of the trainer (train.log), for engineers: English, with times that carry their UTC offset."""

from __future__ import annotations

import logging
import sys
import warnings
from datetime import datetime

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class OffsetTimeFormatter(logging.Formatter):
    """Formatter whose `asctime` is ISO 8601 local time with milliseconds and offset (`2026-03-02T09:15:04.211+08:00`).

    The default `asctime` has no zone, so a line from a VM on UTC reads as local time to a person in Shanghai.
    """

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


def setup_logging(stream=None) -> None:
    """Send INFO and above to stderr (train.log) with offset times, and keep transformers at WARNING.

    Python warnings become log lines too, so they carry a time. Progress bars are turned off when
    stderr is not a terminal, because their carriage returns make a file unreadable.
    """
    stream = stream or sys.stderr
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OffsetTimeFormatter(LOG_FORMAT))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    logging.captureWarnings(True)
    # TRL 1.16 (trl/models/utils.py) still reads `model.is_gradient_checkpointing`, which
    # transformers 5 deprecates with a FutureWarning when it is read. Only TRL can switch to
    # `is_activation_checkpointing`, so the warning repeats in every attempt's log for nothing.
    warnings.filterwarnings("ignore", message=r"`is_gradient_checkpointing` is deprecated", category=FutureWarning)
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.set_verbosity_warning()
    if not stream.isatty():
        hf_logging.disable_progress_bar()
