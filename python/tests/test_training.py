import torch

from conftest import medical_row, read_events, train_values, validate_event, write_jsonl
from trainops_trainer.callbacks import StopRequest
from trainops_trainer.config import build_config
from trainops_trainer.events import EventWriter
from trainops_trainer.runner import run_train
from trainops_trainer.stages import StageContext
from trainops_trainer.stages.sft import build_sft_trainer

ROWS = [
    medical_row("发热怎么办？", "考虑感染。", "多喝水。"),
    medical_row("头痛怎么办？", "考虑紧张。", "多休息。"),
    medical_row("咳嗽怎么办？", "考虑感冒。", "多保暖。"),
    medical_row("失眠怎么办？", "考虑焦虑。", "早睡觉。"),
]


def build_trainer(tmp_path, **overrides):
    data = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    options = {"learning_rate": 1e-2, "max_steps": 25, "save_steps": 100, "lora_dropout": 0.0, **overrides}
    values = train_values(tmp_path, dataset=str(data), **options)
    config = build_config(values)
    writer = EventWriter(config.events_path, config.run_id)
    context = StageContext(config, writer, StopRequest(), config.output_dir)
    trainer, _ = build_sft_trainer(context)
    return trainer


def snapshot(model, lora: bool):
    return {name: p.detach().clone() for name, p in model.named_parameters() if ("lora_" in name) == lora}


def losses(trainer):
    return [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]


def test_overfit_lowers_loss_and_only_lora_changes(tmp_path):
    trainer = build_trainer(tmp_path)
    lora_before, base_before = snapshot(trainer.model, True), snapshot(trainer.model, False)

    trainer.train()

    history = losses(trainer)
    assert history[-1] < history[0] - 1.0, history
    lora_after, base_after = snapshot(trainer.model, True), snapshot(trainer.model, False)
    assert any(not torch.equal(lora_before[n], lora_after[n]) for n in lora_before)
    assert all(torch.equal(base_before[n], base_after[n]) for n in base_before)


def test_gradient_checkpointing_still_trains(tmp_path):
    trainer = build_trainer(tmp_path, gradient_checkpointing=True, max_steps=8)
    lora_before = snapshot(trainer.model, True)

    trainer.train()

    assert trainer.model.base_model.model.is_activation_checkpointing
    assert losses(trainer)[-1] < losses(trainer)[0]
    lora_after = snapshot(trainer.model, True)
    assert any(not torch.equal(lora_before[n], lora_after[n]) for n in lora_before)


def test_run_writes_valid_events_and_adapter(tmp_path):
    code = run_train(train_values(tmp_path))

    events = read_events(tmp_path / "events.jsonl")
    assert code == 0
    for event in events:
        validate_event(event)
    assert [e["type"] for e in events][0] == "start"
    assert events[-1]["type"] == "end"
    assert events[-1]["status"] == "succeeded"
    assert events[-1]["step"] == 6
    assert [e["step"] for e in events if e["type"] == "checkpoint"] == [3, 6]
    assert all("tokens_per_second" in e for e in events if e["type"] == "step")
    start = events[0]
    assert start["data_report"]["kept_rows"] == 40
    assert start["train_rows"] == 40
    output = tmp_path / "output"
    assert (output / "completed").exists()
    assert (output / "adapter_model.safetensors").exists()
    assert (output / "tokenizer.json").exists()


def test_completed_prevents_retrain(tmp_path):
    assert run_train(train_values(tmp_path, max_steps=2)) == 0

    code = run_train(train_values(tmp_path, max_steps=2))

    end = read_events(tmp_path / "events.jsonl")[-1]
    assert code == 1
    assert end["error"]["type"] == "already_completed"
    assert run_train(train_values(tmp_path, max_steps=2, force=True)) == 0


def test_nan_loss_ends_diverged(tmp_path):
    code = run_train(train_values(tmp_path, debug_nan_at_step=3))

    events = read_events(tmp_path / "events.jsonl")
    end = events[-1]
    assert code == 1
    assert end["status"] == "failed"
    assert end["error"]["type"] == "diverged"
    assert "step 3" in end["error"]["message"]
    assert all(e["loss"] is not None for e in events if e["type"] == "step")
    assert not (tmp_path / "output" / "completed").exists()


def test_moe_model_trains(tmp_path):
    code = run_train(train_values(tmp_path, model="tiny-random-phimoe", max_steps=2, train_router=True))

    assert code == 0
    assert read_events(tmp_path / "events.jsonl")[-1]["status"] == "succeeded"


def test_merge_adapter_saves_full_model(tmp_path):
    code = run_train(train_values(tmp_path, max_steps=1, merge_adapter=True))

    merged = tmp_path / "output" / "merged"
    assert code == 0
    assert (merged / "config.json").exists()
    assert (merged / "model.safetensors").exists()
    assert (merged / "tokenizer.json").exists()
