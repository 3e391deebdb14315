"""The `train` command: validate options, run each stage, and always end with an `end` event."""

from __future__ import annotations

import logging
import os
from typing import Any

from .callbacks import StopRequest
from .checkpoints import completed_marker
from .config import TrainConfig, build_config
from .errors import AlreadyCompleted, ConfigError, InterruptedRun, OutOfMemory, TrainerError
from .events import EventWriter

logger = logging.getLogger(__name__)

# Keys that belong to the whole run; a chained stage inherits them and may not set them.
RUN_KEYS = ("run_id", "events_path", "output_dir", "stages", "resume", "force")


def plan_stages(config: TrainConfig, values: dict[str, Any]) -> list[tuple[TrainConfig, str, str | None]]:
    """Return (config, output_dir, adapter_from) for each stage to run, in order."""
    if not config.stages:
        return [(config, config.output_dir, None)]
    base = {key: value for key, value in values.items() if key not in ("stages", "stage", "from")}
    planned: list[tuple[TrainConfig, str, str | None]] = []
    for index, stage_values in enumerate(config.stages):
        if not isinstance(stage_values, dict) or "stage" not in stage_values:
            raise ConfigError(f"stages[{index}] must be an object with a `stage` key")
        owned = sorted(set(stage_values) & set(RUN_KEYS))
        if owned:
            raise ConfigError(f"stages[{index}] may not set {', '.join(owned)}; set them once for the run")
        merged = {**base, **stage_values}
        if "dataset" in stage_values and "format" not in stage_values:
            # The run's `format` describes the run's dataset, so a stage with its own data detects its format.
            merged.pop("format", None)
        stage_config = build_config(merged)
        output_dir = os.path.join(config.output_dir, f"{index}-{stage_config.stage}")
        stage_config.output_dir = output_dir
        if config.resume not in ("auto", "none") and not _is_inside(config.resume, output_dir):
            # A checkpoint path belongs to one stage; the others resume from their own checkpoints.
            stage_config.resume = "auto"
        adapter_from = None
        if stage_config.from_stage is not None:
            earlier = [(i, c, d) for i, (c, d, _) in enumerate(planned)
                       if str(i) == stage_config.from_stage or c.stage == stage_config.from_stage]
            if not earlier:
                raise ConfigError(f"stages[{index}] starts `from` {stage_config.from_stage!r}, "
                                  "which is not an earlier stage (use its name or index)")
            adapter_from = earlier[-1][2]
        planned.append((stage_config, output_dir, adapter_from))
    return planned


def _is_inside(path: str, folder: str) -> bool:
    return os.path.abspath(os.path.expanduser(path)).startswith(os.path.abspath(folder) + os.sep)


def run_stages(config: TrainConfig, values: dict[str, Any], writer: EventWriter, stop: StopRequest):
    from .stages import StageContext, StageResult, get_stage

    marker = completed_marker(config.output_dir)
    if marker.exists():
        if not config.force:
            raise AlreadyCompleted(f"{config.output_dir} already contains a finished run (the `completed` marker); "
                                   "set `force: true` to train again")
        marker.unlink()
        if config.resume == "auto":
            config.resume = "none"

    planned = plan_stages(config, values)
    runners = [get_stage(stage_config.stage) for stage_config, _, _ in planned]
    result = StageResult(step=0, output_path=os.path.abspath(config.output_dir))
    for index, ((stage_config, output_dir, adapter_from), runner) in enumerate(zip(planned, runners)):
        if len(planned) > 1 and completed_marker(output_dir).exists():
            logger.info("stage %d (%s) already finished in %s; skipping it", index, stage_config.stage, output_dir)
            continue
        context = StageContext(stage_config, writer, stop, output_dir, index, len(planned), adapter_from)
        result = runner(context)
    if len(planned) > 1:
        from .checkpoints import write_completed
        from .events import is_main_process, local_time_iso

        if is_main_process():
            write_completed(config.output_dir, result.step, local_time_iso())
    return result


def run_train(values: dict[str, Any]) -> int:
    """Run training from run.json values; return the process exit code."""
    run_id = values.get("run_id")
    # Every event carries a run id; runs started by hand without one are tagged "local".
    writer = EventWriter(values.get("events_path") if isinstance(values.get("events_path"), str) else None,
                         "local" if run_id is None else str(run_id))
    stop = StopRequest()
    stop.install()
    output_path = os.path.abspath(str(values.get("output_dir", "output")))
    try:
        config = build_config(values)
        result = run_stages(config, values, writer, stop)
        writer.emit("end", status="succeeded", step=result.step, output_path=os.path.abspath(result.output_path))
        return 0
    except KeyboardInterrupt:
        error: TrainerError = InterruptedRun("stopped by keyboard interrupt")
    except TrainerError as trainer_error:
        error = trainer_error
    except Exception as unexpected:  # noqa: BLE001  (every failure must still end with an `end` event)
        error = _classify_unexpected(unexpected)
    finally:
        stop.uninstall()

    if isinstance(error, InterruptedRun):
        # A person's /cancel or a restart sends SIGTERM: the stop was requested, so it is no error.
        logger.warning("stop requested: %s", error.message)
    else:
        logger.error("%s: %s", error.error_type, error.message)
    writer.emit("end", status="failed", step=writer.last_step or _last_step(output_path), output_path=output_path,
                error={"type": error.error_type, "message": error.message})
    writer.close()
    return error.exit_code


def _classify_unexpected(error: Exception) -> TrainerError:
    import torch

    if isinstance(error, torch.OutOfMemoryError):
        return OutOfMemory(f"out of GPU memory: {str(error).splitlines()[0]}; lower `batch_size` or `max_length`, "
                           "or set `gradient_checkpointing: true` or `bits: 4`")
    # A log record rather than a bare traceback, so train.log shows when it happened.
    logger.error("unexpected %s during training", type(error).__name__, exc_info=error)
    return TrainerError(f"{type(error).__name__}: {error}")


def _last_step(output_dir: str) -> int:
    from .checkpoints import list_checkpoints

    checkpoints = list_checkpoints(output_dir)
    return int(checkpoints[-1].name.split("-")[1]) if checkpoints else 0
