"""Reward functions on a table of completions: right, wrong, malformed and multiple-choice."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from trainops_trainer.errors import ConfigError, DependencyError
from trainops_trainer.rl.judge import JudgeClient, judge_from_options, make_judge_reward, parse_score
from trainops_trainer.rl.rewards import (answer_reward, chosen_option, format_reward, length_penalty,
                                         make_length_reward, parse_reward_spec, reference_option)

THINK = "<think>\n先分析症状。\n</think>\n\n"

# (completion, reference, format reward, answer reward)
COMPLETIONS = [
    (THINK + "多休息，多饮水。", "多休息，多饮水。", 1.0, 1.0),                     # right
    (THINK + "多休息 多饮水", "多休息，多饮水。", 1.0, 1.0),                        # right after normalising
    (THINK + "建议多休息，多饮水，必要时就医。", "多休息，多饮水", 1.0, 0.5),        # contains the reference
    (THINK + "立即手术。", "多休息，多饮水。", 1.0, 0.0),                           # wrong
    ("多休息，多饮水。", "多休息，多饮水。", 0.0, 1.0),                             # right answer, no reasoning
    ("<think>\n只想不答。\n</think>\n\n", "多休息，多饮水。", 0.0, 0.0),             # malformed: no answer
    ("<think>\n没有闭合标签，多休息，多饮水。", "多休息", 0.0, 0.5),                  # malformed: unclosed think
    ("<think>\n\n</think>\n\n多休息。", "多休息", 0.0, 1.0),                         # malformed: empty reasoning
    (THINK + "<think>又想</think>多休息", "多休息", 0.0, 0.5),                       # malformed: two think blocks
    ("", "多休息", 0.0, 0.0),                                                        # empty completion
    (THINK + "答案是B", "B", 1.0, 1.0),                                              # multiple choice, right
    (THINK + "答案：(C)", "B. 阿司匹林", 1.0, 0.0),                                  # multiple choice, wrong
    (THINK + "B. 阿司匹林抑制血小板聚集。", "答案：B", 1.0, 1.0),                     # option letter first
    (THINK + "The answer is d.", "D", 1.0, 1.0),                                     # named explicitly, any case
    (THINK + "The answer is D.", "(D)", 1.0, 1.0),
    (THINK + "选A", "A", 1.0, 1.0),
    (THINK + "A 或 B 都有可能", "A", 1.0, 0.0),                                      # two options: none chosen
    (THINK + "阿司匹林", "B", 1.0, 0.0),                                             # no option named
]


@pytest.mark.parametrize("completion,reference,expected_format,expected_answer", COMPLETIONS)
def test_format_and_answer_rewards(completion, reference, expected_format, expected_answer):
    assert format_reward([completion]) == [expected_format]
    assert answer_reward([completion], answer=[reference]) == [expected_answer]


def test_rewards_read_chat_completions():
    completion = [{"role": "assistant", "content": THINK + "答案是B"}]

    assert format_reward([completion]) == [1.0]
    assert answer_reward([completion], answer=["B"]) == [1.0]


@pytest.mark.parametrize("reference,letter", [
    ("B", "B"), ("(c)", "C"), ("B. 阿司匹林", "B"), ("答案：D", "D"), ("A、青霉素", "A"),
    ("A patient should rest", None), ("多休息", None), ("Aspirin", None),
])
def test_reference_option(reference, letter):
    assert reference_option(reference) == letter


@pytest.mark.parametrize("answer,letter", [
    ("答案是B", "B"), ("answer: C", "C"), ("选择 (E)", "E"), ("A. 阿司匹林", "A"), ("我认为是 D 项", "D"),
    ("A 或 B", None), ("阿司匹林", None),
])
def test_chosen_option(answer, letter):
    assert chosen_option(answer) == letter


def test_length_penalty_grows_past_the_target():
    assert length_penalty(10, target=12, limit=16) == 0.0
    assert length_penalty(14, target=12, limit=16) == -0.5
    assert length_penalty(40, target=12, limit=16) == -1.0
    reward = make_length_reward(target=2, limit=4)
    assert reward(["x"] * 3, completion_ids=[[1, 2], [1, 2, 3], [1, 2, 3, 4]]) == [0.0, -0.5, -1.0]


def test_reward_spec_with_weights():
    specs = parse_reward_spec("format:0.5, answer ,length:0.1")

    assert [(s.name, s.weight) for s in specs] == [("format", 0.5), ("answer", 1.0), ("length", 0.1)]


@pytest.mark.parametrize("text,message", [
    ("accuracy:1", "unknown reward `accuracy`"),
    ("answer:lots", "expected a number"),
    ("answer,answer:2", "appears twice"),
    ("", "names no reward"),
])
def test_reward_spec_errors(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_reward_spec(text)


@pytest.mark.parametrize("reply,score", [("Score: 7", 0.7), ("score：10", 1.0), ("8/10", 0.8), ("Score: 12", 1.0),
                                         ("no idea", None)])
def test_judge_score_parsing(reply, score):
    assert parse_score(reply) == score


class SlowJudge(BaseHTTPRequestHandler):
    """A judge endpoint that answers only after its client has given up."""

    def do_POST(self):
        time.sleep(1.5)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_judge_timeout_is_a_dependency_error():
    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowJudge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = JudgeClient(f"http://127.0.0.1:{server.server_address[1]}/v1", "judge-small", None, 0.3)
    reward = make_judge_reward(client)

    try:
        with pytest.raises(DependencyError, match="timed out after 0.3 s"):
            reward(prompts=["问题"], completions=[THINK + "回答"], answer=["参考"])
    finally:
        server.shutdown()
        server.server_close()


def test_judge_key_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("CANARY_JUDGE_KEY", "sk-canary-123")

    client = judge_from_options("http://127.0.0.1:9/v1", None, "CANARY_JUDGE_KEY", 5)

    assert client.api_key == "sk-canary-123"
    with pytest.raises(ConfigError, match="needs option `judge_url`"):
        judge_from_options(None, None, "CANARY_JUDGE_KEY", 5)
