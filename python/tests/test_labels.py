from trainops_trainer.config import DEFAULT_SYSTEM_PROMPT
from trainops_trainer.data.encode import IGNORE_INDEX, PaddingCollator, encode_examples
from trainops_trainer.data.formats import Example
from trainops_trainer.data.prompts import Prompter


def example(answer="多休息，多饮水。", reasoning="考虑上呼吸道感染。"):
    return Example(1, [{"role": "user", "content": "发热三天怎么办？"}], answer, reasoning)


def test_labels_mask_prompt_exactly(tokenizer, prompter):
    encoded = encode_examples([example()], prompter, tokenizer, 512, "drop")
    ids, labels = encoded.input_ids[0], encoded.labels[0]
    prompt_ids = tokenizer(prompter.prompt_text(example()), add_special_tokens=False)["input_ids"]

    assert labels[: len(prompt_ids)] == [IGNORE_INDEX] * len(prompt_ids)
    assert labels[len(prompt_ids):] == ids[len(prompt_ids):]
    assert IGNORE_INDEX not in labels[len(prompt_ids):]


def test_decoded_target_is_reasoning_then_answer(tokenizer, prompter):
    encoded = encode_examples([example()], prompter, tokenizer, 512, "drop")
    learned = [t for t in encoded.labels[0] if t != IGNORE_INDEX]

    text = tokenizer.decode(learned, skip_special_tokens=False)

    assert text == "<think>\n考虑上呼吸道感染。\n</think>\n\n多休息，多饮水。<|end|>"


def test_prompt_uses_chat_template_and_system(tokenizer, prompter):
    text = prompter.prompt_text(example())

    assert text == f"<|system|>\n{DEFAULT_SYSTEM_PROMPT}<|end|>\n<|user|>\n发热三天怎么办？<|end|>\n<|assistant|>\n"


def test_end_token_single_id_learned(tokenizer, prompter):
    end_id = tokenizer.convert_tokens_to_ids("<|end|>")
    encoded = encode_examples([example()], prompter, tokenizer, 512, "drop")

    assert prompter.end.token == "<|end|>"
    assert prompter.end.token_id == end_id
    assert encoded.labels[0][-1] == end_id
    assert "<|EOT|>" not in prompter.target_text(example())


def test_eos_equal_to_pad_stays_learned(tokenizer):
    assert tokenizer.pad_token_id == tokenizer.eos_token_id
    prompter = Prompter(tokenizer, "tiny", "instruction", DEFAULT_SYSTEM_PROMPT, "drop")
    encoded = encode_examples([example()], prompter, tokenizer, 512, "drop")

    assert encoded.labels[0][-1] == tokenizer.eos_token_id
    batch = PaddingCollator(tokenizer.pad_token_id)([
        {"input_ids": encoded.input_ids[0], "labels": encoded.labels[0]},
        {"input_ids": encoded.input_ids[0][:5], "labels": encoded.labels[0][:5]},
    ])
    assert batch["attention_mask"][0].tolist() == [1] * len(encoded.input_ids[0])
    assert batch["labels"][0, -1].item() == tokenizer.eos_token_id
    assert batch["attention_mask"][1, 5:].sum().item() == 0
    assert batch["labels"][1, 5:].tolist() == [IGNORE_INDEX] * (len(encoded.input_ids[0]) - 5)


def test_instruction_layout_matches_script(tokenizer):
    prompter = Prompter(tokenizer, "tiny", "instruction", DEFAULT_SYSTEM_PROMPT, "prompt")

    prompt = prompter.prompt_text(example())

    assert prompt == (f"{DEFAULT_SYSTEM_PROMPT}\n### Instruction:\n发热三天怎么办？\n考虑上呼吸道感染。\n"
                      "### Response:\n")
    assert prompter.target_text(example()) == "多休息，多饮水。\n<|endoftext|>"


def test_reasoning_dropped(tokenizer):
    prompter = Prompter(tokenizer, "tiny", "chat_template", "", "drop")

    assert prompter.target_text(example()) == "多休息，多饮水。<|end|>"
    assert "考虑" not in prompter.prompt_text(example())
    assert not prompter.prompt_text(example()).startswith("<|system|>")
