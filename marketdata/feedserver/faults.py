"""Faults a feed server can be told to inject, for tests of a live client against it.

Minutes are indexes into the played day (0 = the bar that opens at the session's open). Seconds are
wall-clock seconds, whatever the speed.
"""

from __future__ import annotations

from dataclasses import dataclass

from marketdata.errors import MarketDataError

#: Error codes a server can be told to answer every auth with.
AUTH_ERRORS = (401, 402, 406, 409)


class FaultError(MarketDataError, ValueError):
    """A fault option that makes no sense (an unknown error code, a negative time)."""


@dataclass(frozen=True)
class FeedFaults:
    #: close every connection (as a dropped network would: no close frame) just before minute m's bars
    drop_at_minutes: tuple[int, ...] = ()
    #: after a drop, hold new connections this many seconds before their `connected` message
    down_seconds: float = 0.0
    #: at minute m, stop sending anything on the connections then open, for `silent_seconds`
    silent_at_minute: int | None = None
    silent_seconds: float = 0.0
    #: answer every auth with this error (401 not authenticated, 402 auth failed, 406 connection limit
    #: exceeded, 409 insufficient subscription) instead of `authenticated`
    auth_error: int | None = None
    #: send these minutes' frames twice
    duplicate_minutes: tuple[int, ...] = ()
    #: send these minutes' frames after the next minute's
    late_minutes: tuple[int, ...] = ()
    #: after these minutes, an updated bar (`u`) for each of their bars, `correction_delay_s` simulated
    #: seconds after the minute's end: a late trade of 100 shares at the bar's close
    corrected_minutes: tuple[int, ...] = ()
    correction_delay_s: float = 30.0
    #: symbols that are accepted in subscriptions but never trade: no bars, no statuses, nothing from REST
    never_trades: tuple[str, ...] = ()
    #: trading halts: (symbol, minute, minutes halted): an `H` status at the minute and a `T` after
    halts: tuple[tuple[str, int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.auth_error is not None and self.auth_error not in AUTH_ERRORS:
            raise FaultError(f"auth_error: {self.auth_error} is not one of {', '.join(map(str, AUTH_ERRORS))}")
        for name in ("down_seconds", "silent_seconds", "correction_delay_s"):
            if getattr(self, name) < 0:
                raise FaultError(f"{name}: {getattr(self, name)} is negative")
        for name in ("drop_at_minutes", "duplicate_minutes", "late_minutes", "corrected_minutes"):
            if any(m < 0 for m in getattr(self, name)):
                raise FaultError(f"{name}: minutes count from 0")
