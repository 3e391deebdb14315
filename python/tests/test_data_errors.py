import json

import pytest

from conftest import medical_row, run_cli, write_jsonl
from trainops_trainer.data.reader import read_rows
from trainops_trainer.data.report import prepare_training_data
from trainops_trainer.errors import DataError


def prepare(path, tokenizer, prompter, data_format=None):
    return prepare_training_data(str(path), data_format, prompter, tokenizer, "tiny-random-phi3", 512, "drop")


def test_missing_column_names_column_file_row(tmp_path, tokenizer, prompter):
    path = write_jsonl(tmp_path / "d.jsonl", [{"question": "q", "response (content)": "a"}] * 2)
    path.write_text('\n' + path.read_text(encoding="utf-8"), encoding="utf-8")

    with pytest.raises(DataError) as caught:
        prepare(path, tokenizer, prompter, "instruction")

    message = caught.value.message
    assert "`instruction`" in message
    assert str(path) in message
    assert "first bad row 2" in message


def test_empty_and_non_string_fields_report_lines(tmp_path, tokenizer, prompter):
    path = write_jsonl(tmp_path / "d.jsonl", [
        medical_row(), medical_row(answer="  "), medical_row(question=7), medical_row(answer=""),
    ])

    with pytest.raises(DataError) as caught:
        prepare(path, tokenizer, prompter)

    message = caught.value.message
    assert "2 rows where `response (content)` is empty (first rows: 2, 4)" in message
    assert "1 rows where `question` is not a string (first rows: 3)" in message


def test_invalid_json_lines_reported(tmp_path, tokenizer, prompter):
    path = write_jsonl(tmp_path / "d.jsonl", [medical_row(), "{not json", medical_row(), "[1, 2]"])

    with pytest.raises(DataError) as caught:
        prepare(path, tokenizer, prompter)

    assert "1 lines that are not valid JSON (first rows: 2)" in caught.value.message
    assert "not an object (first rows: 4)" in caught.value.message


def test_unknown_file_type_rejected(tmp_path):
    path = tmp_path / "d.xlsx"
    path.write_bytes(b"x")

    with pytest.raises(DataError, match="unknown data file type '.xlsx'"):
        read_rows(str(path))


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")

    with pytest.raises(DataError, match="is empty"):
        read_rows(str(tmp_path / "empty.jsonl"))
    with pytest.raises(DataError, match="not found"):
        read_rows(str(tmp_path / "absent.jsonl"))


def test_undetectable_format_names_columns(tmp_path, tokenizer, prompter):
    path = write_jsonl(tmp_path / "d.jsonl", [{"prompt": "q", "answer": "a"}])

    with pytest.raises(DataError, match=r"cannot detect the data format .*\(answer, prompt\)"):
        prepare(path, tokenizer, prompter)


def test_gbk_csv_read_with_warning(tmp_path, tokenizer, prompter):
    text = ("question,reasoning (reasoning_content),response (content)\n"
            "患者发热三天，伴有咽痛和咳嗽，应该怎么办？,考虑上呼吸道感染，需要观察体温变化。,建议多休息，多饮水，必要时就医。\n"
            "高血压患者平时饮食需要注意什么？,钠摄入过多会升高血压。,每天食盐不超过五克，清淡饮食。\n")
    path = tmp_path / "d.csv"
    path.write_bytes(text.encode("gbk"))

    prepared = prepare(path, tokenizer, prompter)

    assert prepared.report["encoding"] == "gb18030"
    assert "GB18030" in prepared.report["warnings"][0]
    assert prepared.examples[0].prompt_messages[0]["content"].startswith("患者发热三天")


def test_other_file_types_read(tmp_path):
    import pandas as pd

    rows = [medical_row(), medical_row(question="头痛")]
    pd.DataFrame(rows).to_parquet(tmp_path / "d.parquet")
    (tmp_path / "d.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    from datasets import Dataset

    Dataset.from_list(rows).save_to_disk(str(tmp_path / "saved"))

    for name in ("d.parquet", "d.json", "saved"):
        data = read_rows(str(tmp_path / name))
        assert data.rows[1]["question"] == "头痛", name


def test_check_data_json_report(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [
        medical_row(),
        medical_row(),
        medical_row(answer="多休息, 多饮水!"),
        medical_row(answer=""),
        medical_row(answer="很长的回答。" * 200),
    ])

    result = run_cli("check-data", str(path), "--model-max-length", "300", "--json")

    report = json.loads(result.stdout)
    assert result.returncode == 1
    assert report["rows"] == 5
    assert report["valid_rows"] == 4
    assert report["format"] == "medical-r1"
    assert report["format_detected"] is True
    assert report["duplicates"]["exact"] == 1
    assert report["duplicates"]["first_exact"] == [[2, 1]]
    assert report["duplicates"]["near"] == 1
    assert report["duplicates"]["first_near"] == [[3, 1]]
    assert report["empty_answers"] == 1
    assert report["problems"][0]["first_rows"] == [4]
    assert report["tokens"]["over_max_length"] == 1
    assert report["tokens"]["first_rows_over_max_length"] == [5]
    assert report["tokens"]["p50"] > 0
    assert report["ok"] is False


def test_check_data_text_and_errors(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [medical_row(), medical_row(question="头痛")])

    good = run_cli("check-data", str(path))
    bad = run_cli("check-data", str(tmp_path / "d.txt"), "--json")

    assert good.returncode == 0, good.stderr
    assert "rows: 2, valid: 2, kept for training: 2" in good.stdout
    assert "result: ok" in good.stdout
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["error"]["type"] == "data_error"
