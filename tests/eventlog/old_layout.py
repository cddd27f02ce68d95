"""The log's tables as revisions 0001-0004 laid them out, for writing old logs in tests (the schema module
describes only the head revision)."""

from __future__ import annotations

import sqlalchemy as sa

from eventlog.schema import UTCDateTime

runs = sa.table(
    "runs",
    sa.column("run_id", sa.String),
    sa.column("name", sa.String),
    sa.column("config_json", sa.Text),
    sa.column("config_hash", sa.String),
    sa.column("data_digest", sa.String),
    sa.column("code_version", sa.String),
    sa.column("seed", sa.BigInteger),
    sa.column("started_at", UTCDateTime),
    sa.column("finished_at", UTCDateTime),
    sa.column("status", sa.String),
)

events = sa.table(
    "events",
    sa.column("run_id", sa.String),
    sa.column("session_date", sa.Date),
    sa.column("seq", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("schema_version", sa.SmallInteger),
    sa.column("symbol", sa.String),
    sa.column("request_id", sa.String),
    sa.column("sim_time", UTCDateTime),
    sa.column("recorded_at", UTCDateTime),
    sa.column("payload_json", sa.Text),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
