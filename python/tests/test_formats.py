import pytest

from conftest import write_jsonl
from trainops_trainer.data.formats import detect_format, rows_to_examples
from trainops_trainer.data.reader import read_rows
from trainops_trainer.errors import DataError


def load(tmp_path, rows):
    return read_rows(str(write_jsonl(tmp_path / "d.jsonl", rows)))


@pytest.mark.parametrize("row, expected", [
    ({"question": "q", "reasoning (reasoning_content)": "r", "response (content)": "a"}, "medical-r1"),
    ({"instruction": "i", "input": "", "output": "o"}, "instruction"),
    ({"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}, "chat"),
])
def test_format_detected_from_columns(tmp_path, row, expected):
    assert detect_format(load(tmp_path, [row])) == expected


def test_instruction_joins_input(tmp_path):
    data = load(tmp_path, [{"instruction": "翻译", "input": "hello", "output": "你好"},
                           {"instruction": "总结", "output": "好"}])

    examples, problems = rows_to_examples(data, "instruction")

    assert problems == []
    assert examples[0].prompt_messages == [{"role": "user", "content": "翻译\n\nhello"}]
    assert examples[1].prompt_messages == [{"role": "user", "content": "总结"}]
    assert examples[0].answer == "你好"


def test_chat_learns_last_assistant_turn(tmp_path, tokenizer, prompter):
    messages = [
        {"role": "system", "content": "你是医生。"},
        {"role": "user", "content": "头痛"},
        {"role": "assistant", "content": "多久了？"},
        {"role": "user", "content": "三天"},
        {"role": "assistant", "content": "请测血压。"},
    ]
    examples, problems = rows_to_examples(load(tmp_path, [{"messages": messages}]), "chat")

    prompt = prompter.prompt_text(examples[0])

    assert problems == []
    assert prompt.startswith("<|system|>\n你是医生。<|end|>\n")
    assert "<|assistant|>\n多久了？<|end|>\n" in prompt
    assert prompt.endswith("<|user|>\n三天<|end|>\n<|assistant|>\n")
    assert prompter.target_text(examples[0]) == "请测血压。<|end|>"


def test_chat_rejects_bad_messages(tmp_path):
    rows = [
        {"messages": [{"role": "user", "content": "q"}]},
        {"messages": [{"role": "user", "content": "q"}, {"role": "bot", "content": "a"}]},
        {"messages": "q"},
    ]

    examples, problems = rows_to_examples(load(tmp_path, rows), "chat")

    assert examples == []
    assert problems[0].kind == "invalid_messages"
    assert problems[0].first_rows == [1, 2, 3]


def test_invalid_json_file_rejected(tmp_path):
    path = tmp_path / "d.json"
    path.write_text('{"a": 1', encoding="utf-8")

    with pytest.raises(DataError, match="not valid JSON"):
        read_rows(str(path))
