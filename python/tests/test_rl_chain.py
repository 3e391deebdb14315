"""A chained SFT then GRPO recipe, stopped during the RL stage, resumes at the RL stage."""

import json
import signal
import subprocess
import time

from conftest import cli_command, cli_env, read_events, train_values, validate_event, write_jsonl
from trainops_trainer.runner import run_train

PROMPTS = [{"prompt": "发热三天怎么办？", "answer": "多休息，多饮水。"},
           {"prompt": "下列哪项是抗血小板药？A. 阿司匹林 B. 胰岛素", "answer": "A"}]


def chain_values(tmp_path):
    prompts = write_jsonl(tmp_path / "prompts.jsonl", PROMPTS)
    return train_values(tmp_path, stages=[
        {"stage": "sft", "max_steps": 2, "save_steps": 2},
        {"stage": "grpo", "from": "sft", "dataset": str(prompts), "format": "prompt", "max_steps": 4,
         "save_steps": 1, "batch_size": 2, "num_generations": 2, "max_completion_length": 8,
         "step_delay_seconds": 0.5},
    ])


def wait_for_rl_checkpoint(events_path, process, deadline_seconds=240):
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline and process.poll() is None:
        if any(e["type"] == "checkpoint" and "1-grpo" in e["path"] for e in read_events(events_path)):
            return
        time.sleep(0.2)
    raise AssertionError(f"no GRPO checkpoint before the deadline: {read_events(events_path)}")


def test_chain_stopped_in_rl_resumes_there(tmp_path):
    values = chain_values(tmp_path)
    run_json = tmp_path / "run.json"
    run_json.write_text(json.dumps(values), encoding="utf-8")
    events_path = tmp_path / "events.jsonl"
    output = tmp_path / "output"

    process = subprocess.Popen(cli_command("train", "--config", str(run_json)), env=cli_env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_rl_checkpoint(events_path, process)
        process.send_signal(signal.SIGTERM)
        first_code = process.wait(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    first_events = read_events(events_path)

    assert first_code == 143
    assert first_events[-1]["error"]["type"] == "interrupted"
    assert (output / "0-sft" / "completed").exists()
    assert not (output / "1-grpo" / "completed").exists()

    second_code = run_train(values)

    events = read_events(events_path)
    for event in events:
        validate_event(event)
    resumed = events[len(first_events):]
    starts = [e for e in resumed if e["type"] == "start"]
    steps = [e["step"] for e in resumed if e["type"] == "step"]
    assert second_code == 0
    assert [(s["stage"], s["stage_index"], s["stage_count"]) for s in starts] == [("grpo", 1, 2)]
    assert "1-grpo/checkpoint-" in starts[0]["resumed_from"]
    assert steps[0] > 1
    assert steps[-1] == 4
    assert resumed[-1]["status"] == "succeeded"
    assert (output / "1-grpo" / "completed").exists()
    assert (output / "completed").exists()


def test_checkpoint_path_applies_to_its_stage(tmp_path):
    from trainops_trainer.config import build_config
    from trainops_trainer.runner import plan_stages

    values = chain_values(tmp_path)
    values["resume"] = str(tmp_path / "output" / "0-sft" / "checkpoint-2")

    planned = plan_stages(build_config(values), values)

    assert [config.resume for config, _, _ in planned] == [values["resume"], "auto"]


def test_stage_with_own_data_detects_format(tmp_path):
    from trainops_trainer.config import build_config
    from trainops_trainer.runner import plan_stages

    values = chain_values(tmp_path)
    values["format"] = "medical-r1"
    del values["stages"][1]["format"]

    planned = plan_stages(build_config(values), values)

    assert [config.format for config, _, _ in planned] == ["medical-r1", None]
