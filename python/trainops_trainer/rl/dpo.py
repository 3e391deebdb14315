"""Direct preference optimisation on (prompt, chosen, rejected) rows (`stage: dpo`)."""

from __future__ import annotations

import logging

from ..callbacks import NonFiniteLossMixin
from ..checkpoints import find_resume_checkpoint
from ..stages import StageContext, StageResult, register_stage
from ..stages.common import StartEventCallback, raise_if_stopped, remove_default_printer, standard_callbacks
from .common import finish_rl_stage, load_policy, load_prompter, rl_arguments_kwargs
from .data import load_rl_data

logger = logging.getLogger(__name__)

# TRL log name -> `step` event field. DPO's reward is the implicit one, beta times the log-ratio
# of policy to reference; the margin (chosen minus rejected) is what DPO raises.
DPO_STEP_FIELDS = {"rewards/margins": "reward_mean", "rewards/accuracies": "reward_accuracy",
                   "rewards/chosen": "reward_chosen", "rewards/rejected": "reward_rejected"}


def build_dpo_trainer(context: StageContext):
    from datasets import Dataset
    from trl import DPOConfig, DPOTrainer

    class GuardedDPOTrainer(NonFiniteLossMixin, DPOTrainer):
        """DPOTrainer with the non-finite loss guard."""

    config = context.config
    tokenizer, prompter = load_prompter(config)
    data = load_rl_data(config.dataset, "dpo", config.format, prompter)
    logger.info("preference data: %d pairs", len(data))

    kwargs = rl_arguments_kwargs(config, context.output_dir)
    kwargs["max_length"] = config.max_length
    args = DPOConfig(**kwargs)
    model = load_policy(context)

    resume_from = find_resume_checkpoint(context.output_dir, config.resume)
    if resume_from:
        logger.info("resuming from %s", resume_from)
    start = StartEventCallback(context, len(data), resume_from, data.report)
    trainer = GuardedDPOTrainer(model=model, args=args, train_dataset=Dataset.from_dict(data.rows),
                                processing_class=tokenizer,
                                callbacks=standard_callbacks(context, start, DPO_STEP_FIELDS))
    trainer.debug_nan_at_step = config.debug_nan_at_step
    remove_default_printer(trainer)
    return trainer, resume_from


@register_stage("dpo")
def run_dpo(context: StageContext) -> StageResult:
    trainer, resume_from = build_dpo_trainer(context)
    trainer.train(resume_from_checkpoint=resume_from)
    raise_if_stopped(context, trainer)
    finish_rl_stage(context, trainer)
    return StageResult(step=trainer.state.global_step, output_path=context.output_dir)
