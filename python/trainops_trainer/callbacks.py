"""Trainer callbacks shared by every stage: events, log lines, stopping and guards.

They use only the TrainerCallback API, so TRL trainers (subclasses of Trainer) take them too.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import time

from transformers import TrainerCallback

from .errors import DivergedError, InterruptedRun
from .events import EventWriter, is_main_process

logger = logging.getLogger(__name__)


class EventsCallback(TrainerCallback):
    """Emit `step` events at each logging step and `checkpoint` events after each save."""

    def __init__(self, writer: EventWriter, extra_step_fields: dict[str, str] | None = None):
        """`extra_step_fields` maps Trainer log names to `step` event fields (e.g. `"reward": "reward_mean"`)."""
        self.writer = writer
        self.extra_step_fields = extra_step_fields or {}
        self._last_time: float | None = None
        self._last_tokens = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self._last_time = time.monotonic()
        self._last_tokens = state.num_input_tokens_seen or 0

    def on_step_end(self, args, state, control, **kwargs):
        self.writer.last_step = state.global_step

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "loss" not in logs:
            return
        now = time.monotonic()
        tokens = state.num_input_tokens_seen or 0
        fields = {
            "step": state.global_step,
            "max_steps": state.max_steps,
            "epoch": round(float(state.epoch or 0.0), 4),
            "loss": float(logs["loss"]),
            "learning_rate": float(logs.get("learning_rate", 0.0)),
        }
        if logs.get("grad_norm") is not None:
            fields["grad_norm"] = float(logs["grad_norm"])
        if self._last_time is not None and now > self._last_time and tokens > self._last_tokens:
            fields["tokens_per_second"] = round((tokens - self._last_tokens) / (now - self._last_time), 1)
        for log_name, field_name in self.extra_step_fields.items():
            if logs.get(log_name) is not None:
                fields[field_name] = float(logs[log_name])
        self._last_time, self._last_tokens = now, tokens
        self.writer.emit("step", **fields)

    def on_save(self, args, state, control, **kwargs):
        path = os.path.join(args.output_dir, f"checkpoint-{state.global_step}")
        self.writer.emit("checkpoint", step=state.global_step, path=os.path.abspath(path))


class ProgressLogCallback(TrainerCallback):
    """Log one progress line per logging step (`step 2/20: loss 6.9385 (change -0.0026), ...`), main process only.

    The bot reads progress from events.jsonl; this line is for people reading train.log.
    """

    def __init__(self):
        self.previous_loss: float | None = None

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not logs or "loss" not in logs or not is_main_process():
            return
        loss = float(logs["loss"])
        change = "n/a" if self.previous_loss is None else f"{loss - self.previous_loss:+.4f}"
        logger.info("step %d/%d: loss %.4f (change %s), learning_rate %.6f, epoch %.2f", state.global_step,
                    state.max_steps, loss, change, float(logs.get("learning_rate", 0.0)), float(state.epoch or 0.0))
        self.previous_loss = loss


class NonFiniteGradientCallback(TrainerCallback):
    """Stop with `diverged` before the optimizer applies a NaN or infinite gradient."""

    def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
        import torch

        if model is None:
            return
        grads = [p.grad for p in model.parameters() if p.requires_grad and p.grad is not None]
        if not grads:
            return
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.detach().float()) for g in grads]))
        if not math.isfinite(norm.item()):
            raise DivergedError(f"loss or gradient is not finite at step {state.global_step + 1} "
                                f"(gradient norm {norm.item()}); lower `learning_rate` or check the data")


class StopRequest:
    """SIGTERM handling: during training a request stops at the next step; before it, it interrupts at once."""

    def __init__(self):
        self.requested = False
        self.training = False
        self._previous = None

    def install(self) -> None:
        self._previous = signal.signal(signal.SIGTERM, self._handle)

    def uninstall(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)

    def _handle(self, signum, frame) -> None:
        self.requested = True
        if not self.training:
            raise InterruptedRun("stopped by SIGTERM before training started")


class StopOnSignalCallback(TrainerCallback):
    """Save a checkpoint and end training at the step after SIGTERM arrives."""

    def __init__(self, stop: StopRequest):
        self.stop = stop

    def on_train_begin(self, args, state, control, **kwargs):
        self.stop.training = True

    def on_step_end(self, args, state, control, **kwargs):
        if self._any_rank_requested():
            control.should_save = True
            control.should_training_stop = True

    def _any_rank_requested(self) -> bool:
        import torch
        import torch.distributed as dist

        if not (dist.is_available() and dist.is_initialized()):
            return self.stop.requested
        # Every rank must stop at the same step, or the others block in the next all-reduce until it times out.
        device = torch.device("cuda", torch.cuda.current_device()) if torch.cuda.is_available() else None
        flag = torch.tensor([1.0 if self.stop.requested else 0.0], device=device)
        dist.all_reduce(flag, op=dist.ReduceOp.MAX)
        self.stop.requested = bool(flag.item())
        return self.stop.requested


class StepDelayCallback(TrainerCallback):
    """Testing aid: sleep after every optimizer step so a test can stop a run midway."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def on_step_end(self, args, state, control, **kwargs):
        time.sleep(self.seconds)


class NonFiniteLossMixin:
    """Mix into a Trainer subclass: stop with `diverged` on a NaN or infinite loss.

    `debug_nan_at_step` (1-based optimizer step) turns the loss into NaN to test this guard.
    """

    debug_nan_at_step: int | None = None

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        result = super().compute_loss(model, inputs, return_outputs=return_outputs,
                                      num_items_in_batch=num_items_in_batch)
        loss = result[0] if return_outputs else result
        step = self.state.global_step + 1
        if self.debug_nan_at_step is not None and step == self.debug_nan_at_step and model.training:
            loss = loss * float("nan")
            result = (loss, result[1]) if return_outputs else loss
        value = loss.detach().float().item()
        if not math.isfinite(value):
            if _is_distributed():
                # Raising on this rank alone would leave the others waiting in the gradient
                # all-reduce. Backward spreads the NaN to every rank's gradients instead, and
                # NonFiniteGradientCallback then stops all ranks at the same step.
                return result
            raise DivergedError(f"loss is {value} at step {step}; lower `learning_rate` or check the data")
        return result


def _is_distributed() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
