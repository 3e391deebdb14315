"""Training options: one dataclass whose field names are the run.json keys and CLI flags."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, get_args, get_origin, get_type_hints

from .errors import ConfigError

DEFAULT_SYSTEM_PROMPT = "你是一个人工智能助手，由Xmindai公司微调。"
DEFAULT_LORA_TARGETS = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"


def _opt(default: Any, help: str, choices: tuple | None = None):
    metadata = {"help": help}
    if choices:
        metadata["choices"] = choices
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class TrainConfig:
    # Keys the bot owns (docs/protocol.md).
    run_id: Optional[str] = _opt(None, "Run id written into every event.")
    stage: str = _opt("sft", "Training stage to run; `sft` is built in, others plug in through the stage registry.")
    stages: Optional[list] = _opt(None, "Chained stages: a list of option objects, each with `stage` and an optional `from`.")
    model: Optional[str] = _opt(None, "Required. Base model: hub id, local path, `tiny-random-phi3` or `tiny-random-phimoe`.")
    dataset: Optional[str] = _opt(None, "Required for `sft`. Data file (JSON, JSONL, Parquet, CSV) or saved Hugging Face dataset folder.")
    format: Optional[str] = _opt(None, "Data format; detected from the columns when omitted.",
                                 ("medical-r1", "instruction", "chat", "preference", "prompt"))
    output_dir: str = _opt("output", "Folder for checkpoints, the final adapter and the `completed` marker.")
    events_path: Optional[str] = _opt(None, "Where to append progress events (JSON lines); none when omitted.")
    resume: str = _opt("auto", "`auto` (newest valid checkpoint), `none`, or a checkpoint path.")
    force: bool = _opt(False, "Train again even if `output_dir` holds the `completed` marker.")

    # Prompting and data.
    prompt_style: str = _opt("chat_template", "`chat_template` (the model's own) or `instruction` "
                             "(`### Instruction:` / `### Response:` layout).", ("chat_template", "instruction"))
    system_prompt: str = _opt(DEFAULT_SYSTEM_PROMPT, "System prompt put before every conversation.")
    reasoning_placement: str = _opt("target", "Where medical-r1 reasoning goes: `target` (learned before the "
                                    "answer), `prompt`, or `drop`.", ("target", "prompt", "drop"))
    max_length: int = _opt(512, "Maximum tokens per row (prompt plus target).")
    overlength: str = _opt("drop", "What to do with rows over `max_length`: `drop`, `truncate` or `reject`.",
                           ("drop", "truncate", "reject"))
    group_by_length: bool = _opt(True, "Batch rows of similar length together to cut padding.")

    # Model and LoRA.
    bits: int = _opt(16, "Base weight precision: 16 (bf16, fp32 on CPU), 8 or 4 (bitsandbytes, GPU only).",
                     (16, 8, 4))
    lora_rank: int = _opt(8, "LoRA rank r.")
    lora_alpha: float = _opt(32.0, "LoRA alpha (scaling is alpha / rank).")
    lora_dropout: float = _opt(0.1, "Dropout on the LoRA input.")
    lora_targets: str = _opt(DEFAULT_LORA_TARGETS, "Comma-separated module names to adapt, matched against "
                             "the model's own module names.")
    train_router: bool = _opt(False, "For mixture-of-experts models, also train the router (in full; it is small).")
    router_aux_loss: bool = _opt(True, "For mixture-of-experts models, add the router load-balancing loss.")
    modules_to_save: str = _opt("", "Comma-separated modules trained in full and saved with the adapter "
                                "(e.g. `embed_tokens,lm_head`, which makes the adapter gigabytes).")
    attn_implementation: Optional[str] = _opt(None, "Attention kernel (`sdpa`, `eager`, `flash_attention_2`); "
                                              "the library default when omitted.")
    gradient_checkpointing: bool = _opt(False, "Recompute activations in backward to save memory.")
    trust_remote_code: bool = _opt(False, "Allow model code from the hub repository.")
    merge_adapter: bool = _opt(False, "Also save the base model with the adapter merged into `output_dir/merged`.")

    # Optimisation.
    learning_rate: float = _opt(2e-4, "Peak learning rate of AdamW.")
    num_epochs: float = _opt(3.0, "Passes over the data (ignored when `max_steps` > 0).")
    max_steps: int = _opt(-1, "Stop after this many optimizer steps; -1 runs `num_epochs`.")
    batch_size: int = _opt(8, "Rows per device per forward pass.")
    gradient_accumulation_steps: int = _opt(1, "Forward passes per optimizer step.")
    lr_scheduler_type: str = _opt("linear", "Learning rate schedule (transformers scheduler name).")
    warmup_steps: int = _opt(0, "Linear warm-up steps.")
    weight_decay: float = _opt(0.0, "AdamW weight decay.")
    max_grad_norm: float = _opt(1.0, "Gradient clipping norm; 0 disables clipping.")
    seed: int = _opt(42, "Random seed for data order and LoRA initialisation.")
    logging_steps: int = _opt(10, "Optimizer steps between `step` events and log lines.")
    save_steps: int = _opt(500, "Optimizer steps between checkpoints.")
    save_total_limit: Optional[int] = _opt(None, "Keep at most this many checkpoints (oldest deleted).")

    # RL stages (`dpo`, `grpo`); docs/trainer.md, "SFT then RL".
    beta: Optional[float] = _opt(None, "RL: KL coefficient against the starting adapter (default 0.1 for dpo, 0.04 for grpo).")
    num_generations: int = _opt(4, "GRPO: completions sampled per prompt (the group whose rewards are compared).")
    max_completion_length: int = _opt(256, "GRPO: maximum tokens per sampled completion.")
    temperature: float = _opt(1.0, "GRPO: sampling temperature.")
    rewards: str = _opt("format:0.5,answer:1", "GRPO: rewards and weights, from `format`, `answer`, `length` and `judge`.")
    length_target: Optional[int] = _opt(None, "GRPO length reward: tokens free of penalty (default 3/4 of `max_completion_length`).")
    judge_url: Optional[str] = _opt(None, "GRPO judge reward: OpenAI-compatible endpoint, e.g. http://10.0.0.4:8000/v1.")
    judge_model: Optional[str] = _opt(None, "GRPO judge reward: model name (default: the first the endpoint lists).")
    judge_api_key_env: str = _opt("TRAINOPS_JUDGE_API_KEY", "GRPO judge reward: environment variable holding the API key.")
    judge_timeout_seconds: float = _opt(30.0, "GRPO judge reward: seconds to wait for each answer.")

    # Fault injection for tests of the bot.
    debug_nan_at_step: Optional[int] = _opt(None, "Testing: make the loss NaN at this optimizer step.")
    step_delay_seconds: float = _opt(0.0, "Testing: sleep this many seconds after every optimizer step.")

    # Chained stages only: which earlier stage's adapter to start from.
    from_stage: Optional[str] = _opt(None, "Chained stages: start from the adapter of this earlier stage.")

    def lora_target_list(self) -> list[str]:
        return split_names(self.lora_targets)

    def modules_to_save_list(self) -> list[str]:
        return split_names(self.modules_to_save)


def split_names(text: str | list | None) -> list[str]:
    if not text:
        return []
    if isinstance(text, list):
        return [str(item).strip() for item in text if str(item).strip()]
    return [item.strip() for item in text.split(",") if item.strip()]


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
_HINTS = get_type_hints(TrainConfig)
# `from` is a Python keyword, so chained stages spell it `from` in JSON and `from_stage` here.
KEY_ALIASES = {"from": "from_stage"}


def field_base_type(name: str) -> type:
    hint = _HINTS[name]
    if get_origin(hint) is not None:
        args = [a for a in get_args(hint) if a is not type(None)]
        hint = args[0] if args else str
    return hint if isinstance(hint, type) else str


def coerce_value(name: str, value: Any) -> Any:
    """Convert a JSON or command-line value to the field's type, or raise ConfigError."""
    if value is None:
        return None
    base = field_base_type(name)
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("true", "1", "yes", "on"):
                return True
            if text in ("false", "0", "no", "off"):
                return False
            raise ValueError(value)
        if base is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if base is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        if base is list:
            if isinstance(value, str):
                value = json.loads(value)
            if not isinstance(value, list):
                raise ValueError(value)
            return value
        if isinstance(value, (dict, list)):
            raise ValueError(value)
        return str(value)
    except (ValueError, json.JSONDecodeError):
        raise ConfigError(f"option `{name}` has invalid value {value!r}; expected {base.__name__}") from None


def build_config(values: dict[str, Any]) -> TrainConfig:
    """Build and validate a TrainConfig from run.json keys; unknown keys are configuration errors."""
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        name = KEY_ALIASES.get(key, key)
        if name not in FIELDS:
            raise ConfigError(f"unknown option `{key}` in run.json; see `python -m trainops_trainer train --help`")
        kwargs[name] = coerce_value(name, value)
    config = TrainConfig(**kwargs)
    validate_config(config)
    return config


def validate_config(config: TrainConfig) -> None:
    if not config.model:
        raise ConfigError("option `model` is required (a hub id, a local path or `tiny-random-phi3`)")
    for name, f in FIELDS.items():
        choices = f.metadata.get("choices")
        value = getattr(config, name)
        if choices and value is not None and value not in choices:
            allowed = ", ".join(str(c) for c in choices)
            raise ConfigError(f"option `{name}` has invalid value {value!r}; expected one of {allowed}")
    positive = ("max_length", "lora_rank", "batch_size", "gradient_accumulation_steps", "logging_steps", "save_steps")
    for name in positive:
        if getattr(config, name) <= 0:
            raise ConfigError(f"option `{name}` must be greater than 0, got {getattr(config, name)}")
    if config.learning_rate <= 0:
        raise ConfigError(f"option `learning_rate` must be greater than 0, got {config.learning_rate}")
    if not 0 <= config.lora_dropout < 1:
        raise ConfigError(f"option `lora_dropout` must be in [0, 1), got {config.lora_dropout}")
    if config.step_delay_seconds < 0:
        raise ConfigError("option `step_delay_seconds` must not be negative")
    if config.max_steps <= 0 and config.num_epochs <= 0:
        raise ConfigError("set `max_steps` or `num_epochs` to a value greater than 0")


_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", list: "array", str: "string"}


def describe_options() -> list[dict[str, Any]]:
    """Describe each option as JSON data (name, type, nullable, default, choices, help) for tools without Python."""
    options = []
    for name, f in FIELDS.items():
        hint = _HINTS[name]
        option: dict[str, Any] = {
            "name": name,
            "type": _JSON_TYPES.get(field_base_type(name), "string"),
            "nullable": get_origin(hint) is not None and type(None) in get_args(hint),
            "default": None if f.default is dataclasses.MISSING else f.default,
            "help": f.metadata["help"],
        }
        if f.metadata.get("choices"):
            option["choices"] = list(f.metadata["choices"])
        options.append(option)
    return options


def read_run_json(path: str | Path) -> dict[str, Any]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    try:
        values = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"config file {path} is not valid JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"config file {path} must hold a JSON object")
    return values
