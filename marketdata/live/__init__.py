"""The live market: Alpaca's stream and REST data through alpaca-py, delivered as plain frames.

- `frames`: `LiveFrame` and `StreamNotice`, plain records (importing them loads no SDK);
- `credentials`: the key and secret from environment variables only;
- `alpaca_stream`: `AlpacaLiveStream`, alpaca-py's `StockDataStream` on its own thread, into a queue;
- `alpaca_history`: `AlpacaHistory`, alpaca-py's `StockHistoricalDataClient` (history, backfill).

It reaches a feed only by URL (Alpaca's, or a local `daytape feed serve`), never by importing the feed
server. This package imports nothing itself, so a reader of frames does not load alpaca-py.
"""
