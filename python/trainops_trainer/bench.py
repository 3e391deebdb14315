"""`bench-data`: our data pipeline against a faithful re-implementation of the team's original one.

Measures preprocessing speed (rows per second) and padding efficiency (real tokens over
all tokens in each batch) on synthetic medical rows with long, varied reasoning.
"""

from __future__ import annotations

import copy
import json
import os
import random
import statistics
import time

import numpy as np

from .config import DEFAULT_SYSTEM_PROMPT
from .data.encode import encode_examples
from .data.formats import REASONING, RESPONSE, QUESTION, rows_to_examples
from .data.prompts import Prompter
from .data.reader import RawData

_PHRASES = [
    "患者主诉反复胸闷气短", "伴有夜间阵发性呼吸困难", "既往高血压病史十年", "规律服用氨氯地平",
    "查体血压一百五十over九十", "双肺底可闻及湿啰音", "心电图提示窦性心动过速", "需要排除急性冠脉综合征",
    "考虑心力衰竭可能", "建议完善心脏超声和BNP检查", "同时评估肾功能和电解质", "首先应当明确诊断",
    "结合病史和体征分析", "鉴别诊断包括肺栓塞和慢阻肺急性加重", "治疗上以利尿减轻心脏负荷为主",
    "注意监测出入量和体重变化", "the patient denies fever or chills", "blood glucose 7.8 mmol/L",
    "随访时复查血常规", "如症状加重应立即就医", "饮食上低盐低脂", "适当活动，避免劳累",
]
SCRIPT_EOT = "<|EOT|>"
IGNORE_INDEX = -100


def synthetic_rows(count: int, seed: int = 7) -> list[dict]:
    """Medical-r1 rows: short questions, reasoning of a few hundred to a few thousand characters."""
    rng = random.Random(seed)

    def text(min_chars: int, max_chars: int) -> str:
        target = rng.randint(min_chars, max_chars)
        parts, size = [], 0
        while size < target:
            phrase = rng.choice(_PHRASES)
            parts.append(phrase + rng.choice(["，", "。", "；", ", "]))
            size += len(phrase) + 1
        return "".join(parts)

    rows = []
    for _ in range(count):
        # Reasoning lengths are skewed: most rows are short, a few run to thousands of characters.
        reasoning_max = rng.choice([400, 800, 1500, 3000])
        rows.append({QUESTION: text(15, 80), REASONING: text(200, reasoning_max), RESPONSE: text(40, 400)})
    return rows


def bench_tokenizer(rows: list[dict]):
    from .tiny import build_tiny_tokenizer

    corpus = [row[QUESTION] + row[REASONING] + row[RESPONSE] for row in rows[:2000]]
    return build_tiny_tokenizer(vocab_size=4000, corpus=corpus)


# ---- The original script's method, re-implemented as it runs: two tokenizations per row, one row at a time.

def _script_prompt(instruction: str) -> str:
    return f"你是一个人工智能助手，由Xmindai公司微调。\n### Instruction:\n{instruction.strip()}\n### Response:\n"


def _script_tokenize(strings, tokenizer, max_length):
    tokenized = [tokenizer(text, max_length=max_length, truncation=True) for text in strings]
    input_ids = [np.array(t.input_ids) for t in tokenized]
    return input_ids, [len(t.input_ids) for t in tokenized]


def _script_tokenize_function(examples: dict, tokenizer, max_length: int) -> dict:
    sources = [_script_prompt(f"{q}\n{r}") for q, r in zip(examples[QUESTION], examples[REASONING])]
    targets = [f"{response}\n{SCRIPT_EOT}" for response in examples[RESPONSE]]
    full = [s + t for s, t in zip(sources, targets)]
    input_ids, _ = _script_tokenize(full, tokenizer, max_length)
    _, source_lengths = _script_tokenize(sources, tokenizer, max_length)
    labels = copy.deepcopy(input_ids)
    for label, source_length in zip(labels, source_lengths):
        label[:source_length] = IGNORE_INDEX
    return {"input_ids": input_ids, "labels": labels}


def script_preprocess(rows: list[dict], tokenizer, max_length: int):
    """Run the script's train_tokenize_function through `datasets.map(batched=True)`, as the script does."""
    from datasets import Dataset, disable_progress_bars

    disable_progress_bars()
    dataset = Dataset.from_list(rows)
    mapped = dataset.map(_script_tokenize_function, batched=True, remove_columns=dataset.column_names,
                         fn_kwargs={"tokenizer": tokenizer, "max_length": max_length})
    return mapped["input_ids"], mapped["labels"]


def ours_preprocess(rows: list[dict], tokenizer, max_length: int):
    """Our pipeline from rows to the training Dataset the Trainer receives."""
    from .data.report import PreparedData
    from .stages.sft import build_sft_dataset

    raw = RawData("bench", "jsonl", rows, list(range(1, len(rows) + 1)))
    examples, _ = rows_to_examples(raw, "medical-r1")
    prompter = Prompter(tokenizer, "bench", "chat_template", DEFAULT_SYSTEM_PROMPT, "target")
    encoded = encode_examples(examples, prompter, tokenizer, max_length, "drop")
    dataset = build_sft_dataset(PreparedData(examples, encoded, {}))
    return dataset["input_ids"], dataset["labels"]


# ---- Padding efficiency.

def batch_efficiencies(lengths: list[int], batches: list[list[int]]) -> list[float]:
    result = []
    for batch in batches:
        sizes = [lengths[i] for i in batch]
        result.append(sum(sizes) / (max(sizes) * len(sizes)))
    return result


def random_batches(count: int, batch_size: int, seed: int) -> list[list[int]]:
    import torch

    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(count, generator=generator).tolist()
    return [order[i:i + batch_size] for i in range(0, count, batch_size)]


def grouped_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    import torch
    from transformers.trainer_pt_utils import LengthGroupedSampler

    # The same sampler the Trainer uses for `train_sampling_strategy="group_by_length"`.
    sampler = LengthGroupedSampler(batch_size, lengths=lengths, generator=torch.Generator().manual_seed(seed))
    order = list(sampler)
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def _timed(function, *args) -> tuple[float, float, object]:
    """Return wall seconds, CPU seconds of this process (all threads) and the result."""
    start, start_cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return time.perf_counter() - start, time.process_time() - start_cpu, result


def run_bench(count: int, batch_size: int, max_length: int, repeats: int, as_json: bool) -> int:
    rows = synthetic_rows(count)
    tokenizer = bench_tokenizer(rows)
    script_times, ours_times, script_cpu, ours_cpu = [], [], [], []
    script_result = ours_result = None
    # Warm up both pipelines so that imports and first-call set-up are not timed.
    script_preprocess(rows[:50], tokenizer, max_length)
    ours_preprocess(rows[:50], tokenizer, max_length)
    load_before = os.getloadavg()[0]
    for _ in range(repeats):
        elapsed, cpu, script_result = _timed(script_preprocess, rows, tokenizer, max_length)
        script_times.append(elapsed)
        script_cpu.append(cpu)
        elapsed, cpu, ours_result = _timed(ours_preprocess, rows, tokenizer, max_length)
        ours_times.append(elapsed)
        ours_cpu.append(cpu)

    script_lengths = [len(ids) for ids in script_result[0]]
    ours_lengths = [len(ids) for ids in ours_result[0]]
    script_eff = batch_efficiencies(script_lengths, random_batches(len(script_lengths), batch_size, 0))
    ours_eff = batch_efficiencies(ours_lengths, grouped_batches(ours_lengths, batch_size, 0))
    script_speed = count / statistics.median(script_times)
    ours_speed = count / statistics.median(ours_times)
    reasoning_chars = sorted(len(r[REASONING]) for r in rows)
    results = {
        "rows": count,
        "cpu_count": os.cpu_count(),
        "batch_size": batch_size,
        "max_length": max_length,
        "repeats": repeats,
        "reasoning_chars": {"min": reasoning_chars[0], "median": reasoning_chars[len(rows) // 2],
                            "max": reasoning_chars[-1]},
        "token_length_median": int(statistics.median(ours_lengths)),
        "script_rows_per_second": round(script_speed, 1),
        "ours_rows_per_second": round(ours_speed, 1),
        "speedup": round(ours_speed / script_speed, 2),
        "script_cpu_seconds": round(statistics.median(script_cpu), 2),
        "ours_cpu_seconds": round(statistics.median(ours_cpu), 2),
        # Other processes on the machine slow the wall-clock numbers; the load shows how busy it was.
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "script_padding_efficiency_median": round(statistics.median(script_eff), 4),
        "script_padding_efficiency_overall": round(sum(script_lengths) / sum(
            max(script_lengths[i] for i in b) * len(b) for b in random_batches(len(script_lengths), batch_size, 0)), 4),
        "ours_padding_efficiency_median": round(statistics.median(ours_eff), 4),
        "ours_padding_efficiency_overall": round(sum(ours_lengths) / sum(
            max(ours_lengths[i] for i in b) * len(b) for b in grouped_batches(ours_lengths, batch_size, 0)), 4),
        "ours_rows_kept": len(ours_lengths),
    }
    if as_json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key}: {value}")
    return 0
