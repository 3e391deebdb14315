"""train.log: the trainer's stderr lines are English and their times carry a UTC offset."""

import io
import logging
import re
import warnings
from datetime import datetime

from conftest import run_cli, write_run_json
from trainops_trainer.data.report import format_dropped
from trainops_trainer.logs import LOG_FORMAT, OffsetTimeFormatter, setup_logging

# Patterns of src/jobs/failure-classifier.ts that find a diverged run in the log tail when events.jsonl has no `end`.
BOT_NAN_PATTERN = re.compile(r"loss (is|became) (nan|inf)", re.IGNORECASE)
LOG_LINE = re.compile(r"^(\S+) (INFO|WARNING|ERROR|CRITICAL) (\S+): (.*)$")
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef]")


def test_formatter_time_has_offset():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(OffsetTimeFormatter(LOG_FORMAT))
    logger = logging.getLogger("trainops_trainer.test_train_log")
    logger.addHandler(handler)
    logger.propagate = False

    logger.warning("checkpoint saved")

    match = LOG_LINE.match(stream.getvalue().strip())
    assert match is not None, stream.getvalue()
    assert datetime.fromisoformat(match.group(1)).utcoffset() is not None
    assert match.group(4) == "checkpoint saved"


def test_train_log_lines_english_with_offsets(tmp_path):
    config = write_run_json(tmp_path, max_steps=3, save_steps=10, debug_nan_at_step=2)

    result = run_cli("train", "--config", str(config))

    lines = [line for line in result.stderr.splitlines() if line.strip()]
    log_lines = [LOG_LINE.match(line) for line in lines]
    assert result.returncode == 1
    for line, match in zip(lines, log_lines):
        assert not CJK.search(line), line
        if match:
            assert datetime.fromisoformat(match.group(1)).utcoffset() is not None, line
    messages = [match.group(4) for match in log_lines if match]
    assert any(re.fullmatch(r"step 1/3: loss \d+\.\d{4} \(change n/a\), learning_rate \S+, epoch \S+", m)
               for m in messages), messages
    assert any(BOT_NAN_PATTERN.search(m) for m in messages), messages
    assert "\r" not in result.stderr


def test_dropped_rows_read_as_counts():
    assert format_dropped({"over_max_length": 36}) == "36 over max_length"
    assert format_dropped({"over_max_length": 2, "no_learnable_tokens": 1}) == "2 over max_length, 1 with no learnable tokens"
    assert format_dropped({}) == "none"


def test_gradient_checkpointing_warning_filtered():
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            setup_logging(io.StringIO())
        finally:
            # Keep the filter setup_logging added, but record warnings here instead of logging them.
            logging.captureWarnings(False)
            root.handlers[:] = saved_handlers
            root.setLevel(saved_level)
        warnings.warn("`is_gradient_checkpointing` is deprecated and will be removed in v6.", FutureWarning)
        warnings.warn("another future change", FutureWarning)

    assert [str(warning.message) for warning in caught] == ["another future change"]
