"""`daytape feed serve --store DIR --date D [--speed N] [--port P] [--host H] [--encoding E] [--json]`.

A local server speaking Alpaca's market-data protocol (the stream, and the REST bar endpoint), playing
a stored day at N times real time, for rehearsals and tests of live sessions. It prints its URLs, then
runs until the day has been played or Ctrl-C.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from daytape.commands import UsageCommand
from daytape.commands.calendar import parse_date_option
from daytape.errors import UserError

feed_app = typer.Typer(help="A local Alpaca-protocol market-data feed playing a stored day.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(feed_app, name="feed")


@feed_app.command("serve", cls=UsageCommand)
def serve_command(
    store: Path = typer.Option(..., "--store", metavar="DIR", help="The Parquet bar store to play from."),
    day: str = typer.Option(..., "--date", metavar="DATE", help="The session to play, YYYY-MM-DD."),
    speed: float = typer.Option(1.0, "--speed", metavar="N", help="N times real time (60: a minute a second)."),
    port: int = typer.Option(0, "--port", metavar="P", help="The port (default: a free one, printed)."),
    host: str = typer.Option("127.0.0.1", "--host", metavar="HOST", help="The address to listen on."),
    encoding: str = typer.Option(
        "msgpack",
        "--encoding",
        metavar="msgpack|json",
        help="The stream's encoding for clients that do not ask for one (alpaca-py asks for msgpack).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the URLs as one JSON document."),
) -> None:
    """Serves Alpaca's market-data stream and REST bars from a stored day, on one port.

    The day's clock starts at the session's open when the first client subscribes; the bars of each
    minute go out when that clock passes the minute's end. Point alpaca-py at it with
    `StockDataStream(..., url_override=WS_URL)` and `StockHistoricalDataClient(..., url_override=REST_URL)`;
    any non-empty key and secret are accepted, one connection per key, as Alpaca allows.

    \b
    Example:
      daytape feed serve --store ./daytape-demo/store --date 2013-10-09 --speed 60
    """
    import asyncio

    from marketdata.errors import MarketDataError
    from marketdata.feedserver import Encoding, FeedOptions, FeedServer, serve_until_ended

    when = parse_date_option(day, "--date")
    if not store.is_dir():
        raise UserError(f"--store: {store} is not a directory")
    if encoding not in ("msgpack", "json"):
        raise UserError(f"--encoding: {encoding!r} is not msgpack or json")
    if not 0 <= port <= 65535:
        raise UserError(f"--port: {port} is not a port number (0..65535)")
    try:
        options = FeedOptions(store=store, day=when, speed=speed, host=host, port=port, encoding=Encoding(encoding))
    except ValueError as exc:
        raise UserError(str(exc)) from None

    def ready(server: FeedServer) -> None:
        urls = {
            "stream_url": server.ws_url("iex"),
            "stream_url_sip": server.ws_url("sip"),
            "rest_url": server.http_url,
            "date": when.isoformat(),
            "speed": speed,
            "symbols": len(server.day.symbols),
            "minutes": server.day.minute_count,
        }
        if as_json:
            import orjson

            print(orjson.dumps(urls).decode(), flush=True)
        else:
            print(f"stream (iex): {urls['stream_url']}", flush=True)
            print(f"stream (sip): {urls['stream_url_sip']}", flush=True)
            print(f"rest:         {urls['rest_url']}", flush=True)
            print(
                f"playing {when} at {speed:g}x: {urls['symbols']} symbols, {urls['minutes']} minutes; "
                "the clock starts when the first client subscribes (Ctrl-C stops)",
                file=sys.stderr,
                flush=True,
            )

    try:
        server = asyncio.run(serve_until_ended(options, ready))
    except MarketDataError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:
        raise UserError(f"--host {host} --port {port}: cannot listen there: {exc.strerror or exc}") from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    stats = server.stats
    print(
        f"day played: {stats.minutes_played} minutes, {stats.bars_sent} bars sent over {stats.connections} connections",
        file=sys.stderr,
    )
