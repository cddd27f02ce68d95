"""The service layer's errors; each message carries the facts the caller needs to act."""

from __future__ import annotations

from statemachine.machines import IllegalTransition
from statemachine.state import InvalidEvent

__all__ = [
    "AnalysisError",
    "IllegalTransition",
    "InvalidEvent",
    "ProvisioningError",
    "RequestError",
    "SessionPhaseError",
    "StatemachineError",
]


class StatemachineError(Exception):
    """Base of the errors raised by requirement analysis, provisioning and the coordinator."""


class SessionPhaseError(StatemachineError):
    """A call that the session day's phase does not allow (adding a symbol while ended, streaming twice, ...)."""

    def __init__(self, action: str, phase: str, allowed: tuple[str, ...] | list[str], session: str = "") -> None:
        self.action, self.phase, self.allowed = action, phase, tuple(allowed)
        where = f"the session {session} is {phase}" if session else f"the session is {phase}"
        super().__init__(f"cannot {action}: {where}; allowed only while {' or '.join(self.allowed)}")


class AnalysisError(StatemachineError):
    """A request that cannot be planned (history reaching before the calendar's first session, ...)."""


class ProvisioningError(StatemachineError):
    """A provisioning step that found the data other than validation said (read inside the step)."""


class RequestError(StatemachineError, ValueError):
    """A request whose arguments are malformed (negative days, a bad symbol): refused before it is logged."""
