"""Tiny randomly initialised Phi-3 and Phi-MoE models with a locally trained tokenizer.

Tests and the demo use them so that nothing is downloaded from a hub. The build is
cached on disk, so a resumed run starts from the same base weights and tokenizer.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path

TINY_MODELS = ("tiny-random-phi3", "tiny-random-phimoe")
# Bump when the build below changes, so stale caches are not reused.
TINY_BUILD_VERSION = "2"

PHI3_SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]

# Phi-3.5's chat template: every turn ends with <|end|>, the eos token closes a finished conversation.
PHI3_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}"
)

_CORPUS_SEED = [
    "患者男性，45岁，反复胸痛3天，活动后加重，休息后缓解。",
    "首先考虑心绞痛，需要完善心电图、心肌酶和冠脉造影检查。",
    "建议低盐低脂饮食，规律服药，定期复查血压和血糖。",
    "The patient reports fever, cough and shortness of breath for two days.",
    "### Instruction:\n### Response:\n",
    "<think>\n先分析症状，再结合检查结果给出诊断。\n</think>\n",
]


def is_tiny_model(name: str) -> bool:
    return name in TINY_MODELS


def tiny_cache_root() -> Path:
    root = os.environ.get("TRAINOPS_TINY_CACHE")
    if root:
        return Path(root)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "trainops" / "tiny-models"


def _corpus() -> list[str]:
    sample = Path(__file__).parent / "samples" / "medical_sample.jsonl"
    lines = list(_CORPUS_SEED)
    if sample.exists():
        lines.extend(sample.read_text(encoding="utf-8").splitlines())
    for number in range(200):
        lines.append(f"Step {number}: loss {number * 0.37:.3f}, dose {number % 17} mg, 第{number}天")
    return lines


def build_tiny_tokenizer(vocab_size: int = 1024, corpus: list[str] | None = None):
    """Train a byte-level BPE tokenizer with the Phi-3 special tokens and chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=PHI3_SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(corpus if corpus is not None else _corpus(), trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="<|endoftext|>",
        unk_token="<unk>",
        # Phi-3.5 pads with its eos token, the case where masking by pad id would hide the eos.
        pad_token="<|endoftext|>",
        chat_template=PHI3_CHAT_TEMPLATE,
        model_max_length=4096,
    )


def build_tiny_model(name: str, tokenizer):
    import torch
    from transformers import GenerationConfig, Phi3Config, Phi3ForCausalLM, PhimoeConfig, PhimoeForCausalLM

    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        # Wider than the usual 0.02 so that logits can move far enough for a few-row overfit test.
        initializer_range=0.1,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(1234)
    if name == "tiny-random-phi3":
        model = Phi3ForCausalLM(Phi3Config(**common))
    else:
        model = PhimoeForCausalLM(PhimoeConfig(**common, num_local_experts=4, num_experts_per_tok=2))
    end_id = tokenizer.convert_tokens_to_ids("<|end|>")
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=[tokenizer.eos_token_id, end_id],
        pad_token_id=tokenizer.pad_token_id,
    )
    return model


def ensure_tiny_model(name: str) -> Path:
    """Return the folder of the cached tiny model, building it on first use."""
    # The tokenizer is trained on the sample rows, so the cache key covers them too.
    corpus_hash = hashlib.sha1("\n".join(_corpus()).encode("utf-8")).hexdigest()[:10]
    target = tiny_cache_root() / f"{name}-v{TINY_BUILD_VERSION}-{corpus_hash}"
    if (target / "config.json").exists() and (target / "tokenizer.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
    try:
        tokenizer = build_tiny_tokenizer()
        model = build_tiny_model(name, tokenizer)
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        try:
            # Rename is atomic, so concurrent builders never see a half-written folder.
            os.rename(staging, target)
        except OSError:
            if not (target / "config.json").exists():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target
