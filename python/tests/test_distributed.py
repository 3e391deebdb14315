"""Two processes under torchrun on CPU (gloo): only rank 0 writes events."""

import os
import signal
import subprocess
import sys

from conftest import SAMPLE_DATA, cli_env, read_events, validate_event


def run_torchrun(command, cwd, timeout=240):
    """Run torchrun in its own process group, so a timeout also stops the worker processes."""
    env = cli_env()
    env["OMP_NUM_THREADS"] = "1"
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_torchrun_two_processes_one_event_stream(tmp_path):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "trainops_trainer", "train",
        "--model", "tiny-random-phi3", "--dataset", str(SAMPLE_DATA),
        "--output_dir", str(tmp_path / "output"), "--events_path", str(tmp_path / "events.jsonl"),
        "--max_steps", "2", "--save_steps", "2", "--logging_steps", "1", "--batch_size", "4",
        "--gradient_checkpointing", "true", "--run_id", "9",
    ]

    result = run_torchrun(command, tmp_path)

    assert result.returncode == 0, result.stderr[-3000:]
    events = read_events(tmp_path / "events.jsonl")
    for event in events:
        validate_event(event)
    assert [e["type"] for e in events] == ["start", "step", "step", "checkpoint", "end"]
    assert events[0]["world_size"] == 2
    assert os.path.exists(tmp_path / "output" / "completed")


def test_torchrun_nan_ends_diverged(tmp_path):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "trainops_trainer", "train",
        "--model", "tiny-random-phi3", "--dataset", str(SAMPLE_DATA),
        "--output_dir", str(tmp_path / "output"), "--events_path", str(tmp_path / "events.jsonl"),
        "--max_steps", "5", "--logging_steps", "1", "--batch_size", "4", "--debug_nan_at_step", "2",
    ]

    result = run_torchrun(command, tmp_path)

    events = read_events(tmp_path / "events.jsonl")
    assert result.returncode != 0
    assert events[-1]["type"] == "end"
    assert events[-1]["error"]["type"] == "diverged"
    assert "step 2" in events[-1]["error"]["message"]
