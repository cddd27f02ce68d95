"""A local server speaking Alpaca's market-data protocol (stream and REST bars), playing a stored day.

It only reads the store; nothing in it knows the client side (alpaca-py, `marketdata.live`), which
reaches it only through its URLs, as it would reach Alpaca.
"""

from marketdata.feedserver.faults import FaultError, FeedFaults
from marketdata.feedserver.protocol import Encoding
from marketdata.feedserver.running import FeedHandle, serve_in_thread, serve_until_ended
from marketdata.feedserver.server import FeedOptions, FeedServer

__all__ = [
    "Encoding",
    "FaultError",
    "FeedFaults",
    "FeedHandle",
    "FeedOptions",
    "FeedServer",
    "serve_in_thread",
    "serve_until_ended",
]
