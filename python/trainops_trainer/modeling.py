"""Load the tokenizer and base model, and attach the LoRA adapter."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

from .config import TrainConfig
from .errors import ConfigError, DependencyError
from .tiny import ensure_tiny_model, is_tiny_model

logger = logging.getLogger(__name__)

# Fused projections: a request for any of the parts adapts the fused module.
FUSED_MODULES = {"qkv_proj": {"q_proj", "k_proj", "v_proj"}, "gate_up_proj": {"gate_proj", "up_proj"}}
ROUTER_NAMES = ("router",)


def model_path(name: str) -> str:
    return str(ensure_tiny_model(name)) if is_tiny_model(name) else name


def load_tokenizer(config: TrainConfig):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(model_path(config.model), trust_remote_code=config.trust_remote_code)
    except OSError as error:
        raise ConfigError(f"cannot load the tokenizer of model {config.model!r}: {error}") from None
    if tokenizer.pad_token is None:
        # Safe because attention masks come from row lengths and labels never use the pad id.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0"))


def load_base_model(config: TrainConfig):
    import torch
    from transformers import AutoModelForCausalLM

    on_gpu = torch.cuda.is_available()
    kwargs: dict = {"trust_remote_code": config.trust_remote_code}
    if config.attn_implementation:
        kwargs["attn_implementation"] = config.attn_implementation
    compute_dtype = torch.bfloat16 if on_gpu and torch.cuda.is_bf16_supported() else torch.float16
    if config.bits < 16:
        if not on_gpu:
            raise ConfigError(f"bits {config.bits} needs a CUDA GPU (bitsandbytes); none is visible here, "
                              "so set `bits: 16` to train on the CPU")
        try:
            import bitsandbytes  # noqa: F401  (imported only to check that it is installed)
        except ImportError:
            raise DependencyError(f"bits {config.bits} needs bitsandbytes; install python/requirements-gpu.txt") \
                from None
        from transformers import BitsAndBytesConfig

        if config.bits == 4:
            kwargs["quantization_config"] = BitsAndBytesConfig(
                load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                bnb_4bit_compute_dtype=compute_dtype)
        else:
            kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
        # Each rank loads its own copy on its own device; "auto" would spread one copy over all GPUs.
        kwargs["device_map"] = {"": local_rank()}
        kwargs["dtype"] = compute_dtype
    else:
        kwargs["dtype"] = compute_dtype if on_gpu else torch.float32

    try:
        model = AutoModelForCausalLM.from_pretrained(model_path(config.model), **kwargs)
    except OSError as error:
        raise ConfigError(f"cannot load model {config.model!r}: {error}") from None
    if hasattr(model.config, "output_router_logits"):
        model.config.output_router_logits = config.router_aux_loss
    model.config.use_cache = False
    return model


@dataclass
class LoraTargets:
    modules: list[str]
    parameters: list[str]
    routers: list[str]
    unmatched: list[str]

    def summary(self) -> list[str]:
        names = {re.sub(r"\.\d+\.", ".*.", name) for name in self.modules + self.parameters + self.routers}
        return sorted(names)


def _is_router(name: str) -> bool:
    return name.rsplit(".", 1)[-1] in ROUTER_NAMES


def resolve_lora_targets(model, requested: list[str], train_router: bool, model_name: str) -> LoraTargets:
    """Match requested names against the model's own linear modules and expert weights."""
    import torch

    wanted = set(requested)
    matched_requests: set[str] = set()
    modules, parameters, routers = [], [], []
    candidates: set[str] = set()

    def wants(short: str) -> bool:
        hits = {short} & wanted | FUSED_MODULES.get(short, set()) & wanted
        matched_requests.update(hits)
        return bool(hits)

    for name, module in model.named_modules():
        if _is_router(name):
            routers.append(name)
            continue
        if isinstance(module, torch.nn.Linear) and name:
            short = name.rsplit(".", 1)[-1]
            if short == "lm_head" and "lm_head" not in wanted:
                continue
            candidates.add(short)
            if wants(short):
                modules.append(name)
    for name, parameter in model.named_parameters():
        owner, _, short = name.rpartition(".")
        # Mixture-of-experts layers keep all experts in one 3-D tensor per projection.
        if parameter.ndim == 3 and owner.endswith("experts"):
            candidates.add(short)
            if wants(short):
                parameters.append(name)

    if not modules and not parameters:
        raise ConfigError(f"none of the LoRA targets {', '.join(requested) or '(empty)'} match a module of "
                          f"{model_name}; candidates: {', '.join(sorted(candidates))}")
    return LoraTargets(modules, parameters, routers if train_router else [], sorted(wanted - matched_requests))


def attach_lora(model, config: TrainConfig, adapter_from: str | None = None):
    """Wrap the base model in a PEFT LoRA model and log which modules were adapted."""
    from peft import LoraConfig, PeftModel, get_peft_model, prepare_model_for_kbit_training

    if config.bits < 16:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False})
    if config.gradient_checkpointing:
        # Non-reentrant checkpoints work with DDP and with frozen inputs; PEFT needs input grads for them.
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
        model.enable_input_require_grads()

    if adapter_from:
        logger.info("starting from adapter %s", adapter_from)
        return PeftModel.from_pretrained(model, adapter_from, is_trainable=True)

    targets = resolve_lora_targets(model, config.lora_target_list(), config.train_router, config.model)
    if targets.unmatched:
        logger.warning("LoRA targets not found in %s: %s", config.model, ", ".join(targets.unmatched))
    logger.info("LoRA adapts %s", ", ".join(targets.summary()))
    extra = config.modules_to_save_list()
    if extra:
        logger.warning("modules_to_save=%s trains and saves full copies of these modules; "
                       "the adapter grows from megabytes to the size of those weights", ",".join(extra))
    dropout = config.lora_dropout
    if targets.parameters and dropout:
        # PEFT 0.21 wraps 3-D expert weights with ParamWrapper, which rejects dropout.
        logger.warning("lora_dropout %.3g is ignored: LoRA on expert weights supports no dropout", dropout)
        dropout = 0.0
    lora_config = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=dropout,
        target_modules=targets.modules,
        target_parameters=targets.parameters or None,
        # The router returns a tuple, which LoRA layers cannot wrap, so it is trained in full (it is small).
        modules_to_save=(extra + targets.routers) or None,
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora_config)
