"""check-data on RL data: preference rows (DPO) and prompt rows (GRPO) in JSONL, CSV and Parquet."""

import json

import pytest

from conftest import run_cli, write_jsonl
from trainops_trainer.cli import main
from trainops_trainer.data.formats import describe_problems
from trainops_trainer.data.reader import Problem
from trainops_trainer.errors import DataError
from trainops_trainer.rl.data import load_rl_data

PAIR = {"prompt": "发热三天怎么办？", "chosen": "多休息，多饮水，体温超过 39 度就医。", "rejected": "不用管。"}
CHAT_PAIR = {
    "chosen": [{"role": "user", "content": "腹痛怎么办？"}, {"role": "assistant", "content": "先禁食，疼痛加重就医。"}],
    "rejected": [{"role": "user", "content": "腹痛怎么办？"}, {"role": "assistant", "content": "忍一忍。"}],
}
PREFERENCE_ROWS = [
    PAIR,
    {"prompt": "咳嗽怎么办？", "chosen": "多喝温水。", "rejected": "多喝温水。"},
    {"prompt": "头痛怎么办？", "chosen": "休息。"},
    CHAT_PAIR,
    dict(PAIR),
    {**PAIR, "chosen": PAIR["chosen"] + "！！"},
    {"prompt": "失眠怎么办？", "chosen": "规律作息。", "rejected": " "},
]
PROMPT_ROWS = [
    {"prompt": "发热三天怎么办？", "answer": "多休息，多饮水。"},
    {"prompt": "咳嗽怎么办？"},
    {"prompt": "头痛怎么办？", "answer": "  "},
    {"prompt": "发热三天怎么办？", "answer": "多休息，多饮水。"},
]


def check(capsys, *args: str) -> tuple[int, dict]:
    code = main(["check-data", *args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def problem_map(report: dict) -> dict[tuple[str, str], list[int]]:
    return {(p["kind"], p["field"]): p["first_rows"] for p in report["problems"]}


def test_preference_jsonl_report(tmp_path, capsys):
    path = write_jsonl(tmp_path / "pairs.jsonl", PREFERENCE_ROWS)

    code, report = check(capsys, str(path))

    assert code == 1
    assert report["report_version"] == 1
    assert report["format"] == "preference"
    assert report["format_detected"] is True
    assert report["rows"] == 7
    assert report["valid_rows"] == 4
    assert problem_map(report) == {("identical_pair", "chosen"): [2], ("missing_field", "rejected"): [3],
                                   ("empty_field", "rejected"): [7]}
    assert report["empty_answers"] == 1
    assert report["duplicates"]["first_exact"] == [[5, 1]]
    assert report["duplicates"]["first_near"] == [[6, 1]]
    assert report["ok"] is False


def test_preference_token_lengths(tmp_path, capsys):
    long_answer = "很长的回答。" * 100
    rows = [PAIR, {**PAIR, "chosen": long_answer}, {**PAIR, "prompt": "很长的问题？" * 100}]
    path = write_jsonl(tmp_path / "pairs.jsonl", rows)

    code, report = check(capsys, str(path), "--model-max-length", "200")

    chosen, rejected = report["pair_tokens"]["chosen"], report["pair_tokens"]["rejected"]
    assert code == 0
    assert chosen["first_rows_over_max_length"] == [2, 3]
    assert rejected["first_rows_over_max_length"] == [3]
    assert chosen["max"] > rejected["max"]
    assert report["tokens"]["max"] == chosen["max"]
    assert report["tokens"]["measure"] == "prompt+chosen or prompt+rejected, whichever is longer"
    assert report["tokens"]["first_rows_over_max_length"] == [2, 3]
    assert report["length_policy"] == "truncate"
    assert report["truncated"] == 1
    assert report["dropped"] == {"prompt_over_max_length": 1}
    assert report["kept_rows"] == 2


def test_preference_csv_and_parquet(tmp_path, capsys):
    import pandas as pd

    rows = [PAIR, {"prompt": "咳嗽怎么办？", "chosen": "多喝温水。", "rejected": "多喝温水。"},
            {"prompt": "头痛怎么办？", "chosen": "休息。", "rejected": ""}]
    frame = pd.DataFrame(rows)
    frame.to_csv(tmp_path / "pairs.csv", index=False)
    frame.to_parquet(tmp_path / "pairs.parquet")
    pd.DataFrame([CHAT_PAIR, CHAT_PAIR]).to_parquet(tmp_path / "chat.parquet")

    for name in ("pairs.csv", "pairs.parquet"):
        code, report = check(capsys, str(tmp_path / name), "--format", "preference")
        assert code == 1, name
        assert report["format_detected"] is False, name
        assert report["valid_rows"] == 1, name
        assert problem_map(report) == {("identical_pair", "chosen"): [2], ("empty_field", "rejected"): [3]}, name
    code, report = check(capsys, str(tmp_path / "chat.parquet"))
    assert code == 0
    assert report["file_type"] == "parquet"
    assert report["format"] == "preference"
    assert report["duplicates"]["first_exact"] == [[2, 1]]


def test_preference_missing_column_is_error(tmp_path, capsys):
    path = write_jsonl(tmp_path / "pairs.jsonl", [{"prompt": "a", "chosen": "b"}])

    code, report = check(capsys, str(path), "--format", "preference")

    assert code == 1
    assert report["error"]["type"] == "data_error"
    assert "column `rejected` required by format preference is missing" in report["error"]["message"]


def test_prompt_rows_without_rewards(tmp_path, capsys):
    path = write_jsonl(tmp_path / "prompts.jsonl", PROMPT_ROWS + [{"prompt": ""}])

    code, report = check(capsys, str(path))

    assert code == 1
    assert report["format"] == "prompt"
    assert report["references"] == {"required": False, "missing": 2, "first_rows": [2, 3]}
    assert problem_map(report) == {("empty_field", "prompt"): [5]}
    assert report["valid_rows"] == 4
    assert report["duplicates"]["first_exact"] == [[4, 1]]
    assert report["tokens"]["measure"] == "prompt"
    assert report["tokens"]["p50"] > 0
    assert report["length_policy"] == "keep"


def test_prompt_rows_with_answer_reward(tmp_path, capsys):
    path = write_jsonl(tmp_path / "prompts.jsonl", PROMPT_ROWS)

    code, report = check(capsys, str(path), "--rewards", "format:0.5,answer:1")

    assert code == 1
    assert report["references"] == {"required": True, "missing": 2, "first_rows": [2, 3]}
    assert problem_map(report) == {("missing_field", "answer"): [2], ("empty_field", "answer"): [3]}
    assert report["valid_rows"] == 2


def test_prompt_rows_with_format_reward_only(tmp_path, capsys):
    path = write_jsonl(tmp_path / "prompts.jsonl", PROMPT_ROWS)

    code, report = check(capsys, str(path), "--rewards", "format,length")

    assert code == 0
    assert report["references"]["required"] is False
    assert report["ok"] is True


def test_unknown_reward_is_config_error(tmp_path, capsys):
    path = write_jsonl(tmp_path / "prompts.jsonl", PROMPT_ROWS)

    code, report = check(capsys, str(path), "--rewards", "bleu")

    assert code == 1
    assert report["error"]["type"] == "config_error"
    assert "unknown reward `bleu`" in report["error"]["message"]


@pytest.mark.parametrize("stage,rows,rewards", [
    ("dpo", PREFERENCE_ROWS, None),
    ("grpo", PROMPT_ROWS + [{"prompt": [{"role": "assistant", "content": "答"}], "answer": "答"}], "answer"),
])
def test_check_data_agrees_with_training(tmp_path, capsys, prompter, stage, rows, rewards):
    path = write_jsonl(tmp_path / "rows.jsonl", rows)

    _, report = check(capsys, str(path), *(["--rewards", rewards] if rewards else []))
    with pytest.raises(DataError) as raised:
        load_rl_data(str(path), stage, None, prompter, needs_answer=rewards is not None)

    problems = [Problem(p["kind"], p["message"], p["field"], p["count"], p["first_rows"]) for p in report["problems"]]
    assert raised.value.message == describe_problems(str(path), problems)


def test_check_data_text_for_preferences(tmp_path):
    path = write_jsonl(tmp_path / "pairs.jsonl", PREFERENCE_ROWS[:2])

    result = run_cli("check-data", str(path), "--format", "preference")

    assert result.returncode == 1
    assert "format: preference\n" in result.stdout
    assert "problem: 1 row whose `chosen` and `rejected` are identical (first rows: 2)" in result.stdout
    assert "  prompt+chosen: mean" in result.stdout
    assert "  prompt+rejected: mean" in result.stdout


def test_check_data_text_counts_missing_answers_once(tmp_path):
    path = write_jsonl(tmp_path / "prompts.jsonl", PROMPT_ROWS)

    result = run_cli("check-data", str(path), "--rewards", "format:0.5,answer:1")

    assert result.returncode == 1
    assert "problem: 1 row without a reference `answer` (the answer and judge rewards compare with it) " \
        "(first rows: 2)" in result.stdout
    assert "problem: 1 row without a reference `answer` (the answer and judge rewards compare with it) " \
        "(first rows: 3)" in result.stdout
    assert "rows without a reference answer" not in result.stdout


def test_check_data_text_lists_optional_answers(tmp_path):
    path = write_jsonl(tmp_path / "prompts.jsonl", PROMPT_ROWS)

    result = run_cli("check-data", str(path))

    assert "rows without a reference answer (needed only by the answer and judge rewards): 2 (first rows: 2, 3)" \
        in result.stdout
    assert "problem:" not in result.stdout
