"""Shared parts of the DPO and GRPO stages: prompts, the model with its starting adapter, arguments."""

from __future__ import annotations

import logging
import os

from ..config import TrainConfig
from ..data.prompts import Prompter
from ..errors import ConfigError
from ..modeling import attach_lora, load_base_model, load_tokenizer
from ..stages import StageContext

logger = logging.getLogger(__name__)

DEFAULT_BETA = {"dpo": 0.1, "grpo": 0.04}
# Name TRL gives the frozen copy of the starting adapter that serves as the reference model.
REFERENCE_ADAPTER = "ref"


def load_prompter(config: TrainConfig):
    tokenizer = load_tokenizer(config)
    prompter = Prompter(tokenizer, config.model, config.prompt_style, config.system_prompt,
                        config.reasoning_placement)
    return tokenizer, prompter


def starting_adapter(context: StageContext) -> str | None:
    """Return the adapter this stage starts from: an earlier stage's (`from` in a chain) or a path in `from`."""
    if context.adapter_from:
        return context.adapter_from
    source = context.config.from_stage
    if source is None:
        return None
    path = os.path.expanduser(source)
    if not os.path.isfile(os.path.join(path, "adapter_config.json")):
        raise ConfigError(f"option `from` is {source!r}, which is neither an earlier stage of this chain nor a "
                          "folder holding adapter_config.json (such as an SFT run's output folder)")
    return path


def load_policy(context: StageContext):
    """Load the base model with the starting adapter (trainable), or with a new LoRA adapter when there is none."""
    from transformers import set_seed

    config = context.config
    adapter = starting_adapter(context)
    if adapter is None:
        logger.warning("stage %s starts from the base model with a new LoRA adapter; set `from` to start "
                       "from an SFT adapter", config.stage)
    # Seed before the adapter is built so its initialisation is reproducible on resume.
    set_seed(config.seed)
    return attach_lora(load_base_model(config), config, adapter)


def rl_arguments_kwargs(config: TrainConfig, output_dir: str) -> dict:
    from ..stages.common import training_arguments_kwargs

    kwargs = training_arguments_kwargs(config, output_dir)
    kwargs["beta"] = DEFAULT_BETA[config.stage] if config.beta is None else config.beta
    # The reference is the starting adapter, and dropout would make policy and reference differ at step 0.
    kwargs["disable_dropout"] = True
    return kwargs


def finish_rl_stage(context: StageContext, trainer) -> None:
    """Save the trained adapter without the frozen reference copy, leave `completed`, merge when asked."""
    from ..stages.common import finish_stage

    model = trainer.accelerator.unwrap_model(trainer.model)
    # TRL adds the reference as adapter `ref`; the output folder keeps only the trained one.
    if REFERENCE_ADAPTER in getattr(model, "peft_config", {}):
        model.delete_adapter(REFERENCE_ADAPTER)
    finish_stage(context, trainer)


def build_rl_trainer(trainer_class, context: StageContext, data, step_fields: dict[str, str], **trainer_kwargs):
    """Build a TRL trainer on the rows of `data` and return it with the checkpoint to resume from."""
    from datasets import Dataset

    from ..stages.common import build_stage_trainer

    return build_stage_trainer(trainer_class, context, len(data), data.report, step_fields,
                               train_dataset=Dataset.from_dict(data.rows), **trainer_kwargs)


def run_rl_stage(context: StageContext, build_trainer):
    """Train the trainer that `build_trainer(context)` returns and save its adapter without the reference copy."""
    from ..stages.common import train_stage

    trainer, resume_from = build_trainer(context)
    return train_stage(context, trainer, resume_from, finish=finish_rl_stage)
