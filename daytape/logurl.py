"""Where the event log is: `--log URL`, else $DAYTAPE_LOG_URL, else the session file's `log`, else
`sqlite:///daytape.db` in the current folder (CONTRACT.md)."""

from __future__ import annotations

import os

ENV_VAR = "DAYTAPE_LOG_URL"
DEFAULT_LOG_URL = "sqlite:///daytape.db"


def resolve_log_url(cli_value: str | None, session_file_log: str | None = None) -> str:
    """The log URL by the contract's order; empty strings count as not given."""
    for candidate in (cli_value, os.environ.get(ENV_VAR), session_file_log):
        if candidate and candidate.strip():
            return candidate.strip()
    return DEFAULT_LOG_URL
