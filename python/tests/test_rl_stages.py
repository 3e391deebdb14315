"""DPO and GRPO stages on the tiny model, each starting from an SFT adapter."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import read_events, train_values, validate_event, write_jsonl
from trainops_trainer.runner import run_train
from trainops_trainer.stages import available_stages

THINK = "<think>\n先分析症状。\n</think>\n\n"
PREFERENCES = [
    {"prompt": "发热三天怎么办？", "chosen": THINK + "多休息，多饮水。", "rejected": "不用管。"},
    {"prompt": "头痛怎么办？", "chosen": THINK + "注意休息。", "rejected": "吃点辣的。"},
    {"prompt": [{"role": "user", "content": "咳嗽一周怎么办？"}],
     "chosen": [{"role": "assistant", "content": THINK + "去医院检查。"}],
     "rejected": [{"role": "assistant", "content": "忍着。"}]},
    {"chosen": [{"role": "user", "content": "腹泻怎么办？"}, {"role": "assistant", "content": THINK + "补液。"}],
     "rejected": [{"role": "user", "content": "腹泻怎么办？"}, {"role": "assistant", "content": "吃凉的。"}]},
]
PROMPTS = [
    {"prompt": "发热三天怎么办？", "answer": "多休息，多饮水。"},
    {"prompt": "下列哪项是抗血小板药？A. 阿司匹林 B. 胰岛素 C. 青霉素", "answer": "A"},
    {"prompt": "头痛怎么办？", "answer": "注意休息。"},
    {"prompt": "腹泻怎么办？", "answer": "补液。"},
]
RL_STEPS = {"max_steps": 2, "save_steps": 2, "batch_size": 2, "logging_steps": 1}
GRPO_OPTIONS = {"num_generations": 2, "max_completion_length": 12}


@pytest.fixture(scope="module")
def sft_adapter(tmp_path_factory):
    root = tmp_path_factory.mktemp("sft")
    assert run_train(train_values(root, max_steps=2, save_steps=2)) == 0
    return root / "output"


class JudgeHandler(BaseHTTPRequestHandler):
    """An OpenAI-compatible judge that lists one model and scores every answer 7 out of 10."""

    def do_GET(self):
        self._reply({"object": "list", "data": [{"id": "judge-small", "object": "model"}]})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        self._reply({"choices": [{"index": 0, "message": {"role": "assistant", "content": "Score: 7"}}]})

    def _reply(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def judge_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), JudgeHandler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stage_events(tmp_path):
    events = read_events(tmp_path / "events.jsonl")
    for event in events:
        validate_event(event)
    return events


def test_registry_lists_rl_stages():
    assert {"sft", "dpo", "grpo"} <= set(available_stages())


def test_dpo_stage_from_sft_adapter(tmp_path, sft_adapter):
    data = write_jsonl(tmp_path / "pairs.jsonl", PREFERENCES)

    code = run_train(train_values(tmp_path, stage="dpo", dataset=str(data), **{"from": str(sft_adapter)}, **RL_STEPS))

    events = stage_events(tmp_path)
    start = events[0]
    steps = [e for e in events if e["type"] == "step"]
    assert code == 0, events[-1]
    assert start["stage"] == "dpo"
    assert start["train_rows"] == 4
    assert start["data_report"]["format"] == "preference"
    assert [s["step"] for s in steps] == [1, 2]
    for step in steps:
        assert isinstance(step["reward_mean"], float)
        assert 0 <= step["reward_accuracy"] <= 1
    assert (tmp_path / "output" / "completed").exists()
    assert json.loads((tmp_path / "output" / "adapter_config.json").read_text())["peft_type"] == "LORA"
    assert not (tmp_path / "output" / "ref").exists()


def test_grpo_stage_with_all_rewards(tmp_path, sft_adapter, judge_server):
    data = write_jsonl(tmp_path / "prompts.jsonl", PROMPTS)
    url = f"http://127.0.0.1:{judge_server.server_address[1]}/v1"

    code = run_train(train_values(tmp_path, stage="grpo", dataset=str(data), **{"from": str(sft_adapter)},
                                  rewards="format:0.5,answer:1,length:0.1,judge:0.5", judge_url=url,
                                  **RL_STEPS, **GRPO_OPTIONS))

    events = stage_events(tmp_path)
    steps = [e for e in events if e["type"] == "step"]
    assert code == 0, events[-1]
    assert events[0]["stage"] == "grpo"
    assert events[0]["data_report"]["format"] == "prompt"
    for step in steps:
        for field in ("reward_mean", "reward_std", "kl", "completion_length", "reward_format", "reward_answer",
                      "reward_length"):
            assert isinstance(step[field], float), (field, step)
        assert step["reward_judge"] == pytest.approx(0.7)
        assert 0 < step["completion_length"] <= GRPO_OPTIONS["max_completion_length"]
    assert judge_server.requests and judge_server.requests[0]["model"] == "judge-small"
    assert "Reference answer" in judge_server.requests[0]["messages"][1]["content"]
    assert (tmp_path / "output" / "completed").exists()


def test_grpo_judge_down_fails_clearly(tmp_path):
    data = write_jsonl(tmp_path / "prompts.jsonl", PROMPTS)
    url = f"http://127.0.0.1:{closed_port()}/v1"

    code = run_train(train_values(tmp_path, stage="grpo", dataset=str(data), rewards="answer,judge", judge_url=url,
                                  judge_timeout_seconds=2, **RL_STEPS, **GRPO_OPTIONS))

    end = stage_events(tmp_path)[-1]
    assert code == 1
    assert end["error"]["type"] == "dependency_error"
    assert url in end["error"]["message"]
    assert "unreachable" in end["error"]["message"]


@pytest.mark.parametrize("stage,rows,message", [
    ("dpo", [{"prompt": "a", "chosen": "b"}, {"prompt": "c", "chosen": "d", "rejected": "e"}],
     "1 rows without `rejected` (first rows: 1)"),
    ("dpo", [{"prompt": "a", "chosen": "同一个回答", "rejected": "同一个回答"}, PREFERENCES[0]],
     "1 rows whose `chosen` and `rejected` are identical (first rows: 1)"),
    ("dpo", [{"prompt": "a", "chosen": "b", "rejected": " "}], "rows where `rejected` is empty"),
    ("dpo", [{"question": "a", "answer": "b"}], "column `chosen` required by format preference is missing"),
    ("grpo", [PROMPTS[0], {"prompt": "没有参考答案"}, {"prompt": "空答案", "answer": ""}],
     "rows without a reference `answer`"),
    ("grpo", [{"prompt": ""}], "rows where `prompt` is empty"),
    ("grpo", [{"prompt": [{"role": "user", "content": "问"}, {"role": "assistant", "content": "答"}], "answer": "答"}],
     "rows whose `prompt` does not end with a user turn"),
])
def test_bad_rl_data_is_data_error(tmp_path, stage, rows, message):
    data = write_jsonl(tmp_path / "rows.jsonl", rows)

    code = run_train(train_values(tmp_path, stage=stage, dataset=str(data), **RL_STEPS, **GRPO_OPTIONS))

    end = stage_events(tmp_path)[-1]
    assert code == 1
    assert end["error"]["type"] == "data_error"
    assert message in end["error"]["message"]


def test_grpo_reads_sft_rows_as_prompts(prompter):
    from conftest import SAMPLE_DATA
    from trainops_trainer.rl.data import load_rl_data

    first = json.loads(SAMPLE_DATA.read_text(encoding="utf-8").splitlines()[0])

    data = load_rl_data(str(SAMPLE_DATA), "grpo", None, prompter, needs_answer=True)

    assert data.report["format"] == "medical-r1"
    assert data.rows["answer"][0] == first["response (content)"].strip()
    assert data.rows["prompt"][0].endswith("<|assistant|>\n")


@pytest.mark.parametrize("stage", ["dpo", "grpo"])
def test_rl_stage_stops_on_nan_loss(tmp_path, sft_adapter, stage):
    rows = PREFERENCES if stage == "dpo" else PROMPTS
    data = write_jsonl(tmp_path / "rows.jsonl", rows)

    code = run_train(train_values(tmp_path, stage=stage, dataset=str(data), debug_nan_at_step=2,
                                  **{"from": str(sft_adapter)}, **RL_STEPS, **GRPO_OPTIONS))

    events = stage_events(tmp_path)
    assert code == 1
    assert events[-1]["error"]["type"] == "diverged"
    assert "at step 2" in events[-1]["error"]["message"]
    assert not (tmp_path / "output" / "completed").exists()
