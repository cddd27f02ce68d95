"""The live feed's errors: one line each, naming what the user can change. None of them holds a credential."""

from __future__ import annotations

from marketdata.errors import MarketDataError


class LiveFeedError(MarketDataError):
    """The live feed cannot go on."""


class MissingCredentialError(LiveFeedError, ValueError):
    """An environment variable that should hold a credential is unset or empty."""


class FeedAuthError(LiveFeedError):
    """The feed refused the key and secret (Alpaca's 401/402)."""


class ConnectionLimitError(LiveFeedError):
    """Alpaca's 406: the key already has as many stream connections as its plan allows."""


class InsufficientSubscriptionError(LiveFeedError):
    """Alpaca's 409: the key's plan does not include this feed (SIP needs a paid plan)."""


#: Alpaca's stream error messages, as alpaca-py raises them, and what they mean for the user.
_BY_MESSAGE: dict[str, tuple[type[LiveFeedError], str]] = {
    "auth failed": (FeedAuthError, "authentication failed (402): check the key and secret in {env}"),
    "not authenticated": (FeedAuthError, "not authenticated (401): check the key and secret in {env}"),
    "connection limit exceeded": (
        ConnectionLimitError,
        "connection limit exceeded (406): another stream is open for this key; close it or use another key",
    ),
    "insufficient subscription": (
        InsufficientSubscriptionError,
        "insufficient subscription (409): the key's plan does not include the {feed} feed{hint}",
    ),
}


def stream_error(message: str, *, feed: str, env: str) -> LiveFeedError:
    """The error for a stream's auth answer (`auth failed`, `connection limit exceeded`, ...)."""
    known = _BY_MESSAGE.get(message.strip().lower())
    if known is None:
        return LiveFeedError(f"the {feed} stream refused the connection: {message}")
    kind, text = known
    hint = " (SIP needs a paid plan; feed: iex works on every plan)" if feed == "sip" else ""
    return kind(f"Alpaca {feed} stream: " + text.format(feed=feed, env=env, hint=hint))
