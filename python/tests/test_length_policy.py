import pytest

from trainops_trainer.data.encode import IGNORE_INDEX, encode_examples
from trainops_trainer.data.formats import Example
from trainops_trainer.errors import DataError


def rows():
    short = Example(1, [{"role": "user", "content": "头痛"}], "休息。")
    long_answer = Example(2, [{"role": "user", "content": "头痛"}], "请多休息并测量血压。" * 40)
    long_prompt = Example(3, [{"role": "user", "content": "头痛反复发作。" * 80}], "休息。")
    return [short, long_answer, long_prompt]


def test_drop_policy_counts_reasons(tokenizer, prompter):
    encoded = encode_examples(rows(), prompter, tokenizer, 120, "drop")

    assert encoded.row_numbers == [1]
    assert encoded.dropped == {"over_max_length": 2}


def test_truncate_keeps_learnable_tokens(tokenizer, prompter):
    encoded = encode_examples(rows(), prompter, tokenizer, 120, "truncate")

    assert encoded.row_numbers == [1, 2]
    assert encoded.truncated == 1
    assert encoded.dropped == {"prompt_over_max_length": 1}
    assert len(encoded.input_ids[1]) == 120
    assert any(label != IGNORE_INDEX for label in encoded.labels[1])


def test_reject_names_rows(tokenizer, prompter):
    with pytest.raises(DataError, match=r"2 rows .* exceed max_length 120 .*first rows: 2, 3"):
        encode_examples(rows(), prompter, tokenizer, 120, "reject")


def test_row_without_learnable_token_dropped(tokenizer):
    from trainops_trainer.data.prompts import EndOfTurn, Prompter

    prompter = Prompter(tokenizer, "tiny", "chat_template", "", "drop")
    prompter.end = EndOfTurn("", "", -1)
    empty = Example(1, [{"role": "user", "content": "头痛"}], "")

    encoded = encode_examples([empty], prompter, tokenizer, 512, "drop")

    assert encoded.input_ids == []
    assert encoded.dropped == {"no_learnable_tokens": 1}
