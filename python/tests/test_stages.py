import json

from conftest import read_events, train_values, validate_event
from trainops_trainer.runner import run_train
from trainops_trainer.stages import available_stages


def test_registry_lists_sft():
    assert "sft" in available_stages()


def test_chained_stages_start_from_earlier_adapter(tmp_path):
    values = train_values(tmp_path, max_steps=2, save_steps=2,
                          stages=[{"stage": "sft"}, {"stage": "sft", "from": "0", "learning_rate": 1e-3}])

    code = run_train(values)

    events = read_events(tmp_path / "events.jsonl")
    for event in events:
        validate_event(event)
    starts = [e for e in events if e["type"] == "start"]
    output = tmp_path / "output"
    assert code == 0
    assert [(e["stage_index"], e["stage_count"]) for e in starts] == [(0, 2), (1, 2)]
    assert (output / "0-sft" / "completed").exists()
    assert (output / "1-sft" / "completed").exists()
    assert (output / "completed").exists()
    adapter = json.loads((output / "1-sft" / "adapter_config.json").read_text())
    assert adapter["peft_type"] == "LORA"


def test_chained_stage_cannot_set_run_keys(tmp_path):
    code = run_train(train_values(tmp_path, stages=[{"stage": "sft", "output_dir": "/tmp/elsewhere"}]))

    end = read_events(tmp_path / "events.jsonl")[-1]
    assert code == 2
    assert "may not set output_dir" in end["error"]["message"]
