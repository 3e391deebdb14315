"""Merge a saved LoRA adapter into its base model."""

from __future__ import annotations

import logging
import os

from .config import TrainConfig
from .events import is_main_process
from .modeling import load_tokenizer, model_path

logger = logging.getLogger(__name__)


def merge_adapter(config: TrainConfig, adapter_dir: str) -> str | None:
    """Save base model plus adapter as one model in `adapter_dir/merged`; main process only.

    The base is reloaded unquantized, because merging into 4- or 8-bit weights loses precision.
    """
    if not is_main_process():
        return None
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    base = AutoModelForCausalLM.from_pretrained(model_path(config.model), dtype=dtype,
                                                trust_remote_code=config.trust_remote_code)
    merged = PeftModel.from_pretrained(base, adapter_dir).merge_and_unload()
    target = os.path.join(adapter_dir, "merged")
    merged.save_pretrained(target)
    load_tokenizer(config).save_pretrained(target)
    logger.info("saved the merged model to %s", target)
    return target
