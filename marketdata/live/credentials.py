"""Alpaca credentials, from environment variables only.

They are read when a client is built and handed straight to alpaca-py; daytape never logs, prints or
stores them (the repr shows only the variables' names).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from marketdata.live.errors import MissingCredentialError

KEY_VARIABLE = "ALPACA_API_KEY"
SECRET_VARIABLE = "ALPACA_SECRET_KEY"


@dataclass(frozen=True)
class AlpacaCredentials:
    key_variable: str
    secret_variable: str
    key: str = field(repr=False)
    secret: str = field(repr=False)

    @property
    def variables(self) -> str:
        return f"{self.key_variable}/{self.secret_variable}"


def missing_credentials(
    key_variable: str = KEY_VARIABLE, secret_variable: str = SECRET_VARIABLE, environ: Mapping[str, str] | None = None
) -> list[str]:
    """The names of the variables that are unset or empty (for `config check`)."""
    environ = os.environ if environ is None else environ
    return [name for name in (key_variable, secret_variable) if not environ.get(name, "").strip()]


def credentials_from_env(
    key_variable: str = KEY_VARIABLE, secret_variable: str = SECRET_VARIABLE, environ: Mapping[str, str] | None = None
) -> AlpacaCredentials:
    """The key and secret; MissingCredentialError naming the first variable that is unset or empty."""
    environ = os.environ if environ is None else environ
    missing = missing_credentials(key_variable, secret_variable, environ)
    if missing:
        what = "key id" if missing[0] == key_variable else "secret key"
        raise MissingCredentialError(
            f"{missing[0]} is not set: export the Alpaca API {what} in it (credentials come only from the environment)"
        )
    return AlpacaCredentials(
        key_variable, secret_variable, environ[key_variable].strip(), environ[secret_variable].strip()
    )
