"""Direct preference optimisation on (prompt, chosen, rejected) rows (`stage: dpo`)."""

from __future__ import annotations

import logging

from ..callbacks import NonFiniteLossMixin
from ..stages import StageContext, StageResult, register_stage
from .common import build_rl_trainer, load_policy, load_prompter, rl_arguments_kwargs, run_rl_stage
from .data import load_rl_data

logger = logging.getLogger(__name__)

# TRL log name -> `step` event field. DPO's reward is the implicit one, beta times the log-ratio
# of policy to reference; the margin (chosen minus rejected) is what DPO raises.
DPO_STEP_FIELDS = {"rewards/margins": "reward_mean", "rewards/accuracies": "reward_accuracy",
                   "rewards/chosen": "reward_chosen", "rewards/rejected": "reward_rejected"}


def build_dpo_trainer(context: StageContext):
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

    return build_rl_trainer(GuardedDPOTrainer, context, data, DPO_STEP_FIELDS, model=model, args=args,
                            processing_class=tokenizer)


@register_stage("dpo")
def run_dpo(context: StageContext) -> StageResult:
    return run_rl_stage(context, build_dpo_trainer)
