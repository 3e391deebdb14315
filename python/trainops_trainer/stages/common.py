"""Pieces every Trainer-based stage uses: arguments, callbacks, the start event, training and finishing."""

from __future__ import annotations

import logging
import os

from transformers import TrainerCallback

from ..callbacks import (EventsCallback, NonFiniteGradientCallback, ProgressLogCallback, StepDelayCallback,
                         StopOnSignalCallback)
from ..checkpoints import find_resume_checkpoint, write_completed
from ..config import TrainConfig
from ..errors import InterruptedRun
from ..events import is_main_process, local_time_iso
from . import StageContext, StageResult

logger = logging.getLogger(__name__)


def training_arguments_kwargs(config: TrainConfig, output_dir: str) -> dict:
    """Keyword arguments for transformers.TrainingArguments (or a TRL config, which extends it)."""
    import torch

    on_gpu = torch.cuda.is_available()
    return dict(
        output_dir=output_dir,
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        num_train_epochs=config.num_epochs,
        max_steps=config.max_steps,
        lr_scheduler_type=config.lr_scheduler_type,
        warmup_steps=config.warmup_steps,
        weight_decay=config.weight_decay,
        max_grad_norm=config.max_grad_norm,
        optim="adamw_torch",
        seed=config.seed,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        # The default filter replaces a NaN loss by the running mean, which hides divergence.
        logging_nan_inf_filter=False,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        bf16=on_gpu and torch.cuda.is_bf16_supported(),
        use_cpu=not on_gpu,
        # transformers 5 renamed gradient checkpointing to activation checkpointing.
        activation_checkpointing=config.gradient_checkpointing,
        activation_checkpointing_kwargs={"use_reentrant": False},
        ddp_find_unused_parameters=False,
        include_num_input_tokens_seen="non_padding",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
    )


class StartEventCallback(TrainerCallback):
    """Emit the `start` event after the Trainer has set max_steps and loaded any resumed state."""

    def __init__(self, context: StageContext, train_rows: int, resumed_from: str | None, data_report: dict):
        self.context = context
        self.train_rows = train_rows
        self.resumed_from = resumed_from
        self.data_report = data_report

    def on_train_begin(self, args, state, control, **kwargs):
        config = self.context.config
        self.context.writer.emit(
            "start",
            model=config.model,
            world_size=args.world_size,
            train_rows=self.train_rows,
            max_steps=state.max_steps,
            num_epochs=args.num_train_epochs,
            resumed_from=self.resumed_from,
            stage=config.stage,
            stage_index=self.context.stage_index,
            stage_count=self.context.stage_count,
            data_report=self.data_report,
        )


def standard_callbacks(context: StageContext, start: StartEventCallback,
                       extra_step_fields: dict[str, str] | None = None) -> list[TrainerCallback]:
    """Callbacks every stage uses; `extra_step_fields` maps log names to extra `step` event fields."""
    callbacks: list[TrainerCallback] = [
        start,
        EventsCallback(context.writer, extra_step_fields),
        ProgressLogCallback(),
        NonFiniteGradientCallback(),
        StopOnSignalCallback(context.stop),
    ]
    if context.config.step_delay_seconds > 0:
        callbacks.append(StepDelayCallback(context.config.step_delay_seconds))
    return callbacks


def remove_default_printer(trainer) -> None:
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    # Our progress lines replace the Trainer's printed log dicts.
    trainer.remove_callback(PrinterCallback)
    trainer.remove_callback(ProgressCallback)


def raise_if_stopped(context: StageContext, trainer) -> None:
    if context.stop.requested:
        step = trainer.state.global_step
        checkpoint = os.path.abspath(os.path.join(context.output_dir, f"checkpoint-{step}"))
        raise InterruptedRun(f"stopped by SIGTERM at step {step}; saved {checkpoint}")


def build_stage_trainer(trainer_class, context: StageContext, train_rows: int, data_report: dict,
                        extra_step_fields: dict[str, str] | None = None, **trainer_kwargs):
    """Build `trainer_class` with the standard callbacks and find the checkpoint to resume from.

    `trainer_class` has the non-finite loss guard (NonFiniteLossMixin), and `trainer_kwargs` are
    its other arguments (model, args, train_dataset...). Return the trainer and the checkpoint.
    """
    resume_from = find_resume_checkpoint(context.output_dir, context.config.resume)
    if resume_from:
        logger.info("resuming from %s", resume_from)
    start = StartEventCallback(context, train_rows, resume_from, data_report)
    trainer = trainer_class(callbacks=standard_callbacks(context, start, extra_step_fields), **trainer_kwargs)
    trainer.debug_nan_at_step = context.config.debug_nan_at_step
    remove_default_printer(trainer)
    return trainer, resume_from


def train_stage(context: StageContext, trainer, resume_from: str | None, finish=None) -> StageResult:
    """Train, raise InterruptedRun when SIGTERM stopped the run, then save with `finish` (default finish_stage)."""
    trainer.train(resume_from_checkpoint=resume_from)
    raise_if_stopped(context, trainer)
    (finish or finish_stage)(context, trainer)
    return StageResult(step=trainer.state.global_step, output_path=context.output_dir)


def finish_stage(context: StageContext, trainer) -> None:
    """Save the final adapter and tokenizer, leave the `completed` marker, then merge when asked."""
    from ..merge import merge_adapter

    trainer.save_model(context.output_dir)
    if is_main_process():
        write_completed(context.output_dir, trainer.state.global_step, local_time_iso())
        logger.info("saved the adapter to %s", context.output_dir)
    if context.config.merge_adapter:
        merge_adapter(context.config, context.output_dir)
