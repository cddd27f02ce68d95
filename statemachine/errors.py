"""The service layer's errors; each message carries the facts the caller needs to act."""

from __future__ import annotations

from specs.errors import DaytapeError


class StatemachineError(DaytapeError):
    """Base of the errors raised by the lifecycles, the state's `apply`, requirement analysis, provisioning
    and the coordinator."""


class IllegalTransition(StatemachineError):
    """A trigger that the lifecycle table does not allow from the current state."""

    def __init__(self, subject: str, state: str, trigger: str, allowed: list[str] | None = None) -> None:
        self.subject, self.state, self.trigger = subject, state, trigger
        hint = f" (allowed from {state}: {', '.join(allowed)})" if allowed else f" (nothing is allowed from {state})"
        super().__init__(f"{subject}: cannot {trigger} from state {state}{hint}")


class InvalidEvent(StatemachineError):
    """An event that cannot apply to the state it meets (wrong phase, unknown symbol, ...)."""


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
