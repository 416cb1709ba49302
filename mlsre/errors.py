"""The one exception root and the exit codes every command ends with.

Logic raises these; only ``mlsre.cli.app`` turns them into a message, a hint and an exit code.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # a check failed, or an expected error (bad input, server down)
    USAGE = 2
    INTERNAL = 3  # a bug in mlsre
    CHECK_ERROR = 4  # a runbook check could not run (server down, bad query): unknown health
    INTERRUPTED = 130


class MlsreError(Exception):
    """An expected failure: one line saying what went wrong and, in ``hint``, what to do next."""

    exit_code: ExitCode = ExitCode.FAILED

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(MlsreError):
    """The command line itself is wrong (bad option value, missing argument)."""

    exit_code = ExitCode.USAGE


class ConfigError(MlsreError):
    """A configuration file or environment override is invalid."""


class ValidationError(MlsreError):
    """A user-supplied document (runbook, SLO, data file) is invalid."""


class NotFoundError(MlsreError):
    """A named thing (incident, runbook, model, alias) does not exist."""


class LifecycleError(MlsreError):
    """A state change that the incident lifecycle does not allow."""


class StoreError(MlsreError):
    """The incident store cannot be opened, read or written."""


class IntegrationError(MlsreError):
    """An external system (Prometheus, MLflow, git, HTTP) is down, slow or answered garbage."""


class CheckFailed(MlsreError):
    """A check ran and found the system unhealthy (as opposed to failing to run)."""
