"""The CLI's two failure kinds, mapped to the exit codes of CONTRACT.md."""

from __future__ import annotations

from specs.errors import DaytapeError


class UserError(DaytapeError):
    """Bad input (file, flag, run id): exit 2 with this one-line message."""

    exit_code = 2


class CheckFailed(DaytapeError):
    """The thing checked is not so (audit, diff, verify, a failed run): exit 1."""

    exit_code = 1
