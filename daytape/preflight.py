"""What a run checks before its first session, in the one function that `daytape run` and `daytape config
check` both call, so that the check cannot pass a session file that the run then refuses.

A run reads the file, anchors its relative paths to the file's folder, applies `--from/--to`, and then
needs: an exchange the calendars know, sessions in the range, a bar store folder, a log URL it can open,
and plugins that import and accept their params. Each of these fails as `FILE: field: problem` (exit 2)
before anything is written to the log.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

from daytape.configfile import load_session_file
from daytape.day import build_plugins
from daytape.errors import UserError
from daytape.logurl import ENV_VAR, resolve_log_url
from daytape.output import plugin_output_to_stderr
from daytape.plugins import plugin_folder
from daytape.runner import effective_config, session_dates
from eventlog.engine import normalize_url
from eventlog.errors import EventLogError
from marketdata.calendar import get_calendar
from marketdata.errors import CalendarError
from marketdata.live.credentials import missing_credentials
from marketdata.store import BarStore, StoreLocationError, is_url
from specs.config import SessionConfig


class ConfigProblem(UserError):
    """A setting of a session file that a run cannot use; the message is `field: problem`."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")


@dataclass(frozen=True)
class Rehearsal:
    """`daytape run FILE --feed-url URL [--date D] [--speed N]`: a live session played on a local feed."""

    feed_url: str | None = None
    date: dt.date | None = None
    speed: float | None = None

    @property
    def given(self) -> bool:
        return self.feed_url is not None or self.date is not None or self.speed is not None


@dataclass(frozen=True)
class CheckedRun:
    """A session file that passed every check: the config a run records, its sessions and its log URL."""

    config: SessionConfig
    days: list[dt.date]
    log_url: str


def anchor_paths(config: SessionConfig, session_file: Path) -> SessionConfig:
    """Resolve a relative `store` and a relative SQLite `log` against the session file's folder, and name the
    folder each plugin imports from (daytape.plugins.plugin_folder)."""
    folder = session_file.resolve().parent
    update: dict[str, object] = {}
    store = Path(config.store)
    if not is_url(config.store) and not store.is_absolute():
        update["store"] = str((folder / store).resolve())
    if config.log and config.log.startswith("sqlite:///") and not config.log.startswith("sqlite:////"):
        relative = config.log[len("sqlite:///") :]
        if relative and relative != ":memory:":
            update["log"] = f"sqlite:///{(folder / relative).resolve()}"
    for field in ("scanner", "strategy"):
        ref = getattr(config, field)
        if ref is None:
            continue
        if ref.path is not None:
            given = Path(ref.path)
            update[field] = ref.model_copy(
                update={"path": str(given if given.is_absolute() else (folder / given).resolve())}
            )
        elif (found := plugin_folder(ref.class_path, folder)) is not None:
            update[field] = ref.model_copy(update={"path": str(found)})
    return config.model_copy(update=update) if update else config


def check_session_file(
    file: Path,
    start: dt.date | None = None,
    end: dt.date | None = None,
    log: str | None = None,
    rehearsal: Rehearsal | None = None,
) -> CheckedRun:
    """The run that `daytape run FILE [--from start] [--to end] [--log log]` would start, or UserError with
    the first check it fails."""
    config = effective_config(anchor_paths(load_session_file(file), file), start, end)
    log_url = resolve_log_url(log, config.log)
    try:
        days = check_config(config)
        if config.mode == "live":
            check_live(config)
    except ConfigProblem as exc:
        raise UserError(f"{file}: {exc}") from None
    if rehearsal is not None and rehearsal.given:
        check_rehearsal(config, rehearsal, str(file))
    _check_log_url(log_url, log, f"{file}: log")
    return CheckedRun(config, days, log_url)


def check_config(config: SessionConfig) -> list[dt.date]:
    """The sessions of `config`, once its exchange, date range, store and plugins pass (ConfigProblem if not)."""
    try:
        calendar = get_calendar(config.exchange)
    except CalendarError as exc:
        raise ConfigProblem("exchange", str(exc)) from None
    try:
        days = session_dates(config, calendar)
    except (CalendarError, UserError) as exc:
        raise ConfigProblem("(file)", str(exc)) from None
    try:
        BarStore(config.store).check()
    except StoreLocationError as exc:
        raise ConfigProblem("store", str(exc)) from None
    for field, ref in (("scanner", config.scanner), ("strategy", config.strategy)):
        if ref is None:
            continue
        only = config.model_copy(update={"scanner": None, "strategy": None, field: ref})
        try:
            with plugin_output_to_stderr():
                build_plugins(only)
        except UserError as exc:
            raise ConfigProblem(field, str(exc)) from None
    return days


def check_live(config: SessionConfig, environ: dict[str, str] | None = None) -> None:
    """A live session's feed: the credentials' variables are set (named, never shown). The feed section's own
    fields (URLs, feed, history source, timeouts) were checked when the file was read."""
    feed = config.live_feed
    missing = missing_credentials(feed.key_env, feed.secret_env, os.environ if environ is None else environ)
    if missing:
        field = "feed.key_env" if missing[0] == feed.key_env else "feed.secret_env"
        what = "key id" if missing[0] == feed.key_env else "secret key"
        raise ConfigProblem(
            field,
            f"{missing[0]} is not set: export the Alpaca API {what} in it (credentials come only from the environment)",
        )


def check_rehearsal(config: SessionConfig, rehearsal: Rehearsal, file: str) -> None:
    """`--feed-url`, `--date`, `--speed`: a ws:// URL, a session of the file's exchange, a speed above 0, and a
    live session file to rehearse (UserError naming the option if not)."""
    if config.mode != "live":
        raise UserError(f"{file}: mode: {config.mode}: --feed-url, --date and --speed rehearse a mode: live session")
    if rehearsal.feed_url is None:
        given = "--date" if rehearsal.date is not None else "--speed"
        raise UserError(f"{given}: a rehearsal plays a stored day on a local feed: give --feed-url too")
    if not rehearsal.feed_url.startswith(("ws://", "wss://")) or len(rehearsal.feed_url.split("://", 1)[1]) == 0:
        raise UserError(f"--feed-url: expected a ws:// or wss:// URL, got {rehearsal.feed_url!r}")
    if rehearsal.speed is not None and not rehearsal.speed > 0:
        raise UserError(f"--speed: expected a number above 0 (times real time), got {rehearsal.speed:g}")
    if rehearsal.date is not None:
        calendar = get_calendar(config.exchange)
        try:
            is_session = calendar.is_session(rehearsal.date)
        except CalendarError as exc:
            raise UserError(f"--date: {exc}") from None
        if not is_session:
            raise UserError(
                f"--date: {rehearsal.date} is not a session of {config.exchange} ({rehearsal.date:%A}: no trading)"
            )


def _check_log_url(url: str, cli_value: str | None, file_field: str) -> None:
    """The log URL's form (its scheme and syntax); opening it is the run's first write."""
    try:
        normalize_url(url)
    except EventLogError as exc:
        if cli_value and cli_value.strip():
            where = "--log"
        elif os.environ.get(ENV_VAR, "").strip():
            where = f"${ENV_VAR}"
        else:
            where = file_field
        raise UserError(f"{where}: {exc}") from None
