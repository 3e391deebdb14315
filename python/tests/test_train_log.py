"""train.log: the trainer's stderr lines are English and their times carry a UTC offset."""

import io
import logging
import re
from datetime import datetime

from conftest import run_cli, write_run_json
from trainops_trainer.logs import LOG_FORMAT, OffsetTimeFormatter

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
