"""Supervised fine-tuning with LoRA on prompt/answer rows (`stage: sft`)."""

from __future__ import annotations

import logging

from transformers import Trainer, set_seed

from ..callbacks import NonFiniteLossMixin
from ..data.encode import PaddingCollator
from ..data.prompts import Prompter
from ..data.report import format_dropped, prepare_training_data
from ..modeling import attach_lora, load_base_model, load_tokenizer
from . import StageContext, StageResult, register_stage
from .common import build_stage_trainer, train_stage, training_arguments_kwargs

logger = logging.getLogger(__name__)


class SftTrainer(NonFiniteLossMixin, Trainer):
    """transformers.Trainer with the non-finite loss guard."""


def build_sft_dataset(prepared):
    from datasets import Dataset

    encoded = prepared.encoded
    # `length` lets the length-grouped sampler batch similar rows without re-measuring them.
    return Dataset.from_dict({"input_ids": encoded.input_ids, "labels": encoded.labels,
                              "length": encoded.lengths()})


def build_sft_trainer(context: StageContext) -> tuple[SftTrainer, str | None]:
    """Load data, model and adapter; return the Trainer and the checkpoint to resume from."""
    from transformers import TrainingArguments

    config = context.config
    tokenizer = load_tokenizer(config)
    prompter = Prompter(tokenizer, config.model, config.prompt_style, config.system_prompt,
                        config.reasoning_placement)
    logger.info("end-of-turn token %r (id %d) ends every target", prompter.end.token, prompter.end.token_id)

    if not config.dataset:
        from ..errors import ConfigError

        raise ConfigError("option `dataset` is required for stage sft")
    prepared = prepare_training_data(config.dataset, config.format, prompter, tokenizer, config.model,
                                     config.max_length, config.overlength)
    report = prepared.report
    logger.info("data: %d rows, %d kept, dropped %s, truncated %d", report["rows"], report["kept_rows"],
                format_dropped(report["dropped"]), report["truncated"])
    for warning in report["warnings"]:
        logger.warning("%s", warning)

    # The Trainer seeds only when it is built; seed now so the LoRA initialisation is reproducible too.
    set_seed(config.seed)
    model = attach_lora(load_base_model(config), config, context.adapter_from)
    dataset = build_sft_dataset(prepared)
    kwargs = training_arguments_kwargs(config, context.output_dir)
    kwargs["remove_unused_columns"] = False
    kwargs["train_sampling_strategy"] = "group_by_length" if config.group_by_length else "random"
    args = TrainingArguments(**kwargs)

    return build_stage_trainer(SftTrainer, context, len(dataset), report, model=model, args=args,
                               train_dataset=dataset, data_collator=PaddingCollator(tokenizer.pad_token_id),
                               processing_class=tokenizer)


@register_stage("sft")
def run_sft(context: StageContext) -> StageResult:
    trainer, resume_from = build_sft_trainer(context)
    return train_stage(context, trainer, resume_from)
