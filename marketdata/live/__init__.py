"""The live market: Alpaca's stream and REST data through alpaca-py, delivered as plain frames.

It reaches a feed only by URL (Alpaca's, or a local `daytape feed serve`), never by importing the
feed server; credentials come from environment variables only.
"""

from marketdata.live.alpaca_history import AlpacaHistory
from marketdata.live.alpaca_stream import ALL_KINDS, AlpacaLiveStream, frame_from_message
from marketdata.live.credentials import (
    KEY_VARIABLE,
    SECRET_VARIABLE,
    AlpacaCredentials,
    credentials_from_env,
    missing_credentials,
)
from marketdata.live.errors import (
    ConnectionLimitError,
    FeedAuthError,
    InsufficientSubscriptionError,
    LiveFeedError,
    MissingCredentialError,
)
from marketdata.live.frames import LiveFrame, StreamNotice

__all__ = [
    "ALL_KINDS",
    "KEY_VARIABLE",
    "SECRET_VARIABLE",
    "AlpacaCredentials",
    "AlpacaHistory",
    "AlpacaLiveStream",
    "ConnectionLimitError",
    "FeedAuthError",
    "InsufficientSubscriptionError",
    "LiveFeedError",
    "LiveFrame",
    "MissingCredentialError",
    "StreamNotice",
    "credentials_from_env",
    "frame_from_message",
    "missing_credentials",
]
