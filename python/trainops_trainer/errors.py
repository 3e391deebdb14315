"""Errors the trainer reports in its `end` event, one class per `error.type`.

The types are fixed by the run-directory protocol (docs/protocol.md); the bot
decides from them whether a run is worth restarting.
"""

from __future__ import annotations


class TrainerError(Exception):
    """A failure with a protocol error type and a message a person can act on."""

    error_type = "internal_error"
    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DataError(TrainerError):
    error_type = "data_error"


class ConfigError(TrainerError):
    error_type = "config_error"
    exit_code = 2


class DivergedError(TrainerError):
    error_type = "diverged"


class InterruptedRun(TrainerError):
    """SIGTERM arrived; 143 is the shell's code for a process ended by SIGTERM."""

    error_type = "interrupted"
    exit_code = 143


class AlreadyCompleted(TrainerError):
    error_type = "already_completed"


class DependencyError(TrainerError):
    error_type = "dependency_error"


class OutOfMemory(TrainerError):
    error_type = "out_of_memory"
