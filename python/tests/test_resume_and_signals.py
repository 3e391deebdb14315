"""Kill, SIGTERM and resume, through the real CLI in a subprocess."""

import json
import re
import signal
import subprocess
import time

import torch

from conftest import cli_command, cli_env, read_events, run_cli, validate_event, write_run_json
from trainops_trainer.runner import run_train
from conftest import train_values

RESUME_OPTIONS = dict(max_steps=8, save_steps=4, logging_steps=1, learning_rate=5e-3, lr_scheduler_type="cosine",
                      warmup_steps=2)


def start_cli(run_json):
    return subprocess.Popen(cli_command("train", "--config", str(run_json)), env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def wait_for_event(process, events_path, predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in read_events(events_path):
            if predicate(event):
                return event
        if process.poll() is not None:
            raise AssertionError(f"trainer exited with {process.returncode}: {process.stderr.read()[-2000:]}")
        time.sleep(0.05)
    raise AssertionError("timed out waiting for an event")


def optimizer_state(checkpoint):
    return torch.load(checkpoint / "optimizer.pt", weights_only=False)["state"]


def step_rates(events):
    return {e["step"]: e["learning_rate"] for e in events if e["type"] == "step"}


def test_killed_run_resumes_exactly(tmp_path):
    reference_dir, killed_dir = tmp_path / "reference", tmp_path / "killed"
    reference_dir.mkdir()
    killed_dir.mkdir()
    assert run_train(train_values(reference_dir, **RESUME_OPTIONS)) == 0

    run_json = write_run_json(killed_dir, step_delay_seconds=0.5, **RESUME_OPTIONS)
    process = start_cli(run_json)
    try:
        wait_for_event(process, killed_dir / "events.jsonl", lambda e: e["type"] == "checkpoint" and e["step"] == 4)
    finally:
        process.kill()
        process.wait(timeout=30)

    resumed = run_cli("train", "--config", str(run_json), "--step_delay_seconds", "0")

    assert resumed.returncode == 0, resumed.stderr[-2000:]
    events = read_events(killed_dir / "events.jsonl")
    for event in events:
        validate_event(event)
    starts = [e for e in events if e["type"] == "start"]
    assert starts[-1]["resumed_from"].endswith("checkpoint-4")
    assert events[-1]["type"] == "end"
    assert events[-1]["step"] == 8
    reference_events = read_events(reference_dir / "events.jsonl")
    resumed_rates = step_rates(events[events.index(starts[-1]):])
    assert min(resumed_rates) == 5
    for step, rate in resumed_rates.items():
        assert rate == step_rates(reference_events)[step], step
    reference_state = json.loads((reference_dir / "output/checkpoint-8/trainer_state.json").read_text())
    resumed_state = json.loads((killed_dir / "output/checkpoint-8/trainer_state.json").read_text())
    assert resumed_state["global_step"] == reference_state["global_step"] == 8
    expected, actual = optimizer_state(reference_dir / "output/checkpoint-8"), \
        optimizer_state(killed_dir / "output/checkpoint-8")
    assert expected.keys() == actual.keys()
    for key in expected:
        assert torch.equal(expected[key]["step"], actual[key]["step"])
        assert torch.allclose(expected[key]["exp_avg"], actual[key]["exp_avg"], atol=1e-6)
        assert torch.allclose(expected[key]["exp_avg_sq"], actual[key]["exp_avg_sq"], atol=1e-8)


def test_sigterm_saves_checkpoint_and_ends(tmp_path):
    run_json = write_run_json(tmp_path, max_steps=200, save_steps=1000, step_delay_seconds=0.2)
    process = start_cli(run_json)
    try:
        wait_for_event(process, tmp_path / "events.jsonl", lambda e: e["type"] == "step" and e["step"] >= 2)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
        code = process.returncode
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    events = read_events(tmp_path / "events.jsonl")
    for event in events:
        validate_event(event)
    end = events[-1]
    checkpoints = [e for e in events if e["type"] == "checkpoint"]
    assert code == 143
    # A requested stop is logged as such, not as an error.
    assert re.search(r" WARNING \S+: stop requested: stopped by SIGTERM at step \d+", stderr), stderr
    assert " ERROR " not in stderr
    assert end["type"] == "end"
    assert end["status"] == "failed"
    assert end["error"]["type"] == "interrupted"
    assert checkpoints
    assert checkpoints[-1]["step"] == end["step"]
    assert (tmp_path / "output" / f"checkpoint-{end['step']}" / "trainer_state.json").exists()
    assert not (tmp_path / "output" / "completed").exists()


def test_resume_scan_ignores_stray_folders(tmp_path):
    output = tmp_path / "output"
    for name in ("checkpoint-final", "checkpoint-9", "checkpoint-x1", "notes"):
        (output / name).mkdir(parents=True)
    (output / "checkpoint-3").mkdir()
    (output / "checkpoint-3" / "trainer_state.json").write_text("{}")
    from trainops_trainer.checkpoints import find_resume_checkpoint

    assert find_resume_checkpoint(output, "auto") == str(output / "checkpoint-3")
    assert find_resume_checkpoint(output, "none") is None
    assert find_resume_checkpoint(tmp_path / "absent", "auto") is None


def test_unknown_option_is_config_error(tmp_path):
    run_json = write_run_json(tmp_path, learning_rat=1e-4)

    result = run_cli("train", "--config", str(run_json))

    end = read_events(tmp_path / "events.jsonl")[-1]
    validate_event(end)
    assert result.returncode == 2
    assert end["error"]["type"] == "config_error"
    assert "learning_rat" in end["error"]["message"]


def test_quantized_bits_on_cpu_is_config_error(tmp_path):
    code = run_train(train_values(tmp_path, bits=4))

    end = read_events(tmp_path / "events.jsonl")[-1]
    assert code == 2
    assert end["error"]["type"] == "config_error"
    assert "CUDA GPU" in end["error"]["message"]


def test_unknown_stage_is_config_error(tmp_path):
    code = run_train(train_values(tmp_path, stage="ppo"))

    end = read_events(tmp_path / "events.jsonl")[-1]
    assert code == 2
    assert "stage `ppo` is not available" in end["error"]["message"]
