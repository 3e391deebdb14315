"""Group relative policy optimisation on prompt rows with a reference answer (`stage: grpo`)."""

from __future__ import annotations

import logging
import os

from ..callbacks import NonFiniteLossMixin
from ..config import TrainConfig
from ..errors import ConfigError
from ..stages import StageContext, StageResult, register_stage
from .common import build_rl_trainer, load_policy, load_prompter, rl_arguments_kwargs, run_rl_stage
from .data import load_rl_data
from .judge import judge_from_options, make_judge_reward
from .rewards import REFERENCE_REWARDS, answer_reward, format_reward, make_length_reward, parse_reward_spec

logger = logging.getLogger(__name__)

# TRL log name -> `step` event field.
GRPO_STEP_FIELDS = {"reward": "reward_mean", "reward_std": "reward_std", "kl": "kl",
                    "completions/mean_length": "completion_length"}


def build_reward_functions(config: TrainConfig) -> tuple[list, list[float], list[str]]:
    """Build the reward functions, weights and names of the `rewards` option, and check that the judge is up."""
    functions, weights, names = [], [], []
    for spec in parse_reward_spec(config.rewards):
        if spec.name == "format":
            function = format_reward
        elif spec.name == "answer":
            function = answer_reward
        elif spec.name == "length":
            target = config.length_target if config.length_target is not None \
                else config.max_completion_length * 3 // 4
            function = make_length_reward(target, config.max_completion_length)
        else:
            judge = judge_from_options(config.judge_url, config.judge_model, config.judge_api_key_env,
                                       config.judge_timeout_seconds)
            logger.info("judge model %s at %s", judge.check(), judge.base_url)
            function = make_judge_reward(judge)
        functions.append(function)
        weights.append(spec.weight)
        names.append(spec.name)
    return functions, weights, names


def build_grpo_trainer(context: StageContext):
    from trl import GRPOConfig, GRPOTrainer

    class GuardedGRPOTrainer(NonFiniteLossMixin, GRPOTrainer):
        """GRPOTrainer with the non-finite loss guard."""

    config = context.config
    if config.num_generations < 2:
        raise ConfigError("option `num_generations` must be at least 2, because GRPO compares completions of one prompt")
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    batch = config.batch_size * config.gradient_accumulation_steps * world_size
    if batch % config.num_generations:
        # Each generation batch must hold whole groups of completions of one prompt.
        raise ConfigError(f"`batch_size` × `gradient_accumulation_steps` × processes is {batch}, which is not a "
                          f"multiple of `num_generations` {config.num_generations}; change one of them")
    functions, weights, names = build_reward_functions(config)
    tokenizer, prompter = load_prompter(config)
    data = load_rl_data(config.dataset, "grpo", config.format, prompter,
                        needs_answer=any(name in REFERENCE_REWARDS for name in names))
    logger.info("prompt data: %d prompts; rewards %s", len(data),
                ", ".join(f"{n}×{w:g}" for n, w in zip(names, weights)))

    kwargs = rl_arguments_kwargs(config, context.output_dir)
    kwargs.update(num_generations=config.num_generations, max_completion_length=config.max_completion_length,
                  temperature=config.temperature, reward_weights=weights, log_completions=False,
                  # GRPO batches hold prompt and completion ids, not `input_ids`, so the Trainer cannot count tokens.
                  include_num_input_tokens_seen="no")
    args = GRPOConfig(**kwargs)
    model = load_policy(context)
    # Completions end where the SFT stage taught answers to end: the template's end-of-turn token.
    eos = model.generation_config.eos_token_id
    if eos is None:
        eos = []
    elif isinstance(eos, int):
        eos = [eos]
    if prompter.end.token_id not in eos:
        model.generation_config.eos_token_id = list(eos) + [prompter.end.token_id]

    step_fields = dict(GRPO_STEP_FIELDS)
    # TRL logs each reward's mean under its function's name.
    step_fields.update({f"rewards/{f.__name__}/mean": f"reward_{name}" for f, name in zip(functions, names)})
    return build_rl_trainer(GuardedGRPOTrainer, context, data, step_fields, model=model, reward_funcs=functions,
                            args=args, processing_class=tokenizer)


@register_stage("grpo")
def run_grpo(context: StageContext) -> StageResult:
    return run_rl_stage(context, build_grpo_trainer)
