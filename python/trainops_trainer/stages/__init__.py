"""Stage registry: `train` looks up the runner for `stage` here.

A stage is a function taking a StageContext and returning a StageResult. It registers
itself with `@register_stage("name")` in a module listed in STAGE_MODULES, which are
imported on first lookup (so torch is not imported just to print `--help`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from ..callbacks import StopRequest
from ..config import TrainConfig
from ..errors import ConfigError
from ..events import EventWriter

# Modules that register stages; a missing optional module (such as RL) is skipped.
STAGE_MODULES = ("trainops_trainer.stages.sft", "trainops_trainer.rl")


@dataclass
class StageContext:
    config: TrainConfig
    writer: EventWriter
    stop: StopRequest
    output_dir: str
    stage_index: int = 0
    stage_count: int = 1
    adapter_from: str | None = None


@dataclass
class StageResult:
    step: int
    output_path: str


StageRunner = Callable[[StageContext], StageResult]
_STAGES: dict[str, StageRunner] = {}
_loaded = False


def register_stage(name: str) -> Callable[[StageRunner], StageRunner]:
    def decorate(runner: StageRunner) -> StageRunner:
        _STAGES[name] = runner
        return runner

    return decorate


def _load_stage_modules() -> None:
    global _loaded
    if _loaded:
        return
    for module in STAGE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:
                raise
    _loaded = True


def get_stage(name: str) -> StageRunner:
    _load_stage_modules()
    if name not in _STAGES:
        raise ConfigError(f"stage `{name}` is not available in this trainer; available: {', '.join(sorted(_STAGES))}")
    return _STAGES[name]


def available_stages() -> list[str]:
    _load_stage_modules()
    return sorted(_STAGES)
